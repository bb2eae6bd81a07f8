//! The bridge against a scripted server: what it sends, in which era, and
//! what the client reads back when things go right and wrong.

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

#[tokio::test]
async fn a_session_is_kept_headers_are_sent_and_ended_with_delete() {
    let server = Scripted::start(session_server).await;
    let mut client = start(&server, Duration::from_secs(5));
    client.send(INIT).await;
    let answer = client.read().await;
    assert_eq!(answer["result"]["protocolVersion"], "2025-06-18");
    client.send(INITIALIZED).await;
    client
        .send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#)
        .await;
    let answer = client.read().await;
    assert_eq!(id_and_text(&answer), (2.into(), "called".into()));
    client.close().await;

    let seen = server.wait_for(5).await;
    let init = &seen[0];
    assert_eq!(
        init.header("accept"),
        Some("application/json, text/event-stream")
    );
    assert_eq!(init.header("mcp-session-id"), None);
    let call = seen
        .iter()
        .find(|s| s.rpc_method().as_deref() == Some("tools/call"))
        .unwrap();
    assert_eq!(call.header("mcp-session-id"), Some("s-1"));
    assert_eq!(call.header("mcp-protocol-version"), Some("2025-06-18"));
    assert_eq!(
        (call.header("mcp-method"), call.header("mcp-name")),
        (Some("tools/call"), Some("echo"))
    );
    let delete = seen
        .iter()
        .find(|s| s.method == "DELETE")
        .expect("the session is ended");
    assert_eq!(delete.header("mcp-session-id"), Some("s-1"));
}

#[tokio::test]
async fn an_sse_answer_forwards_its_notifications_first() {
    let server = Scripted::start(|seen| match seen.rpc_method().as_deref() {
        Some("initialize") => Reply::json(init_answer(&seen.json()["id"])),
        Some("tools/call") => Reply::Stream(
            Vec::new(),
            vec![
                ": keep-alive\n\n".into(),
                "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\n".into(),
                "data: \"params\":{\"progressToken\":7,\"progress\":1}}\n\n".into(),
                format!("id: a\ndata: {}\n\n", result_for(seen, "streamed")),
            ],
            // The answer ends the request even if the stream stays open.
            true,
        ),
        _ => Reply::accepted(),
    })
    .await;
    let mut client = start(&server, Duration::from_secs(5));
    client.send(INIT).await;
    client.read().await;
    client
        .send(r#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"long"}}"#)
        .await;
    let first = client.read().await;
    assert_eq!(first["method"], "notifications/progress");
    assert_eq!(first["params"]["progress"], 1);
    let answer = client.read().await;
    assert_eq!(id_and_text(&answer), ("c".into(), "streamed".into()));
}

#[tokio::test]
async fn a_broken_stream_is_resumed_with_the_last_event_id() {
    let server = Scripted::start(|seen| match (seen.method.as_str(), seen.rpc_method().as_deref()) {
        ("POST", Some("initialize")) => session_init(seen, "s"),
        ("POST", Some("tools/call")) => Reply::Stream(
            Vec::new(),
            vec!["id: e1\nretry: 10\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"working\"}}\n\n".into()],
            false,
        ),
        ("GET", _) if seen.header("last-event-id") == Some("e1") => Reply::Stream(
            Vec::new(),
            vec![format!(
                "id: e2\ndata: {}\n\n",
                serde_json::json!({"jsonrpc":"2.0","id":9,"result":{"content":[],"resumed":true}})
            )],
            false,
        ),
        ("GET", _) => Reply::status(405, ""),
        _ => Reply::accepted(),
    })
    .await;
    let mut client = start(&server, Duration::from_secs(5));
    client.send(INIT).await;
    client.read().await;
    client
        .send(r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"t"}}"#)
        .await;
    assert_eq!(client.read().await["method"], "notifications/message");
    let answer = client.read().await;
    assert_eq!(
        (answer["id"].clone(), answer["result"]["resumed"].clone()),
        (9.into(), true.into())
    );
    let resume = server
        .seen()
        .into_iter()
        .find(|s| s.header("last-event-id").is_some())
        .unwrap();
    assert_eq!(resume.header("mcp-session-id"), Some("s"));
}

#[tokio::test]
async fn an_expired_session_is_initialized_again_without_the_client_noticing() {
    let sessions = Arc::new(AtomicUsize::new(0));
    let counter = sessions.clone();
    let server = Scripted::start(move |seen| {
        let current = format!("s-{}", counter.load(Ordering::SeqCst));
        match seen.rpc_method().as_deref() {
            Some("initialize") => {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                session_init(seen, &format!("s-{n}"))
            }
            // The first session expires at once.
            _ if seen.header("mcp-session-id") != Some(current.as_str()) || current == "s-1" => {
                if seen.method == "POST" {
                    Reply::status(404, "session expired")
                } else {
                    Reply::status(405, "")
                }
            }
            Some("tools/call") => Reply::json(result_for(seen, "after re-init")),
            _ => Reply::accepted(),
        }
    })
    .await;
    let mut client = start(&server, Duration::from_secs(5));
    client.send(INIT).await;
    assert_eq!(client.read().await["id"], 1);
    client
        .send(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t"}}"#)
        .await;
    // The replayed initialize's answer is not the client's: only the call's.
    let answer = client.read().await;
    assert_eq!(id_and_text(&answer), (5.into(), "after re-init".into()));
    let seen = server.seen();
    let inits: Vec<_> = seen
        .iter()
        .filter(|s| s.rpc_method().as_deref() == Some("initialize"))
        .collect();
    assert_eq!(inits.len(), 2);
    assert_ne!(
        inits[1].json()["id"],
        1,
        "the replay has an id of Gatehouse's own"
    );
    assert_eq!(inits[1].json()["params"]["clientInfo"]["name"], "test");
    assert!(seen.iter().any(
        |s| s.rpc_method().as_deref() == Some("notifications/initialized")
            && s.header("mcp-session-id") == Some("s-2")
    ));
}

#[tokio::test]
async fn a_stateless_client_mirrors_headers_and_falls_back_to_initialize_on_an_older_server() {
    let server = Scripted::start(|seen| match seen.rpc_method().as_deref() {
        Some("initialize") => session_init(seen, "old"),
        // An older server: no session, no service, and no modern error.
        _ if seen.header("mcp-session-id").is_none() => {
            Reply::status(400, "Bad Request: No valid session ID provided")
        }
        Some("tools/call") => Reply::json(result_for(seen, "old server")),
        _ => Reply::accepted(),
    })
    .await;
    let mut client = start(&server, Duration::from_secs(5));
    client
        .send(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"météo","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"modern","version":"2"},"io.modelcontextprotocol/clientCapabilities":{}}}}"#)
        .await;
    let answer = client.read().await;
    assert_eq!(id_and_text(&answer), (3.into(), "old server".into()));
    let seen = server.seen();
    let first = &seen[0];
    assert_eq!(first.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(first.header("mcp-method"), Some("tools/call"));
    assert_eq!(first.header("mcp-name"), Some("=?base64?bcOpdMOpbw==?="));
    let init = seen
        .iter()
        .find(|s| s.rpc_method().as_deref() == Some("initialize"))
        .expect("a fallback initialize");
    assert_eq!(init.json()["params"]["clientInfo"]["name"], "modern");
    assert_eq!(init.json()["params"]["protocolVersion"], "2025-11-25");
    assert_eq!(seen.last().unwrap().header("mcp-session-id"), Some("old"));
}

#[tokio::test]
async fn a_modern_error_is_answered_not_fallen_back_from() {
    let server = Scripted::start(|seen| {
        Reply::Plain(400, vec![("content-type", "application/json".into())], serde_json::json!({"jsonrpc":"2.0","id":seen.json()["id"],"error":{"code":-32020,"message":"Header mismatch"}}).to_string())
    })
    .await;
    let mut client = start(&server, Duration::from_secs(5));
    client
        .send(r#"{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#)
        .await;
    let answer = client.read().await;
    assert_eq!(answer["error"]["code"], -32020);
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.rpc_method().as_deref() != Some("initialize"))
    );
}

#[tokio::test]
async fn an_http_sse_server_is_reached_through_its_endpoint() {
    // Answers go out on the GET stream as their POSTs arrive.
    let stream = Arc::new(std::sync::Mutex::new(
        None::<tokio::sync::mpsc::UnboundedSender<String>>,
    ));
    let events = stream.clone();
    let server = Scripted::start(move |seen| match seen.method.as_str() {
        "POST" if seen.path == "/mcp" => Reply::status(405, "Method Not Allowed"),
        "GET" => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            *events.lock().unwrap() = Some(tx);
            Reply::Live(vec!["event: endpoint\ndata: /messages?session=42\n\n".into()], rx)
        }
        "POST" if seen.path == "/messages?session=42" => {
            let answer = match seen.rpc_method().as_deref() {
                Some("initialize") => Some(init_answer(&seen.json()["id"])),
                Some("tools/list") => Some(serde_json::json!({"jsonrpc":"2.0","id":seen.json()["id"],"result":{"tools":[]}}).to_string()),
                _ => None,
            };
            if let (Some(answer), Some(tx)) = (answer, events.lock().unwrap().as_ref()) {
                let _ = tx.send(format!("event: message\ndata: {answer}\n\n"));
            }
            Reply::accepted()
        }
        _ => Reply::status(404, ""),
    })
    .await;
    let mut client = start(&server, Duration::from_secs(5));
    client.send(INIT).await;
    assert_eq!(
        client.read().await["result"]["serverInfo"]["name"],
        "scripted"
    );
    client.send(INITIALIZED).await;
    client
        .send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        .await;
    assert_eq!(
        client.read().await["result"]["tools"],
        serde_json::json!([])
    );
    let posts: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/messages"))
        .collect();
    assert_eq!(
        posts.len(),
        3,
        "initialize, initialized and the call go to the endpoint"
    );
    drop(stream);
}

#[tokio::test]
async fn a_slow_server_times_out_with_a_clear_error() {
    let server = Scripted::start(|seen| match seen.rpc_method().as_deref() {
        Some("initialize") => session_init(seen, "s"),
        Some("tools/call") => Reply::Silence,
        _ => Reply::accepted(),
    })
    .await;
    let mut client = start(&server, Duration::from_millis(300));
    client.send(INIT).await;
    client.read().await;
    client
        .send(r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"t"}}"#)
        .await;
    let answer = client.read().await;
    assert_eq!(answer["id"], 6);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'far'") && message.contains("no answer within 0.3 s"),
        "{message}"
    );
    // The server is told the request was given up.
    let seen = server.wait_for(3).await;
    let cancel = seen
        .iter()
        .find(|s| s.rpc_method().as_deref() == Some("notifications/cancelled"))
        .expect("a cancellation");
    assert_eq!(cancel.json()["params"]["requestId"], 6);
}

#[tokio::test]
async fn an_unreachable_server_is_named_in_the_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let link = connect_with(
        &remote(&format!("http://127.0.0.1:{port}/mcp"), &[], &[]),
        &MemorySecrets::default(),
        options(Duration::from_secs(5)),
    )
    .unwrap();
    let mut client = Client::new(link);
    client.send(INIT).await;
    let answer = client.read().await;
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("cannot reach"),
        "{message}"
    );
}

/// Hands out "Bearer fresh" once the server refused.
#[derive(Default)]
struct Refreshing(AtomicUsize);

impl Authorizer for Refreshing {
    fn authorization(&self) -> BoxFuture<'_, Result<Option<SecretValue>>> {
        let value = match self.0.load(Ordering::SeqCst) {
            0 => "Bearer stale",
            _ => "Bearer fresh",
        };
        Box::pin(async move { Ok(Some(SecretValue::new(value))) })
    }

    fn unauthorized<'a>(
        &'a self,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretValue>>> {
        assert_eq!(
            challenge,
            Some(r#"Bearer resource_metadata="http://x/.well-known/oauth-protected-resource""#)
        );
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Some(SecretValue::new("Bearer fresh"))) })
    }
}

#[tokio::test]
async fn a_401_asks_the_authorizer_and_retries_once() {
    let server = Scripted::start(|seen| {
        if seen.header("authorization") != Some("Bearer fresh") {
            return Reply::Plain(
                401,
                vec![(
                    "www-authenticate",
                    r#"Bearer resource_metadata="http://x/.well-known/oauth-protected-resource""#
                        .into(),
                )],
                String::new(),
            );
        }
        match seen.rpc_method().as_deref() {
            Some("initialize") => Reply::json(init_answer(&seen.json()["id"])),
            _ => Reply::accepted(),
        }
    })
    .await;
    let auth = Arc::new(Refreshing::default());
    let link = connect_with(
        &remote(&server.url, &[], &[]),
        &MemorySecrets::default(),
        Options {
            timeout: Duration::from_secs(5),
            authorizer: auth.clone(),
            poll: crate::brisk::BUDGET,
        },
    )
    .unwrap();
    let mut client = Client::new(link);
    client.send(INIT).await;
    assert_eq!(
        client.read().await["result"]["serverInfo"]["name"],
        "scripted"
    );
    assert_eq!(auth.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn secret_headers_come_from_the_store_and_a_missing_one_refuses_the_start() {
    let server = Scripted::start(|seen| match seen.header("x-api-key") {
        Some("canary-123") => Reply::json(init_answer(&seen.json()["id"])),
        _ => Reply::status(401, "no key"),
    })
    .await;
    let secrets = MemorySecrets::default();
    let spec = remote(&server.url, &[("X-Team", "blue")], &["X-Api-Key"]);
    let missing = connect_with(&spec, &secrets, options(Duration::from_secs(5)));
    let Err(e) = missing else {
        panic!("a missing secret must stop the start")
    };
    assert!(e.to_string().contains("X-Api-Key"), "{e}");

    secrets
        .set("far", "X-Api-Key", &SecretValue::new("canary-123"))
        .unwrap();
    let link = connect_with(&spec, &secrets, options(Duration::from_secs(5))).unwrap();
    assert_eq!(
        link.secrets.iter().map(|s| s.expose()).collect::<Vec<_>>(),
        ["canary-123"]
    );
    let mut client = Client::new(link);
    client.send(INIT).await;
    assert_eq!(
        client.read().await["result"]["serverInfo"]["name"],
        "scripted"
    );
    assert_eq!(server.seen()[0].header("x-team"), Some("blue"));
}

/// Takes longer to sign in than a request may take to answer.
struct SlowConsent;

impl Authorizer for SlowConsent {
    fn authorization(&self) -> BoxFuture<'_, Result<Option<SecretValue>>> {
        Box::pin(async { Ok(None) })
    }

    fn unauthorized<'a>(
        &'a self,
        _challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretValue>>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            Ok(Some(SecretValue::new("Bearer fresh")))
        })
    }
}

#[tokio::test]
async fn signing_in_again_is_not_cut_off_by_the_request_timeout() {
    let refused = Arc::new(AtomicUsize::new(0));
    let count = refused.clone();
    let server = Scripted::start(move |seen| match seen.rpc_method().as_deref() {
        Some("initialize") => session_init(seen, "s"),
        Some("tools/call") if count.fetch_add(1, Ordering::SeqCst) == 0 => Reply::Plain(
            401,
            vec![("www-authenticate", "Bearer".into())],
            String::new(),
        ),
        Some("tools/call") => Reply::json(result_for(seen, "after consent")),
        _ => Reply::accepted(),
    })
    .await;
    let link = connect_with(
        &remote(&server.url, &[], &[]),
        &MemorySecrets::default(),
        Options {
            timeout: Duration::from_millis(300),
            authorizer: Arc::new(SlowConsent),
            poll: crate::brisk::BUDGET,
        },
    )
    .unwrap();
    let mut client = Client::new(link);
    client.send(INIT).await;
    client.read().await;
    client
        .send(r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"t"}}"#)
        .await;
    let answer = client.read().await;
    assert_eq!(
        answer["result"]["content"][0]["text"], "after consent",
        "{answer}"
    );
}

#[tokio::test]
async fn a_stateless_call_mirrors_the_parameters_its_tool_marks() {
    let server = Scripted::start(|seen| match seen.rpc_method().as_deref() {
        Some("tools/list") => Reply::json(
            serde_json::json!({"jsonrpc":"2.0","id":seen.json()["id"],"result":{"tools":[
                {"name":"sql","inputSchema":{"type":"object","properties":{
                    "region":{"type":"string","x-mcp-header":"Region"},
                    "query":{"type":"string"}}}},
                {"name":"broken","inputSchema":{"type":"object","properties":{
                    "ids":{"type":"array","items":{"type":"string","x-mcp-header":"Id"}}}}}
            ]}})
            .to_string(),
        ),
        Some("tools/call") => Reply::json(result_for(seen, "ran")),
        _ => Reply::accepted(),
    })
    .await;
    let mut client = start(&server, Duration::from_secs(5));
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#;
    client
        .send(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{{meta}}}}}"#
        ))
        .await;
    let listed = client.read().await;
    let names: Vec<_> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["sql"],
        "a tool with an invalid annotation is left out"
    );
    client
        .send(&format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"sql","arguments":{{"region":"us-west1","query":"select 1"}},{meta}}}}}"#
        ))
        .await;
    assert_eq!(client.read().await["result"]["content"][0]["text"], "ran");
    let call = server
        .seen()
        .into_iter()
        .find(|s| s.rpc_method().as_deref() == Some("tools/call"))
        .unwrap();
    assert_eq!(call.header("mcp-param-region"), Some("us-west1"));
    assert_eq!(call.header("mcp-param-query"), None);
}
