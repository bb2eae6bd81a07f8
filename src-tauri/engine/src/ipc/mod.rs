//! The contract between the desktop app and its UI, declared once.
//!
//! [`ipc_commands!`] lists every command with its arguments and result, and
//! [`ipc_events!`] every event Rust pushes. The app expands the first into
//! Tauri commands that delegate to [`crate::Engine`] methods of the same name;
//! the engine's tests expand both into `ui/src/lib/bindings/ipc.ts`, so a
//! misspelled command or a wrong payload fails the UI's type check. The test
//! command fails if the committed bindings are stale.

#[cfg(test)]
mod bindings;
mod error;

pub use error::IpcError;

/// Calls `$callback!` with every IPC command, as
/// `name(arg: Type, ...) -> Result;`. Argument names are the JSON keys.
#[macro_export]
macro_rules! ipc_commands {
    ($callback:ident) => {
        $callback! {
            /// Every registered server, ordered by name.
            server_list() -> Vec<$crate::Server>;
            /// Registers a server.
            server_add(server: $crate::NewServer) -> $crate::Server;
            /// Removes a server and deletes its secrets.
            server_remove(name: String) -> ();
        }
    };
}

/// Calls `$callback!` with every event Rust pushes to the UI, as
/// `name: Payload;`.
#[macro_export]
macro_rules! ipc_events {
    ($callback:ident) => {
        $callback! {
            /// A part of the store changed, in this process or another one.
            store_changed: $crate::Topic;
        }
    };
}
