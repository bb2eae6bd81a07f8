//! What the client reads when the server is slow, unreachable, or its
//! secret headers are missing.

use super::*;

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
