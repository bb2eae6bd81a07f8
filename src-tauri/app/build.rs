//! Build script of the desktop app: Tauri's code generation, with one
//! permission per IPC command so capabilities can grant exactly what the UI
//! uses. The command list comes from the engine's single declaration.

include!("../engine/src/ipc/contract.rs");

macro_rules! command_names {
    ($( $(#[doc = $doc:literal])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}
ipc_commands!(command_names);

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/engine/src/ipc/contract.rs");
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
