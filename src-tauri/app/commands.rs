//! The IPC commands: one Tauri command per entry of the engine's
//! `ipc_commands!`, each a one-line delegation to the `Engine` method of the
//! same name, with the error turned into the `{code, message}` IPC type.
//! The few commands the app implements itself (`ipc_app_commands!`, e.g.
//! `audit_export` in `export.rs`, `registry_install` in `install.rs`) join them in the one invoke handler.

use gatehouse_engine::Engine;
use gatehouse_engine::ipc::IpcError;

macro_rules! tauri_commands {
    ($( $(#[doc = $doc:literal])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        $(
            $(#[doc = $doc])*
            #[tauri::command(rename_all = "snake_case")]
            pub async fn $name(engine: tauri::State<'_, Engine>, $($arg: $ty),*) -> Result<$ret, IpcError> {
                engine.$name($($arg),*).map_err(IpcError::from)
            }
        )*

        /// The invoke handler for the engine's commands.
        fn engine_handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }
    };
}

/// The names of the app's own commands, and their handler (each is a
/// command of the same name in `export.rs` or `install.rs`, gathered in
/// `app_ipc`).
macro_rules! app_commands {
    ($( $(#[doc = $doc:literal])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        const APP_COMMANDS: &[&str] = &[$(stringify!($name)),*];

        fn app_handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(app_ipc::$name),*]
        }
    };
}

/// The app's own commands, wherever they are implemented.
mod app_ipc {
    pub(crate) use crate::export::*;
    pub(crate) use crate::install::*;
}

gatehouse_engine::ipc_commands!(tauri_commands);
gatehouse_engine::ipc_app_commands!(app_commands);

/// The invoke handler for every declared command: the app's own, and the
/// engine's.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    let engine = engine_handler();
    let app = app_handler();
    move |invoke| {
        if APP_COMMANDS.contains(&invoke.message.command()) {
            app(invoke)
        } else {
            engine(invoke)
        }
    }
}
