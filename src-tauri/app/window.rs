//! The main window: shown and focused on demand, hidden (not closed) when
//! the user closes it, so the tray and the approval broker keep running.

use tauri::{AppHandle, Manager, Window, WindowEvent};

/// The label of the main window in tauri.conf.json.
pub const MAIN: &str = "main";

/// Shows, unminimises and focuses the main window.
pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Closing the main window hides it; Quit in the tray menu exits.
pub fn hide_on_close(window: &Window, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event
        && window.label() == MAIN
    {
        api.prevent_close();
        let _ = window.hide();
    }
}
