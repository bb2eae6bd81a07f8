//! The gateway against a real stdio MCP server (a small Python script) and
//! a real HTTP client.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::*;
use crate::audit::{AuditDecision, AuditFilter};
use crate::proxy::{Session, SessionOptions};
use crate::{Decision, MemorySecrets, NewServer, Store, Transport};

/// A stdio MCP server: answers `initialize`, `tools/list` and three tools.
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
]]

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
        for tool in ["echo", "progress", "announce"] {
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

    async fn post(&self, session: Option<&str>, body: Value) -> Response {
        self.http
            .post(&self.url)
            .headers(self.headers(session))
            .body(body.to_string())
            .send()
            .await
            .unwrap()
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

#[tokio::test]
async fn every_request_needs_a_clients_token() {
    within(async {
        let f = Fixture::start().await;
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
        let none = f
            .http
            .post(&f.url)
            .header("content-type", "application/json")
            .body(init.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        let challenge = none.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");

        let wrong = f
            .http
            .post(&f.url)
            .header("authorization", "Bearer not-the-token")
            .header("content-type", "application/json")
            .body(init.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(
            wrong.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        let body: Value = json_of(wrong).await;
        assert_eq!(body["id"], Value::Null);
        assert!(body["error"]["message"].as_str().unwrap().contains("token"));

        // A token made while the gateway runs works at once; a revoked one
        // stops working.
        let vscode = token(
            &mut Store::open(&f.dir).unwrap(),
            f.secrets.as_ref(),
            "vscode",
        )
        .unwrap();
        let get = |token: String| {
            f.http
                .get(&f.url)
                .header("authorization", format!("Bearer {token}"))
                .header("accept", "text/event-stream")
                .send()
        };
        // No session: 405, past the token check.
        let status = get(vscode.expose().to_string()).await.unwrap().status();
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        revoke(
            &mut Store::open(&f.dir).unwrap(),
            f.secrets.as_ref(),
            "vscode",
        )
        .unwrap();
        loop {
            let status = get(vscode.expose().to_string()).await.unwrap().status();
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_foreign_origin_or_host_is_forbidden() {
    within(async {
        let f = Fixture::start().await;
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
        for origin in [
            "http://evil.example.com".to_string(),
            format!("http://evil.example.com:{}", f.port),
            format!("https://localhost:{}", f.port),
            "null".to_string(),
        ] {
            let response = f
                .http
                .post(&f.url)
                .headers(f.headers(None))
                .header("origin", &origin)
                .body(init.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        }
        // A rebinding page's requests carry its own host name; refused
        // before the token is even looked at.
        let rebound = f
            .http
            .post(&f.url)
            .header("host", format!("evil.example.com:{}", f.port))
            .header("content-type", "application/json")
            .body(init.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(rebound.status(), StatusCode::FORBIDDEN);

        // The gateway's own origins pass (to the session check: no session).
        for origin in [
            format!("http://localhost:{}", f.port),
            format!("http://127.0.0.1:{}", f.port),
        ] {
            let response = f
                .http
                .get(&f.url)
                .headers(f.headers(None))
                .header("origin", &origin)
                .header("host", format!("localhost:{}", f.port))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{origin}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_session_lives_from_initialize_to_delete() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        assert_eq!(session.len(), 32);

        let response = f.post(Some(&session), call(2, "echo", "hello")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            HeaderValue::from_static("application/json")
        );
        let body: Value = json_of(response).await;
        assert_eq!(body["id"], 2);
        assert_eq!(body["result"]["content"][0]["text"], "hello");

        // A pretty-printed body is one message all the same.
        let pretty = serde_json::to_string_pretty(&call(3, "echo", "two\nlines")).unwrap();
        let response = f
            .http
            .post(&f.url)
            .headers(f.headers(Some(&session)))
            .body(pretty)
            .send()
            .await
            .unwrap();
        let body: Value = json_of(response).await;
        assert_eq!(body["result"]["content"][0]["text"], "two\nlines");

        // Another client's token does not reach this session.
        let other = token(
            &mut Store::open(&f.dir).unwrap(),
            f.secrets.as_ref(),
            "vscode",
        )
        .unwrap();
        let mut headers = f.headers(Some(&session));
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", other.expose())).unwrap(),
        );
        let stolen = f
            .http
            .post(&f.url)
            .headers(headers)
            .body(call(4, "echo", "x").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(stolen.status(), StatusCode::NOT_FOUND);

        // An unsupported protocol version is refused, naming those spoken.
        let response = f
            .http
            .get(&f.url)
            .headers(f.headers(Some(&session)))
            .header("mcp-protocol-version", "1999-01-01")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = f
            .http
            .post(&f.url)
            .headers(f.headers(Some(&session)))
            .header("mcp-protocol-version", "1999-01-01")
            .body(call(4, "echo", "x").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = json_of(response).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("2025-11-25"),
            "{body}"
        );

        let deleted = f
            .http
            .delete(&f.url)
            .headers(f.headers(Some(&session)))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::OK);
        let after = f.post(Some(&session), call(5, "echo", "again")).await;
        assert_eq!(after.status(), StatusCode::NOT_FOUND);
        let body: Value = json_of(after).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Session not found")
        );
        let unknown = f.post(Some("no-such-session"), call(6, "echo", "x")).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn malformed_bodies_and_unknown_servers_get_clear_errors() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let garbage = f
            .http
            .post(&f.url)
            .headers(f.headers(Some(&session)))
            .body(r#"{"jsonrpc":"2.0","id":9,"method":"#)
            .send()
            .await
            .unwrap();
        assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
        let body: Value = json_of(garbage).await;
        assert_eq!(body["error"]["code"], -32700);
        assert_eq!(body["id"], 9);

        let batch = f
            .http
            .post(&f.url)
            .headers(f.headers(Some(&session)))
            .body(format!("[{}]", call(1, "echo", "x")))
            .send()
            .await
            .unwrap();
        assert_eq!(batch.status(), StatusCode::BAD_REQUEST);
        let body: Value = json_of(batch).await;
        assert_eq!(body["error"]["code"], -32600);

        let elsewhere = f
            .http
            .post(format!("http://127.0.0.1:{}/mcp/nope", f.port))
            .headers(f.headers(None))
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
        let body: Value = json_of(elsewhere).await;
        assert!(body["error"]["message"].as_str().unwrap().contains("nope"));

        let mut headers = f.headers(Some(&session));
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        let not_json = f
            .http
            .post(&f.url)
            .headers(headers)
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    })
    .await;
}

#[tokio::test]
async fn a_message_over_the_limit_is_refused() {
    within(async {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        let secrets = Arc::new(MemorySecrets::default());
        let token = token(&mut Store::open(&dir).unwrap(), secrets.as_ref(), "cursor").unwrap();
        let gateway = Gateway::bind_with(
            &dir,
            0,
            secrets,
            GatewayOptions {
                max_message_bytes: 1024,
                ..GatewayOptions::default()
            },
        )
        .unwrap();
        let url = gateway.url("echo");
        let handle = gateway.handle();
        tokio::spawn(gateway.serve());
        let response = http_client()
            .post(&url)
            .header("authorization", format!("Bearer {}", token.expose()))
            .header("content-type", "application/json")
            .body(call(1, "echo", &"x".repeat(2000)).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = json_of(response).await;
        assert!(body["error"]["message"].as_str().unwrap().contains("1024"));
        handle.shutdown();
    })
    .await;
}

#[tokio::test]
async fn stateless_requests_are_checked_against_their_headers() {
    within(async {
        let f = Fixture::start().await;
        let request = |id: Value, name: &str| {
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
                "name": name, "arguments": {"text": "stateless"},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"}}}})
        };
        let send = |body: Value, name_header: &'static str| {
            f.http
                .post(&f.url)
                .headers(f.headers(None))
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", name_header)
                .body(body.to_string())
                .send()
        };
        let mismatch = send(request(json!(1), "echo"), "announce").await.unwrap();
        assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
        let body: Value = json_of(mismatch).await;
        assert_eq!(body["error"]["code"], -32020);
        assert_eq!(body["id"], 1);

        // Two requests with the same id, from what could be two windows of
        // the client: each gets its own answer under its own id.
        let (a, b) = tokio::join!(
            send(request(json!("same"), "echo"), "echo"),
            send(request(json!("same"), "echo"), "=?base64?ZWNobw==?="),
        );
        for response in [a.unwrap(), b.unwrap()] {
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = json_of(response).await;
            assert_eq!(body["id"], "same");
            assert_eq!(body["result"]["content"][0]["text"], "stateless");
        }

        let unsupported = f
            .http
            .post(&f.url)
            .headers(f.headers(None))
            .header("mcp-protocol-version", "2099-01-01")
            .header("mcp-method", "tools/list")
            .body(
                json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {
                    "_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
        let body: Value = json_of(unsupported).await;
        assert_eq!(body["error"]["code"], -32022);
        assert!(
            body["error"]["data"]["supported"]
                .as_array()
                .unwrap()
                .contains(&json!("2026-07-28"))
        );

        // A method the server lacks is 404 with its JSON-RPC error.
        let missing = f
            .http
            .post(&f.url)
            .headers(f.headers(None))
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "server/discover")
            .body(
                json!({"jsonrpc": "2.0", "id": 8, "method": "server/discover", "params": {
                    "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let body: Value = json_of(missing).await;
        assert_eq!(body["error"]["code"], -32601);
        assert_eq!(body["id"], 8);

        // No sessions in this revision: GET and DELETE are not allowed.
        let get = f
            .http
            .get(&f.url)
            .headers(f.headers(None))
            .header("mcp-protocol-version", "2026-07-28")
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    })
    .await;
}

#[tokio::test]
async fn a_denied_call_is_denied_as_through_stdio_and_audited_with_the_tokens_client() {
    within(async {
        let f = Fixture::start().await;
        Store::open(&f.dir)
            .unwrap()
            .set_tool_policy("echo", "echo", Decision::Deny)
            .unwrap();
        let session = f.initialize().await;
        let through_gateway: Value = json_of(
            f.post(Some(&session), call(2, "echo", "secret plans"))
                .await,
        )
        .await;
        assert_eq!(through_gateway["result"]["isError"], true);

        // The same exchange through the session as `gatehouse run` drives
        // it, on pipes.
        let direct =
            Session::open(&f.dir, "echo", SessionOptions::default(), f.secrets.clone()).await;
        let (mut to_session, session_in) = tokio::io::duplex(64 * 1024);
        let (session_out, from_session) = tokio::io::duplex(64 * 1024);
        let serving = tokio::spawn(direct.serve(session_in, session_out));
        let mut lines = BufReader::new(from_session).lines();
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "stdio-client", "version": "1"}}});
        to_session
            .write_all(format!("{init}\n{}\n", call(2, "echo", "secret plans")).as_bytes())
            .await
            .unwrap();
        let mut through_stdio = Value::Null;
        while let Some(line) = lines.next_line().await.unwrap() {
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == 2 {
                through_stdio = message;
                break;
            }
        }
        drop(to_session);
        serving.await.unwrap();
        assert_eq!(through_gateway, through_stdio);

        // Both refusals are audited; the gateway's names the token's client.
        let gateway_record = loop {
            let records = Store::open(&f.dir)
                .unwrap()
                .audit_list(&AuditFilter {
                    tool: Some("echo".into()),
                    decision: Some(AuditDecision::Denied),
                    limit: 10,
                    ..AuditFilter::default()
                })
                .unwrap();
            if let Some(record) = records
                .into_iter()
                .find(|r| r.client.as_deref() == Some("cursor"))
            {
                break record;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(gateway_record.server, "echo");
        assert_eq!(gateway_record.client.as_deref(), Some("cursor"));
    })
    .await;
}

#[tokio::test]
async fn progress_before_the_answer_switches_the_post_to_an_event_stream() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let response = f
            .post(
                Some(&session),
                json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
                    "name": "progress", "arguments": {}, "_meta": {"progressToken": "p-1"}}}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            HeaderValue::from_static("text/event-stream")
        );
        let messages = events(response, |_| false).await;
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[0]["method"], "notifications/progress");
        assert_eq!(messages[0]["params"]["progressToken"], "p-1");
        assert_eq!(messages[1]["id"], 5);
        assert_eq!(messages[1]["result"]["content"][0]["text"], "progress");

        // A client that takes only JSON gets the answer as JSON; the
        // progress goes to the session's stream instead.
        let mut headers = f.headers(Some(&session));
        headers.insert("accept", HeaderValue::from_static("application/json"));
        let response = f
            .http
            .post(&f.url)
            .headers(headers)
            .body(
                json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
                    "name": "progress", "arguments": {}, "_meta": {"progressToken": "p-2"}}})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        let body: Value = json_of(response).await;
        assert_eq!(body["id"], 6);
    })
    .await;
}

#[tokio::test]
async fn the_get_stream_carries_the_servers_own_messages() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let stream = f
            .http
            .get(&f.url)
            .headers(f.headers(Some(&session)))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        assert_eq!(
            stream.headers()["content-type"],
            HeaderValue::from_static("text/event-stream")
        );
        // One GET stream per session.
        let second = f
            .http
            .get(&f.url)
            .headers(f.headers(Some(&session)))
            .send()
            .await
            .unwrap();
        assert_eq!(second.status(), StatusCode::CONFLICT);

        let answer: Value =
            json_of(f.post(Some(&session), call(3, "announce", "done")).await).await;
        assert_eq!(answer["result"]["content"][0]["text"], "done");
        // Other messages may come first (a list change after the policy
        // watcher's first look): the server's log message is among them.
        let logged = |m: &Value| m["method"] == "notifications/message";
        let messages = events(stream, |m| m.iter().any(logged)).await;
        let message = messages.iter().find(|m| logged(m)).unwrap();
        assert_eq!(message["params"]["data"], "announced");
    })
    .await;
}

#[tokio::test]
async fn messages_for_a_stream_not_yet_open_wait_for_it() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let answer: Value =
            json_of(f.post(Some(&session), call(3, "announce", "done")).await).await;
        assert_eq!(answer["id"], 3);
        // The notification came after the answer, with nothing open to take
        // it: the stream opened next gets it first.
        let stream = f
            .http
            .get(&f.url)
            .headers(f.headers(Some(&session)))
            .send()
            .await
            .unwrap();
        let logged = |m: &Value| m["method"] == "notifications/message";
        let messages = events(stream, |m| m.iter().any(logged)).await;
        let message = messages.iter().find(|m| logged(m)).unwrap();
        assert_eq!(message["params"]["data"], "announced");
    })
    .await;
}

#[tokio::test]
async fn shutting_down_ends_the_sessions() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let stream = f
            .http
            .get(&f.url)
            .headers(f.headers(Some(&session)))
            .send()
            .await
            .unwrap();
        f.handle.shutdown();
        // The open stream ends instead of hanging.
        let messages = events(stream, |_| false).await;
        assert!(messages.is_empty());
    })
    .await;
}

#[tokio::test]
async fn methods_the_stateless_revision_removed_are_not_forwarded() {
    within(async {
        let f = Fixture::start().await;
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}});
        let send = |id: i64, method: &'static str| {
            f.http
                .post(&f.url)
                .headers(f.headers(None))
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", method)
                .body(
                    json!({"jsonrpc": "2.0", "id": id, "method": method,
                           "params": {"_meta": meta}})
                    .to_string(),
                )
                .send()
        };
        // The server would answer `initialize` (and so re-open the shared
        // session under this client's params): the gateway answers first.
        for (id, method) in [(1, "initialize"), (2, "ping"), (3, "logging/setLevel")] {
            let refused = send(id, method).await.unwrap();
            assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{method}");
            let body: Value = json_of(refused).await;
            assert_eq!(body["error"]["code"], -32601, "{method}");
            assert_eq!(body["id"], id);
        }
        let listed = send(4, "tools/list").await.unwrap();
        assert_eq!(listed.status(), StatusCode::OK);
        let body: Value = json_of(listed).await;
        assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 3);
    })
    .await;
}
