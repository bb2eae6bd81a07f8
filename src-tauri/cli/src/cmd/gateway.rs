//! `gatehouse gateway`: the local HTTP gateway, headless (the desktop app
//! serves the same one), and the clients' tokens for it.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use gatehouse_engine::gateway::{self, Gateway, GatewayOptions};
use gatehouse_engine::{DataDir, Error, Keychain, Store};
use serde::Serialize;

use crate::cli::{GatewayArgs, GatewayCommand};
use crate::output;

pub fn run(args: GatewayArgs, json: bool) -> anyhow::Result<()> {
    match args.command {
        None => serve(args.port, json),
        Some(GatewayCommand::Token {
            client,
            rotate,
            revoke,
        }) => token(&client, rotate, revoke, json),
        Some(GatewayCommand::Tokens) => tokens(json),
    }
}

#[derive(Serialize)]
struct Serving {
    /// Each server's URL is this followed by its name.
    url: String,
    port: u16,
    servers: Vec<ServerUrl>,
}

#[derive(Serialize)]
struct ServerUrl {
    name: String,
    url: String,
}

/// Serves until interrupted (Ctrl-C, SIGTERM): then every session ends,
/// its server stops and its last audit records are stored.
fn serve(port: Option<u16>, json: bool) -> anyhow::Result<()> {
    let dir = DataDir::from_env()?;
    let store = Store::open(&dir)?;
    let port = match port {
        Some(port) => port,
        None => store.gateway_port()?,
    };
    let servers = store.servers()?;
    let options = GatewayOptions {
        app: super::run::desktop_app(),
        poll: gateway::poll_budget(&store),
        ..GatewayOptions::default()
    };
    drop(store);
    let gateway = Gateway::bind_with(&dir, port, Arc::new(Keychain), options).map_err(|e| {
        match &e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
                anyhow::anyhow!(
                    "{e}: port {port} is in use (the Gatehouse app serves the gateway too); choose another with --port"
                )
            }
            _ => e.into(),
        }
    })?;
    let port = gateway.local_addr().port();
    let serving = Serving {
        url: format!("http://127.0.0.1:{port}/mcp/"),
        port,
        servers: servers
            .iter()
            .map(|s| ServerUrl {
                name: s.name.clone(),
                url: gateway.url(&s.name),
            })
            .collect(),
    };
    if json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &serving)?;
        writeln!(out)?;
    } else {
        println!("Gatehouse gateway on {}NAME", serving.url);
        for server in &serving.servers {
            println!("  {}  {}", server.name, server.url);
        }
        println!("Each client needs its token: `gatehouse gateway token CLIENT`. Ctrl-C stops.");
    }
    std::io::stdout().flush()?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let handle = gateway.handle();
        tokio::spawn(async move {
            interrupted().await;
            handle.shutdown();
        });
        gateway.serve().await
    })?;
    Ok(())
}

/// Ctrl-C, or SIGTERM where there is one.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn token(client: &str, rotate: bool, revoke: bool, json: bool) -> anyhow::Result<()> {
    let engine = super::engine()?;
    if revoke {
        let revoked = engine.gateway_token_revoke(client)?;
        if json {
            return output::json(&serde_json::json!({ "client": client, "revoked": revoked }));
        }
        if revoked {
            println!("Revoked the gateway token of '{client}'.");
        } else {
            println!("'{client}' had no gateway token.");
        }
        return Ok(());
    }
    let token = if rotate {
        engine.gateway_token_rotate(client)
    } else {
        engine.gateway_token(client)
    }
    .with_context(|| format!("could not get the gateway token of '{client}'"))?;
    if json {
        return output::json(&serde_json::json!({ "client": client, "token": token.expose() }));
    }
    println!("{}", token.expose());
    Ok(())
}

fn tokens(json: bool) -> anyhow::Result<()> {
    let clients = super::engine()?.gateway_clients()?;
    if json {
        return output::json(&clients);
    }
    if clients.is_empty() {
        println!("No client has a gateway token; `gatehouse gateway token CLIENT` makes one.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = clients
        .into_iter()
        .map(|c| vec![c.client, c.created, c.rotated])
        .collect();
    output::table(&["CLIENT", "CREATED", "ROTATED"], &rows)
}
