//! The contract between the desktop app and its UI, declared once.
//!
//! [`ipc_commands!`] lists every command with its arguments and result,
//! [`ipc_app_commands!`] the few the app implements itself (they need a
//! native dialog), and [`ipc_events!`] every event Rust pushes. The app
//! expands the first into Tauri commands that delegate to [`crate::Engine`]
//! methods of the same name; the engine's tests expand all three into
//! `ui/src/lib/bindings/ipc.ts`, so a
//! misspelled command or a wrong payload fails the UI's type check. The test
//! command fails if the committed bindings are stale. The macros live in
//! `contract.rs`, which the app's build script also includes.

#[cfg(test)]
mod bindings;
mod contract;
mod error;

pub use error::IpcError;
