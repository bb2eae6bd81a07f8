//! Tokens once obtained: refreshed before expiry and after a 401, a new
//! consent when refreshing fails, scopes, and never sent to another server.

use super::*;

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_it_is_sent() {
    // Lifetimes under the 60 s margin: every token is "about to expire".
    let auth = AuthServer::start(AuthServerConfig {
        access_lifetime: 30,
        ..AuthServerConfig::default()
    });
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let oauth = oauth("s", mcp.url(), &secrets);
    oauth.login().await.unwrap();
    let first = stored(&secrets, "s").unwrap().access_token;

    let sent = oauth.authorization().await.unwrap().unwrap();
    assert_eq!(auth.tokens_issued("refresh_token"), 1);
    let renewed = stored(&secrets, "s").unwrap();
    assert_ne!(renewed.access_token, first);
    assert_eq!(
        sent.expose(),
        format!("Bearer {}", renewed.access_token.expose())
    );
    assert_eq!(
        auth.events().last(),
        Some(&Event::Token {
            grant_type: "refresh_token".into(),
            resource: Some(mcp.url().into()),
            outcome: Ok(()),
        }),
        "the refresh names the resource too"
    );
    let (status, _) = call(&oauth, mcp.url()).await;
    assert_eq!(status, 200);
    assert_eq!(auth.consents(), 1, "refreshing asks nobody");
}

#[tokio::test]
async fn a_401_refreshes_the_token() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let oauth = oauth("s", mcp.url(), &secrets);
    oauth.login().await.unwrap();
    let old = stored(&secrets, "s").unwrap().access_token;

    auth.expire_access_tokens();
    let (status, body) = call(&oauth, mcp.url()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(auth.tokens_issued("refresh_token"), 1);
    assert_eq!(auth.consents(), 1);
    let new = stored(&secrets, "s").unwrap().access_token;
    assert_eq!(
        mcp.requests(),
        [
            (None, 401), // the login's probe
            (Some(old.expose().into()), 401),
            (Some(new.expose().into()), 200)
        ]
    );
}

#[tokio::test]
async fn when_refreshing_fails_the_person_is_asked_again() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let oauth = oauth("s", mcp.url(), &secrets);
    oauth.login().await.unwrap();

    auth.expire_access_tokens();
    auth.revoke_refresh_tokens();
    let (status, body) = call(&oauth, mcp.url()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(auth.consents(), 2);
    assert!(auth.events().contains(&Event::Token {
        grant_type: "refresh_token".into(),
        resource: Some(mcp.url().into()),
        outcome: Err("invalid_grant".into()),
    }));
    let registrations = auth
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Registered { .. }))
        .count();
    assert_eq!(registrations, 1, "the registered client is reused");

    // A refreshed token the server still refuses: the next 401 goes to the
    // person rather than refreshing in a loop.
    auth.expire_access_tokens();
    let (status, _) = call(&oauth, mcp.url()).await;
    assert_eq!(status, 200);
    assert_eq!(auth.tokens_issued("refresh_token"), 1);
    auth.expire_access_tokens();
    oauth.unauthorized(None).await.unwrap();
    assert_eq!(auth.consents(), 3);
}

#[tokio::test]
async fn a_token_is_never_sent_to_another_server_sharing_the_authorization_server() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let a = auth.protect(ResourceConfig::default());
    let b = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let oauth_a = oauth("a", a.url(), &secrets);
    oauth_a.login().await.unwrap();
    let token_a = stored(&secrets, "a").unwrap().access_token;

    // The resource refuses a token issued for the other one.
    let refused = reqwest::Client::new()
        .post(b.url())
        .header(AUTHORIZATION, format!("Bearer {}", token_a.expose()))
        .header(CONTENT_TYPE, "application/json")
        .body(TOOLS_LIST)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");

    // Gatehouse never offers it: not from B's own slot (a grant copied
    // there is for A's URL), nor under A's name once A points elsewhere.
    let copied = secrets.get("a", grant::GRANT_KEY).unwrap().unwrap();
    secrets.set("b", grant::GRANT_KEY, &copied).unwrap();
    let oauth_b = oauth("b", b.url(), &secrets);
    assert_eq!(oauth_b.authorization().await.unwrap(), None);
    let moved = oauth("a", b.url(), &secrets);
    assert_eq!(moved.authorization().await.unwrap(), None);

    // B gets its own token, for its own resource.
    let (status, body) = call(&oauth_b, b.url()).await;
    assert_eq!(status, 200, "{body}");
    let token_b = stored(&secrets, "b").unwrap();
    assert_ne!(token_b.access_token, token_a);
    assert_eq!(token_b.resource, b.url());
    assert_eq!(tokens_for(&auth, b.url()), [token_b.access_token.expose()]);
    let sent_by_gatehouse: Vec<_> = b.requests().into_iter().skip(1).collect();
    assert!(
        sent_by_gatehouse
            .iter()
            .all(|(sent, _)| sent.as_deref() != Some(token_a.expose())),
        "{sent_by_gatehouse:?}"
    );
}

#[tokio::test]
async fn the_challenges_scope_is_asked_for() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig {
        scope: Some("mcp:tools".into()),
        ..ResourceConfig::default()
    });
    let secrets = Arc::new(MemorySecrets::default());
    let (status, _) = call(&oauth("s", mcp.url(), &secrets), mcp.url()).await;
    assert_eq!(status, 200);
    assert!(auth.events().iter().any(|e| matches!(
        e,
        Event::Authorize { scope: Some(s), .. } if s == "mcp:tools"
    )));
    assert_eq!(
        stored(&secrets, "s").unwrap().scope.as_deref(),
        Some("mcp:tools")
    );
}

#[tokio::test]
async fn insufficient_scope_asks_for_the_challenges_scope() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig {
        scope: Some("files:write".into()),
        ..ResourceConfig::default()
    });
    let secrets = Arc::new(MemorySecrets::default());
    // A grant with a token that lacks the scope.
    oauth("s", mcp.url(), &secrets).login().await.unwrap();
    let mut grant = stored(&secrets, "s").unwrap();
    grant.access_token = SecretValue::new(auth.issue(&grant.client.client_id, mcp.url()));
    grant::save_grant(secrets.as_ref(), "s", &grant).unwrap();
    let fresh = oauth("s", mcp.url(), &secrets);

    let (status, body) = call(&fresh, mcp.url()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        auth.consents(),
        2,
        "a 403 asks the person, it does not refresh"
    );
    assert_eq!(auth.tokens_issued("refresh_token"), 0);
}
