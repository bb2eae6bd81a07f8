//! A session from `initialize` to DELETE, what it refuses, and what it
//! does the same as `gatehouse run`.

use super::*;

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
        let response = send(f.request(Method::POST, Some(&session)).body(pretty)).await;
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
        let stolen = send(
            f.http
                .post(&f.url)
                .headers(headers)
                .body(call(4, "echo", "x").to_string()),
        )
        .await;
        assert_eq!(stolen.status(), StatusCode::NOT_FOUND);

        // An unsupported protocol version is refused, naming those spoken.
        let response = send(
            f.request(Method::GET, Some(&session))
                .header("mcp-protocol-version", "1999-01-01"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = send(
            f.request(Method::POST, Some(&session))
                .header("mcp-protocol-version", "1999-01-01")
                .body(call(4, "echo", "x").to_string()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = json_of(response).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("2025-11-25"),
            "{body}"
        );

        let deleted = send(f.request(Method::DELETE, Some(&session))).await;
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
        let garbage = send(
            f.request(Method::POST, Some(&session))
                .body(r#"{"jsonrpc":"2.0","id":9,"method":"#),
        )
        .await;
        assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
        let body: Value = json_of(garbage).await;
        assert_eq!(body["error"]["code"], -32700);
        assert_eq!(body["id"], 9);

        let batch = send(
            f.request(Method::POST, Some(&session))
                .body(format!("[{}]", call(1, "echo", "x"))),
        )
        .await;
        assert_eq!(batch.status(), StatusCode::BAD_REQUEST);
        let body: Value = json_of(batch).await;
        assert_eq!(body["error"]["code"], -32600);

        let elsewhere = send(
            f.http
                .post(format!("http://127.0.0.1:{}/mcp/nope", f.port))
                .headers(f.headers(None))
                .body(
                    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
                        .to_string(),
                ),
        )
        .await;
        assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
        let body: Value = json_of(elsewhere).await;
        assert!(body["error"]["message"].as_str().unwrap().contains("nope"));

        let mut headers = f.headers(Some(&session));
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        let not_json = send(f.http.post(&f.url).headers(headers).body("hello")).await;
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
        let response = send(
            http_client()
                .post(&url)
                .header("authorization", format!("Bearer {}", token.expose()))
                .header("content-type", "application/json")
                .body(call(1, "echo", &"x".repeat(2000)).to_string()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = json_of(response).await;
        assert!(body["error"]["message"].as_str().unwrap().contains("1024"));
        handle.shutdown();
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
async fn a_session_whose_server_stopped_ends_and_a_new_one_starts_it() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;

        // The request out when the server stops gets the reason.
        let gone: Value = json_of(f.post(Some(&session), call(2, "exit", "")).await).await;
        let reason = gone["error"]["message"].as_str().unwrap();
        assert!(reason.contains("is not running"), "{gone}");

        // The session is of no more use: 404, so the client starts another.
        let response = f.post(Some(&session), call(3, "echo", "late")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        let fresh = f.initialize().await;
        assert_ne!(fresh, session);
        let body: Value = json_of(f.post(Some(&fresh), call(4, "echo", "back")).await).await;
        assert_eq!(body["result"]["content"][0]["text"], "back", "{body}");
    })
    .await;
}
