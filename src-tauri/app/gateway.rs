//! The local HTTP gateway (`gateway` in the engine), served by the app from
//! launch on a thread and runtime of its own, so clients configured with a
//! Gatehouse URL work whenever the app runs. A port already taken (by
//! `gatehouse gateway`, or another program) is logged, and the app goes on
//! without the gateway.

use std::sync::Arc;

use gatehouse_engine::gateway::{self, DEFAULT_PORT, Gateway, GatewayOptions};
use gatehouse_engine::{Engine, Keychain};
use tauri::{AppHandle, Manager};

/// Binds the gateway's port and serves it on a thread named `gateway`.
pub fn start(app: &AppHandle) {
    let engine = app.state::<Engine>();
    let dir = engine.data_dir().clone();
    let port = engine.store().gateway_port().unwrap_or_else(|err| {
        eprintln!("gatehouse: {err}; the gateway uses port {DEFAULT_PORT}");
        DEFAULT_PORT
    });
    // The app answers approvals itself: no app to start (`app: None`).
    let options = GatewayOptions {
        poll: gateway::poll_budget(&engine.store()),
        ..GatewayOptions::default()
    };
    let spawned = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            let gateway = match Gateway::bind_with(&dir, port, Arc::new(Keychain), options) {
                Ok(gateway) => gateway,
                Err(err) => {
                    eprintln!(
                        "gatehouse: the app does not serve the gateway: {err} (is `gatehouse gateway` running?)"
                    );
                    return;
                }
            };
            eprintln!(
                "gatehouse: the gateway serves http://{}/mcp/NAME",
                gateway.local_addr()
            );
            if let Err(err) = gateway.run() {
                eprintln!("gatehouse: the gateway stopped: {err}");
            }
        });
    if let Err(err) = spawned {
        eprintln!("gatehouse: the gateway's thread could not start: {err}");
    }
}
