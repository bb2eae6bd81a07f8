//! The 2026-07-28 style: requests checked against their headers, carried
//! by a shared session, and the methods that revision removed.

use super::*;

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
        let call_as = |body: Value, name_header: &'static str| {
            send(
                f.stateless("2026-07-28", "tools/call", &body)
                    .header("mcp-name", name_header),
            )
        };
        let mismatch = call_as(request(json!(1), "echo"), "announce").await;
        assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
        let body: Value = json_of(mismatch).await;
        assert_eq!(body["error"]["code"], -32020);
        assert_eq!(body["id"], 1);

        // Two requests with the same id, from what could be two windows of
        // the client: each gets its own answer under its own id.
        let (a, b) = tokio::join!(
            call_as(request(json!("same"), "echo"), "echo"),
            call_as(request(json!("same"), "echo"), "=?base64?ZWNobw==?="),
        );
        for response in [a, b] {
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = json_of(response).await;
            assert_eq!(body["id"], "same");
            assert_eq!(body["result"]["content"][0]["text"], "stateless");
        }

        let unsupported = send(f.stateless(
            "2099-01-01",
            "tools/list",
            &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}}),
        ))
        .await;
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
        let missing = send(f.stateless(
            "2026-07-28",
            "server/discover",
            &json!({"jsonrpc": "2.0", "id": 8, "method": "server/discover", "params": {
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}),
        ))
        .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let body: Value = json_of(missing).await;
        assert_eq!(body["error"]["code"], -32601);
        assert_eq!(body["id"], 8);

        // No sessions in this revision: GET and DELETE are not allowed.
        let get = send(
            f.request(Method::GET, None)
                .header("mcp-protocol-version", "2026-07-28"),
        )
        .await;
        assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    })
    .await;
}

#[tokio::test]
async fn methods_the_stateless_revision_removed_are_not_forwarded() {
    within(async {
        let f = Fixture::start().await;
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}});
        let ask = |id: i64, method: &'static str| {
            send(f.stateless(
                "2026-07-28",
                method,
                &json!({"jsonrpc": "2.0", "id": id, "method": method,
                        "params": {"_meta": meta}}),
            ))
        };
        // The server would answer `initialize` (and so re-open the shared
        // session under this client's params): the gateway answers first.
        for (id, method) in [(1, "initialize"), (2, "ping"), (3, "logging/setLevel")] {
            let refused = ask(id, method).await;
            assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{method}");
            let body: Value = json_of(refused).await;
            assert_eq!(body["error"]["code"], -32601, "{method}");
            assert_eq!(body["id"], id);
        }
        let listed = ask(4, "tools/list").await;
        assert_eq!(listed.status(), StatusCode::OK);
        let body: Value = json_of(listed).await;
        assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 5);
    })
    .await;
}

#[tokio::test]
async fn mirrored_parameters_must_match_the_arguments() {
    within(async {
        let f = Fixture::start().await;
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"});
        let call = |tool: &str, arguments: Value, params: &[(&'static str, &'static str)]| {
            let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
                "name": tool, "arguments": arguments, "_meta": meta}});
            let mut request = f
                .stateless("2026-07-28", "tools/call", &body)
                .header("mcp-name", tool);
            for (name, value) in params {
                request = request.header(*name, *value);
            }
            send(request)
        };
        let refused = |response: Response, what: &'static str| async move {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
            let body: Value = json_of(response).await;
            assert_eq!(body["error"]["code"], -32020, "{what}");
            assert_eq!(body["id"], 5);
            body["error"]["message"].as_str().unwrap().to_string()
        };

        // Nothing listed yet: the tool marks nothing, so a parameter header
        // cannot be checked and is refused.
        let message = refused(
            call("echo", json!({"text": "x"}), &[("mcp-param-text", "x")]).await,
            "a header for a tool not known to mark it",
        )
        .await;
        assert!(message.contains("mcp-param-text"), "{message}");

        let list = send(f.stateless(
            "2026-07-28",
            "tools/list",
            &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": meta}}),
        ))
        .await;
        assert_eq!(list.status(), StatusCode::OK);

        let arguments = json!({"region": "Zürich", "limit": 25, "text": "mirrored"});
        let ok = call(
            "regional",
            arguments.clone(),
            &[
                ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
                ("mcp-param-limit", "25"),
            ],
        )
        .await;
        assert_eq!(ok.status(), StatusCode::OK);
        let body: Value = json_of(ok).await;
        assert_eq!(body["result"]["content"][0]["text"], "mirrored");

        let message = refused(
            call(
                "regional",
                arguments.clone(),
                &[("mcp-param-region", "Bern"), ("mcp-param-limit", "25")],
            )
            .await,
            "another region in the header",
        )
        .await;
        assert!(
            message.contains("mcp-param-region") && message.contains("Bern"),
            "{message}"
        );
        refused(
            call(
                "regional",
                arguments.clone(),
                &[("mcp-param-region", "=?base64?WsO8cmljaA==?=")],
            )
            .await,
            "the limit's header missing",
        )
        .await;
        refused(
            call(
                "regional",
                json!({"region": "Bern", "text": "no limit"}),
                &[("mcp-param-region", "Bern"), ("mcp-param-limit", "25")],
            )
            .await,
            "a header with no value in the body",
        )
        .await;
        refused(
            call(
                "regional",
                arguments,
                &[
                    ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
                    ("mcp-param-limit", "25"),
                    ("mcp-param-text", "mirrored"),
                ],
            )
            .await,
            "a header for a parameter the tool does not mark",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn a_server_that_stopped_is_started_again_for_the_next_request() {
    within(async {
        let f = Fixture::start().await;
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"});
        let call = |id: i64, tool: &'static str| {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
                "name": tool, "arguments": {"text": "again"}, "_meta": meta}});
            send(
                f.stateless("2026-07-28", "tools/call", &body)
                    .header("mcp-name", tool),
            )
        };
        let gone: Value = json_of(call(1, "exit").await).await;
        let reason = gone["error"]["message"].as_str().unwrap();
        assert!(reason.contains("is not running"), "{gone}");

        let body: Value = json_of(call(2, "echo").await).await;
        assert_eq!(body["result"]["content"][0]["text"], "again", "{body}");
    })
    .await;
}
