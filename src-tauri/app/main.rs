//! Gatehouse, the desktop control panel: a thin shell over the engine.
//!
//! It opens the engine, registers the IPC commands declared in the engine,
//! pushes store changes to the UI, and keeps a tray icon and a single
//! instance. Everything that is not a window lives in `gatehouse-engine`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod alerts;
mod approvals;
mod commands;
mod events;
mod export;
mod gateway;
mod install;
mod pins;
mod tray;
mod upkeep;
mod window;

use gatehouse_engine::{DataDir, Engine, Keychain};

fn main() {
    let engine = match DataDir::from_env().and_then(|dir| Engine::open(dir, Box::new(Keychain))) {
        Ok(engine) => engine,
        Err(err) => {
            // Fail closed and say why: nothing works without the store.
            eprintln!("Gatehouse cannot start: {err}");
            std::process::exit(1);
        }
    };
    let database = engine.data_dir().database();
    let data_dir = engine.data_dir().clone();
    let background = std::env::args().any(|a| a == "--background");
    let instance_id = instance_id(engine.data_dir().root());

    tauri::Builder::default()
        // First, so a second launch only focuses the running instance.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_id)
                .callback(|app, _args, _cwd| window::show_main(app))
                .build(),
        )
        .manage(engine)
        .invoke_handler(commands::handler())
        .plugin(tauri_plugin_notification::init())
        // The Rust side of the History page's export (a save dialog); the web
        // view is granted none of the plugin's commands.
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            tray::install(app.handle())?;
            alerts::start(app.handle());
            pins::start(app.handle());
            events::watch_store(app.handle().clone(), database);
            upkeep::start(data_dir);
            approvals::start(app.handle())?;
            gateway::start(app.handle());
            // Started by a proxy that needs an approval: the tray and the
            // popup only.
            if !background {
                window::show_main(app.handle());
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            window::hide_on_close(window, event);
            approvals::hide_on_close(window, event);
        })
        .run(tauri::generate_context!())
        .expect("the Tauri runtime failed");
}

/// One instance per data directory: a second launch on the same data
/// focuses the first, while a Gatehouse pointed elsewhere with
/// `GATEHOUSE_HOME` (a second profile, a test) runs on its own. The D-Bus
/// name carries a hash of the directory's path.
fn instance_id(data_dir: &std::path::Path) -> String {
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = data_dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("dev.gatehouse.desktop.d{hash:016x}")
}
