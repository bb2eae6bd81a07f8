//! Installing from the MCP Registry (`registry_install`) and moving an
//! installed server to another registry version (`registry_update`), both
//! declared in the engine's `ipc_app_commands!`: the engine vets and
//! installs, and each step it reaches is pushed to the UI as an
//! `install_progress` event, which an engine command cannot do. The install
//! (downloads, `npm ci`, hashing) runs on a blocking thread, off the async
//! runtime.

use gatehouse_engine::Engine;
use gatehouse_engine::ipc::IpcError;
use gatehouse_engine::registry::{
    InstallOptions, InstallPhase, InstallProgress, RegistryInstalled, RegistryUpdated,
    UpdateOptions,
};
use tauri::{AppHandle, Manager};

/// Vets `name` at `version` and installs it with `options`, reporting each
/// phase as an `install_progress` event.
#[tauri::command(rename_all = "snake_case")]
pub async fn registry_install(
    app: AppHandle,
    name: String,
    version: Option<String>,
    options: InstallOptions,
) -> Result<RegistryInstalled, IpcError> {
    tauri::async_runtime::spawn_blocking(move || {
        let engine = app.state::<Engine>();
        engine
            .registry_install_with(name.clone(), version, options, |phase| {
                report(&app, &name, phase)
            })
            .map_err(IpcError::from)
    })
    .await
    .map_err(|e| IpcError {
        code: "install_failed".into(),
        message: format!("the install stopped unexpectedly: {e}"),
    })?
}

/// Moves `server` to `version` of its registry server (the newest active
/// one when `None`) with `options`, reporting each phase as an
/// `install_progress` event named after the registry server.
#[tauri::command(rename_all = "snake_case")]
pub async fn registry_update(
    app: AppHandle,
    server: String,
    version: Option<String>,
    options: UpdateOptions,
) -> Result<RegistryUpdated, IpcError> {
    tauri::async_runtime::spawn_blocking(move || {
        let engine = app.state::<Engine>();
        let name = engine
            .package_status(server.clone())
            .ok()
            .flatten()
            .and_then(|s| s.registry)
            .map_or_else(|| server.clone(), |origin| origin.name);
        engine
            .registry_update_with(server, version, options, |phase| report(&app, &name, phase))
            .map_err(IpcError::from)
    })
    .await
    .map_err(|e| IpcError {
        code: "install_failed".into(),
        message: format!("the update stopped unexpectedly: {e}"),
    })?
}

/// Pushes an `install_progress` event; a failure to is printed, not fatal.
fn report(app: &AppHandle, name: &str, phase: InstallPhase) {
    let progress = InstallProgress {
        name: name.to_string(),
        phase,
    };
    if let Err(err) = crate::events::emit::install_progress(app, &progress) {
        eprintln!("gatehouse: cannot report install progress: {err}");
    }
}
