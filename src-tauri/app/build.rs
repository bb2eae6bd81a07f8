//! Build script of the desktop app: Tauri's code generation, with one
//! permission per IPC command so capabilities can grant exactly what the UI
//! uses. The command list comes from the engine's single declaration.

include!("../engine/src/ipc/contract.rs");

macro_rules! engine_command_names {
    ($( $(#[doc = $doc:literal])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        const ENGINE_COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}
macro_rules! app_command_names {
    ($( $(#[doc = $doc:literal])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        const APP_COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}
ipc_commands!(engine_command_names);
ipc_app_commands!(app_command_names);

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/engine/src/ipc/contract.rs");
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    // The manifest wants one `'static` list: the build script ends soon after.
    let commands: &'static [&'static str] = ENGINE_COMMANDS
        .iter()
        .chain(APP_COMMANDS)
        .copied()
        .collect::<Vec<_>>()
        .leak();
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
