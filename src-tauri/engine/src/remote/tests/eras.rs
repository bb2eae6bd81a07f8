//! Each era as it should go: a session kept and ended, SSE answers and
//! their resumption, re-initializing after a 404, the stateless revision and
//! its fallback, its mirrored parameters, and HTTP+SSE.

use super::*;

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
