//! Telling the person about quarantined tools: when a proxy hides a new or
//! changed tool definition (or changed instructions), an OS notification
//! says which and where to review it. Driven by the store's `pins` topic,
//! so a quarantine by any proxy process is announced once.

use std::sync::atomic::{AtomicI64, Ordering};

use gatehouse_engine::pins::PinKind;
use gatehouse_engine::{Engine, Topic};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

/// When the newest review already announced was first seen; reviews from
/// before the app started are on the servers' pages, not re-announced.
pub struct Announced(AtomicI64);

/// Remembers where announcing starts. Call before the store watcher runs.
pub fn start(app: &AppHandle) {
    let newest = app
        .state::<Engine>()
        .store()
        .pins_pending_newest()
        .unwrap_or_else(|err| {
            eprintln!("gatehouse: cannot read the pins: {err}");
            0
        });
    app.manage(Announced(AtomicI64::new(newest)));
}

/// Called by the store watcher for each changed topic.
pub fn on_change(app: &AppHandle, topic: Topic) {
    if topic != Topic::Pins {
        return;
    }
    let Some(announced) = app.try_state::<Announced>() else {
        return;
    };
    let after = announced.0.load(Ordering::Acquire);
    let pending = match app.state::<Engine>().store().pins_pending_after(after) {
        Ok(pending) => pending,
        Err(err) => {
            eprintln!("gatehouse: cannot read the pins: {err}");
            return;
        }
    };
    for review in &pending {
        let what = match review.kind {
            PinKind::Tool => format!("Tool '{}'", review.name),
            PinKind::Instructions => "The instructions".to_string(),
        };
        let _ = app
            .notification()
            .builder()
            .title(format!("Gatehouse: {} changed", review.server))
            .body(format!(
                "{what} is hidden from your AI clients until you review it on the server's page ({}).",
                review.reason
            ))
            .show();
    }
    if let Some(last) = pending.last() {
        announced.0.fetch_max(last.first_seen, Ordering::AcqRel);
    }
}
