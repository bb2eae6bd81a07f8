//! The gateway against a real stdio MCP server (a small Python script) and
//! a real HTTP client: the shared fixture here, the tests by theme in the
//! modules below.

mod access;
mod session;
mod stateless;
mod streams;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::*;
use crate::audit::{AuditDecision, AuditFilter};
use crate::proxy::{Session, SessionOptions};
use crate::{Decision, MemorySecrets, NewServer, Store, Transport};

/// A stdio MCP server: answers `initialize`, `tools/list` and five tools.
/// `progress` reports progress (with the request's token) before its
/// answer; `announce` logs a message after it. Requests are answered
/// whether or not the client initialized (the stateless style).
const SERVER: &str = r#"
import json, sys

def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()

TOOLS = [{"name": n, "description": d, "inputSchema": {"type": "object"}} for n, d in [
    ("echo", "Returns its text."),
    ("progress", "Reports progress, then answers."),
    ("announce", "Answers, then logs a message."),
    ("exit", "Exits without answering."),
]] + [{"name": "regional", "description": "Returns its text; mirrors two parameters.",
       "inputSchema": {"type": "object", "properties": {
           "region": {"type": "string", "x-mcp-header": "Region"},
           "limit": {"type": "integer", "x-mcp-header": "Limit"},
           "text": {"type": "string"}}}}]

for line in sys.stdin:
    msg = json.loads(line)
    method, id_ = msg.get("method"), msg.get("id")
    if method is None or id_ is None:
        continue
    params = msg.get("params") or {}
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": id_, "result": {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "gateway-test", "version": "1"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": id_, "result": {"tools": TOOLS}})
    elif method == "tools/call":
        name, args = params.get("name"), params.get("arguments") or {}
        if name == "exit":
            sys.exit(0)
        if name == "progress":
            token = (params.get("_meta") or {}).get("progressToken")
            send({"jsonrpc": "2.0", "method": "notifications/progress",
                  "params": {"progressToken": token, "progress": 1, "total": 2}})
        send({"jsonrpc": "2.0", "id": id_, "result": {
            "content": [{"type": "text", "text": args.get("text", name)}]}})
        if name == "announce":
            send({"jsonrpc": "2.0", "method": "notifications/message",
                  "params": {"level": "info", "data": "announced"}})
    else:
        send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "Method not found"}})
"#;

/// A gateway serving one server, `echo`, to the client `cursor`.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    secrets: Arc<MemorySecrets>,
    token: String,
    port: u16,
    url: String,
    handle: GatewayHandle,
    http: Client,
}

impl Fixture {
    async fn start() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        let script = tmp.path().join("server.py");
        std::fs::write(&script, SERVER).unwrap();
        let mut store = Store::open(&dir).unwrap();
        store
            .add_server(&NewServer {
                name: "echo".into(),
                transport: Transport::stdio("python3", [script.display().to_string()]),
            })
            .unwrap();
        for tool in ["echo", "progress", "announce", "exit", "regional"] {
            store
                .set_tool_policy("echo", tool, Decision::Allow)
                .unwrap();
        }
        let secrets = Arc::new(MemorySecrets::default());
        let token = token(&mut store, secrets.as_ref(), "cursor")
            .unwrap()
            .expose()
            .to_string();
        drop(store);
        let gateway = Gateway::bind(&dir, 0, secrets.clone()).unwrap();
        let port = gateway.local_addr().port();
        let url = gateway.url("echo");
        let handle = gateway.handle();
        tokio::spawn(gateway.serve());
        Fixture {
            _tmp: tmp,
            dir,
            secrets,
            token,
            port,
            url,
            handle,
            http: http_client(),
        }
    }

    fn headers(&self, session: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", self.token)).unwrap(),
        );
        headers.insert(
            "accept",
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Some(session) = session {
            headers.insert("mcp-session-id", HeaderValue::from_str(session).unwrap());
        }
        headers
    }

    /// A request of `method` to the server's URL with the fixture's
    /// headers (`session` as its `Mcp-Session-Id`), for [`send`].
    fn request(&self, method: Method, session: Option<&str>) -> RequestBuilder {
        self.http
            .request(method, &self.url)
            .headers(self.headers(session))
    }

    /// A GET with the fixture's headers.
    async fn get(&self, session: Option<&str>) -> Response {
        send(self.request(Method::GET, session)).await
    }

    /// A POST of `body` in the 2026-07-28 style (no session) with its
    /// `MCP-Protocol-Version` and `Mcp-Method` headers, for [`send`].
    fn stateless(&self, version: &str, method: &str, body: &Value) -> RequestBuilder {
        self.request(Method::POST, None)
            .header("mcp-protocol-version", version)
            .header("mcp-method", method)
            .body(body.to_string())
    }

    /// A POST of `body` with the fixture's headers.
    async fn post(&self, session: Option<&str>, body: Value) -> Response {
        send(self.request(Method::POST, session).body(body.to_string())).await
    }

    /// Initializes a session; its id.
    async fn initialize(&self) -> String {
        let response = self
            .post(
                None,
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "test-client", "version": "1"}}}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let session = response
            .headers()
            .get("mcp-session-id")
            .expect("a session id")
            .to_str()
            .unwrap()
            .to_string();
        let body: Value = json_of(response).await;
        assert_eq!(body["result"]["serverInfo"]["name"], "gateway-test");
        let initialized = self
            .post(
                Some(&session),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(initialized.status(), StatusCode::ACCEPTED);
        session
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

fn call(id: i64, tool: &str, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": {"text": text}}})
}

/// The JSON messages of an event stream's `data:` lines, read until
/// `done` says enough (or the stream ends).
async fn events(mut response: Response, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut text = String::new();
    let mut messages = Vec::new();
    while !done(&messages) {
        let Some(chunk) = response.chunk().await.unwrap() else {
            break;
        };
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            for line in event.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    messages.push(serde_json::from_str(data).unwrap());
                }
            }
        }
    }
    messages
}

/// Sends a request; its response.
async fn send(request: RequestBuilder) -> Response {
    request.send().await.unwrap()
}

/// A plain-HTTP client (reqwest wants a TLS provider even so).
fn http_client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().no_proxy().build().unwrap()
}

/// A response's body as JSON.
async fn json_of(response: Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// Hang guard only: nothing asserts on how long anything takes.
async fn within<T>(test: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), test)
        .await
        .expect("the test hung")
}

#[test]
fn the_poll_budget_is_a_store_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(poll_budget(&store), crate::brisk::BUDGET);
    store.set_setting(POLL_SETTING, Some("0")).unwrap();
    assert_eq!(poll_budget(&store), Duration::ZERO, "0 never polls");
    store.set_setting(POLL_SETTING, Some("50")).unwrap();
    assert_eq!(poll_budget(&store), Duration::from_micros(50));
}
