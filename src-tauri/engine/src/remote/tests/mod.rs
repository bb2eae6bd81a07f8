//! The bridge against a scripted server: what it sends, in which era, and
//! what the client reads back when things go right and wrong: the shared
//! helpers here, the tests by theme in the modules below.

mod auth;
mod eras;
mod faults;
mod server;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::auth::{Authorizer, BoxFuture};
use super::{Link, NoAuth, Options, connect_with};
use crate::{MemorySecrets, Result, SecretStore, SecretValue, Server, Transport};
use server::{Reply, Scripted, Seen};

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn init_answer(id: &serde_json::Value) -> String {
    serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"scripted","version":"1"}}}).to_string()
}

fn result_for(seen: &Seen, text: &str) -> String {
    serde_json::json!({"jsonrpc":"2.0","id":seen.json()["id"],"result":{"content":[{"type":"text","text":text}]}}).to_string()
}

/// The answer to `initialize`, opening session `id`.
fn session_init(seen: &Seen, id: &str) -> Reply {
    Reply::Plain(
        200,
        vec![
            ("content-type", "application/json".into()),
            ("mcp-session-id", id.into()),
        ],
        init_answer(&seen.json()["id"]),
    )
}

/// A tool answer's id and first text.
fn id_and_text(answer: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    (
        answer["id"].clone(),
        answer["result"]["content"][0]["text"].clone(),
    )
}

fn remote(url: &str, headers: &[(&str, &str)], secrets: &[&str]) -> Server {
    Server {
        name: "far".into(),
        transport: Transport::Http {
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
        },
        created_at: String::new(),
    }
}

fn options(timeout: Duration) -> Options {
    Options {
        timeout,
        authorizer: Arc::new(NoAuth),
        poll: crate::brisk::BUDGET,
    }
}

/// The client's end of a bridge.
struct Client {
    link_writer: tokio::io::DuplexStream,
    lines: tokio::io::Lines<BufReader<tokio::io::DuplexStream>>,
    task: tokio::task::JoinHandle<()>,
}

impl Client {
    fn new(link: Link) -> Self {
        Client {
            link_writer: link.writer,
            lines: BufReader::new(link.reader).lines(),
            task: link.task,
        }
    }

    async fn send(&mut self, line: &str) {
        self.link_writer.write_all(line.as_bytes()).await.unwrap();
        self.link_writer.write_all(b"\n").await.unwrap();
    }

    async fn read(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("the bridge is open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// Closes the client's side and waits for the bridge to end.
    async fn close(self) {
        drop(self.link_writer);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the bridge ends")
            .unwrap();
    }
}

fn start(server: &Scripted, timeout: Duration) -> Client {
    let link = connect_with(
        &remote(&server.url, &[], &[]),
        &MemorySecrets::default(),
        options(timeout),
    )
    .unwrap();
    Client::new(link)
}

/// A server of the session era: initialize gives a session; every other
/// request must carry it.
fn session_server(seen: &Seen) -> Reply {
    match (seen.method.as_str(), seen.rpc_method().as_deref()) {
        ("POST", Some("initialize")) => session_init(seen, "s-1"),
        ("POST", _) if seen.header("mcp-session-id") != Some("s-1") => {
            Reply::status(400, "no session")
        }
        ("POST", Some("notifications/initialized")) => Reply::accepted(),
        ("POST", Some("tools/call")) => Reply::json(result_for(seen, "called")),
        ("GET", _) => Reply::status(405, ""),
        ("DELETE", _) => Reply::status(200, ""),
        _ => Reply::status(400, "unexpected"),
    }
}
