//! The authorizer: asked again after a 401, and a sign-in that is not cut
//! off by the request timeout.

use super::*;

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
