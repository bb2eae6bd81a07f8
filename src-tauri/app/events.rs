//! Pushing changes to the UI. A background thread watches the store for
//! commits from any process (the CLI, proxies, this app) and emits a typed
//! event per changed topic; the UI re-reads what it shows. The UI never polls.

use std::path::PathBuf;
use std::time::Duration;

use gatehouse_engine::ChangeWatcher;
use tauri::{AppHandle, Emitter};

/// How often the watcher asks SQLite whether anything was committed. One
/// pragma per tick: cheap enough to keep the UI within a few hundred ms.
const TICK: Duration = Duration::from_millis(200);

macro_rules! typed_emitters {
    ($( $(#[doc = $doc:literal])* $name:ident: $ty:ty; )*) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(app: &AppHandle, payload: &$ty) -> tauri::Result<()> {
                app.emit(stringify!($name), payload)
            }
        )*
    };
}

/// One function per event of the engine's `ipc_events!`.
pub mod emit {
    use super::*;
    gatehouse_engine::ipc_events!(typed_emitters);
}

/// Starts the watcher thread.
pub fn watch_store(app: AppHandle, database: PathBuf) {
    std::thread::Builder::new()
        .name("store-watch".into())
        .spawn(move || {
            let mut watcher = loop {
                match ChangeWatcher::open(&database) {
                    Ok(w) => break w,
                    Err(err) => {
                        eprintln!("gatehouse: cannot watch the store yet: {err}");
                        std::thread::sleep(Duration::from_secs(2));
                    }
                }
            };
            loop {
                std::thread::sleep(TICK);
                match watcher.changed() {
                    Ok(topics) => {
                        for topic in topics {
                            crate::alerts::on_change(&app, topic);
                            crate::pins::on_change(&app, topic);
                            if let Err(err) = emit::store_changed(&app, &topic) {
                                eprintln!("gatehouse: cannot notify the UI: {err}");
                            }
                        }
                    }
                    Err(err) => eprintln!("gatehouse: watching the store failed: {err}"),
                }
            }
        })
        .expect("spawning a thread");
}
