//! Exporting the audit log from the History page (`audit_export`, declared
//! in the engine's `ipc_app_commands!`). The person picks the file in a
//! native save dialog; the records the page's filter matches (all of them,
//! not the page shown) stream from the store into a temporary file beside
//! it, which replaces the target only once it is complete, so an export that
//! fails leaves no half-written file. Cancelling the dialog is not an error:
//! the command answers `null`.
//!
//! Test-only: when `GATEHOUSE_TEST_SAVE_PATH` is set, its value replaces the
//! dialog's answer (an empty value: cancelled), since WebDriver cannot drive
//! a native dialog. Nothing else reads it.

use std::path::{Path, PathBuf};

use gatehouse_engine::audit::{AuditExported, AuditFilter, ExportFormat};
use gatehouse_engine::ipc::IpcError;
use gatehouse_engine::{DataDir, Engine, Store};
use tauri::{AppHandle, WebviewWindow};
use tauri_plugin_dialog::DialogExt;

/// Replaces the save dialog's answer in end-to-end tests (see the module docs).
const TEST_SAVE_PATH: &str = "GATEHOUSE_TEST_SAVE_PATH";

fn failed(message: String) -> IpcError {
    IpcError {
        code: "export_failed".into(),
        message,
    }
}

/// Asks where to save, then writes every record `filter` matches (its
/// cursor and limit ignored) as `format`. `None` if the person cancelled.
#[tauri::command(rename_all = "snake_case")]
pub async fn audit_export(
    app: AppHandle,
    window: WebviewWindow,
    engine: tauri::State<'_, Engine>,
    filter: AuditFilter,
    format: ExportFormat,
) -> Result<Option<AuditExported>, IpcError> {
    let dir = engine.data_dir().clone();
    // The dialog blocks until the person answers, and millions of records
    // take seconds: off the async runtime (the dialog itself runs on the
    // main thread), and on a store connection of its own so the app's other
    // commands are not held up.
    tauri::async_runtime::spawn_blocking(move || {
        let Some(path) = choose_path(&app, &window, format)? else {
            return Ok(None);
        };
        let filter = AuditFilter {
            before: None,
            limit: 0,
            ..filter
        };
        write(&dir, &filter, format, &path).map(Some)
    })
    .await
    .map_err(|e| failed(format!("the export stopped unexpectedly: {e}")))?
}

/// The file the person chose, or `None` if they cancelled.
fn choose_path(
    app: &AppHandle,
    window: &WebviewWindow,
    format: ExportFormat,
) -> Result<Option<PathBuf>, IpcError> {
    if let Some(path) = std::env::var_os(TEST_SAVE_PATH) {
        return Ok((!path.is_empty()).then(|| PathBuf::from(path)));
    }
    let (name, extension) = match format {
        ExportFormat::Jsonl => ("JSON Lines", "jsonl"),
        ExportFormat::Csv => ("CSV", "csv"),
    };
    let Some(path) = app
        .dialog()
        .file()
        .set_parent(window)
        .set_title("Export the audit history")
        .add_filter(name, &[extension])
        .set_file_name(format!("gatehouse-audit.{extension}"))
        .blocking_save_file()
    else {
        return Ok(None);
    };
    path.into_path()
        .map(Some)
        .map_err(|e| failed(format!("the chosen place cannot be written to: {e}")))
}

/// Writes the export into a temporary file in `path`'s folder, then renames
/// it over `path`.
fn write(
    dir: &DataDir,
    filter: &AuditFilter,
    format: ExportFormat,
    path: &Path,
) -> Result<AuditExported, IpcError> {
    let shown = path.display();
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let store = Store::open(dir).map_err(|e| failed(format!("cannot read the audit log: {e}")))?;
    let mut file = tempfile::Builder::new()
        .prefix(".gatehouse-export-")
        .tempfile_in(folder)
        .map_err(|e| failed(format!("cannot write in {}: {e}", folder.display())))?;
    let records = store
        .audit_write_export(filter, format, std::io::BufWriter::new(file.as_file_mut()))
        .map_err(|e| failed(e.to_string()))?;
    file.as_file()
        .sync_all()
        .map_err(|e| failed(format!("cannot write {shown}: {e}")))?;
    file.persist(path)
        .map_err(|e| failed(format!("cannot write {shown}: {}", e.error)))?;
    Ok(AuditExported {
        path: path.display().to_string(),
        records,
    })
}
