//! The approval popup: a small always-on-top window that shows the calls
//! waiting for the person, one queue for all of them. The engine's broker
//! owns the socket and the queue; this file shows it.
//!
//! The window is created hidden at startup, so showing it when a request
//! arrives is a matter of milliseconds, not a web view's start-up.

use gatehouse_engine::Engine;
use gatehouse_engine::approvals::{self, ApprovalRequest, Broker, BrokerEvents};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};
use tauri_plugin_notification::NotificationExt;

use crate::events::emit;
use crate::window::MAIN;

/// The popup's label (its capability names it).
pub const POPUP: &str = "approvals";

/// Binds the broker for this data directory and serves it. Without it
/// (another app answers on the same data), proxies ask that one instead.
pub fn start(app: &AppHandle) -> tauri::Result<()> {
    create_popup(app)?;
    let engine = app.state::<Engine>();
    let root = engine.data_dir().root();
    let broker = match Broker::bind(
        &approvals::socket_path(root),
        &engine.data_dir().database(),
        Box::new(Popup { app: app.clone() }),
    ) {
        Ok(broker) => broker,
        Err(err) => {
            eprintln!("gatehouse: approvals are not served by this app: {err}");
            return Ok(());
        }
    };
    engine.attach_broker(broker.clone());
    tauri::async_runtime::spawn(broker.serve());
    Ok(())
}

fn create_popup(app: &AppHandle) -> tauri::Result<()> {
    WebviewWindowBuilder::new(app, POPUP, WebviewUrl::App("index.html#/approvals".into()))
        .title("Gatehouse: approval needed")
        .inner_size(520.0, 620.0)
        .min_inner_size(420.0, 420.0)
        .always_on_top(true)
        .visible(false)
        .center()
        .build()
        .map(drop)
}

/// Shows the queue in the popup.
struct Popup {
    app: AppHandle,
}

impl BrokerEvents for Popup {
    fn requested(&self, request: &ApprovalRequest, pending: &[ApprovalRequest]) {
        let _ = emit::approvals_changed(&self.app, &pending.to_vec());
        if let Some(popup) = self.app.get_webview_window(POPUP) {
            let _ = popup.unminimize();
            let _ = popup.show();
            let _ = popup.set_always_on_top(true);
            let _ = popup.set_focus();
        }
        // Someone working elsewhere may not see a window appear.
        let main_visible = self
            .app
            .get_webview_window(MAIN)
            .and_then(|w| w.is_visible().ok())
            .unwrap_or(false);
        if !main_visible {
            let _ = self
                .app
                .notification()
                .builder()
                .title("Gatehouse: approval needed")
                .body(format!(
                    "{} wants to call {} on {}",
                    request.client.as_deref().unwrap_or("A client"),
                    request.tool,
                    request.server
                ))
                .show();
        }
    }

    fn changed(&self, pending: &[ApprovalRequest]) {
        let _ = emit::approvals_changed(&self.app, &pending.to_vec());
        if pending.is_empty()
            && let Some(popup) = self.app.get_webview_window(POPUP)
        {
            let _ = popup.hide();
        }
    }
}

/// Closing the popup hides it; the requests stay queued (and time out).
pub fn hide_on_close(window: &tauri::Window, event: &tauri::WindowEvent) {
    if let tauri::WindowEvent::CloseRequested { api, .. } = event
        && window.label() == POPUP
    {
        api.prevent_close();
        let _ = window.hide();
    }
}
