//! Installing from the MCP Registry (`registry_install`, declared in the
//! engine's `ipc_app_commands!`): the engine vets and installs, and each
//! step it reaches is pushed to the UI as an `install_progress` event, which
//! an engine command cannot do. The install (downloads, `npm ci`, hashing)
//! runs on a blocking thread, off the async runtime.

use gatehouse_engine::Engine;
use gatehouse_engine::ipc::IpcError;
use gatehouse_engine::registry::{InstallOptions, InstallProgress, RegistryInstalled};
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
                let progress = InstallProgress {
                    name: name.clone(),
                    phase,
                };
                if let Err(err) = crate::events::emit::install_progress(&app, &progress) {
                    eprintln!("gatehouse: cannot report install progress: {err}");
                }
            })
            .map_err(IpcError::from)
    })
    .await
    .map_err(|e| IpcError {
        code: "install_failed".into(),
        message: format!("the install stopped unexpectedly: {e}"),
    })?
}
