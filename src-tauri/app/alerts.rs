//! The alert notifier: when audit records arrive, evaluate the alert rules
//! (off every proxy's path) and show an OS notification for each alert
//! raised, by this app or by `gatehouse alerts list` in a terminal, except
//! quarantined tools, which `pins.rs` announces.

use std::sync::atomic::{AtomicI64, Ordering};

use gatehouse_engine::alerts::{Alert, AlertRule, TOOL_CHANGED_METHOD};
use gatehouse_engine::{Engine, Topic};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

/// The newest alert already notified; alerts from before the app started
/// are in the Alerts list, not re-announced.
pub struct Notified(AtomicI64);

/// Remembers where notifying starts. Call before the store watcher runs.
pub fn start(app: &AppHandle) {
    let newest = app
        .state::<Engine>()
        .store()
        .alerts_newest()
        .unwrap_or_else(|err| {
            eprintln!("gatehouse: cannot read the alerts: {err}");
            0
        });
    app.manage(Notified(AtomicI64::new(newest)));
}

/// Called by the store watcher for each changed topic.
pub fn on_change(app: &AppHandle, topic: Topic) {
    let engine = app.state::<Engine>();
    match topic {
        Topic::Audit => {
            // Raising an alert moves the alerts topic, which notifies below.
            if let Err(err) = engine.alerts_evaluate() {
                eprintln!("gatehouse: evaluating the alert rules failed: {err}");
            }
        }
        Topic::Alerts => notify_new(app, &engine),
        _ => {}
    }
}

fn notify_new(app: &AppHandle, engine: &Engine) {
    let Some(notified) = app.try_state::<Notified>() else {
        return;
    };
    let after = notified.0.load(Ordering::Acquire);
    let alerts = match engine.store().alerts_after(after) {
        Ok(alerts) => alerts,
        Err(err) => {
            eprintln!("gatehouse: cannot read the alerts: {err}");
            return;
        }
    };
    for alert in alerts.iter().filter(|a| !announced_by_pins(engine, a)) {
        let mut body = alert.summary.clone();
        if let Some(server) = &alert.server {
            body = format!("{server}: {body}");
        }
        let _ = app
            .notification()
            .builder()
            .title(format!("Gatehouse alert: {}", alert.rule.title()))
            .body(body)
            .show();
    }
    if let Some(last) = alerts.last() {
        notified.0.fetch_max(last.id, Ordering::AcqRel);
    }
}

/// Whether `alert` is about tools a proxy quarantined, which the pins
/// notifier (`pins.rs`) already announced with where to review them: one
/// event, one notification. The alert is listed all the same.
fn announced_by_pins(engine: &Engine, alert: &Alert) -> bool {
    if alert.rule != AlertRule::PinMismatch {
        return false;
    }
    let Some(first) = alert.records.first() else {
        return false;
    };
    matches!(
        engine.store().audit_get(first.id),
        Ok(Some(entry)) if entry.method.as_deref() == Some(TOOL_CHANGED_METHOD)
    )
}
