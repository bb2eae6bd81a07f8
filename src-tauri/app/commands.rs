//! The IPC commands: one Tauri command per entry of the engine's
//! `ipc_commands!`, each a one-line delegation to the `Engine` method of the
//! same name, with the error turned into the `{code, message}` IPC type.

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

        /// The invoke handler for every declared command.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }
    };
}

gatehouse_engine::ipc_commands!(tauri_commands);
