//! Who may ask: the bearer token, the `Host` and the `Origin`.

use super::*;

#[tokio::test]
async fn every_request_needs_a_clients_token() {
    within(async {
        let f = Fixture::start().await;
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
        let none = send(
            f.http
                .post(&f.url)
                .header("content-type", "application/json")
                .body(init.to_string()),
        )
        .await;
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        let challenge = none.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");

        let wrong = send(
            f.http
                .post(&f.url)
                .header("authorization", "Bearer not-the-token")
                .header("content-type", "application/json")
                .body(init.to_string()),
        )
        .await;
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
            send(
                f.http
                    .get(&f.url)
                    .header("authorization", format!("Bearer {token}"))
                    .header("accept", "text/event-stream"),
            )
        };
        // No session: 405, past the token check.
        let status = get(vscode.expose().to_string()).await.status();
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        revoke(
            &mut Store::open(&f.dir).unwrap(),
            f.secrets.as_ref(),
            "vscode",
        )
        .unwrap();
        loop {
            let status = get(vscode.expose().to_string()).await.status();
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
            let response = send(
                f.request(Method::POST, None)
                    .header("origin", &origin)
                    .body(init.to_string()),
            )
            .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        }
        // A rebinding page's requests carry its own host name; refused
        // before the token is even looked at.
        let rebound = send(
            f.http
                .post(&f.url)
                .header("host", format!("evil.example.com:{}", f.port))
                .header("content-type", "application/json")
                .body(init.to_string()),
        )
        .await;
        assert_eq!(rebound.status(), StatusCode::FORBIDDEN);

        // The gateway's own origins pass (to the session check: no session).
        for origin in [
            format!("http://localhost:{}", f.port),
            format!("http://127.0.0.1:{}", f.port),
        ] {
            let response = send(
                f.request(Method::GET, None)
                    .header("origin", &origin)
                    .header("host", format!("localhost:{}", f.port)),
            )
            .await;
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{origin}"
            );
        }
    })
    .await;
}
