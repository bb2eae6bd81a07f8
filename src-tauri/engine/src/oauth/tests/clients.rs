//! The OAuth client and the person: registration, client authentication,
//! the consent redirect, logout, plain HTTP, and the OS keychain.

use super::*;

#[tokio::test]
async fn without_registration_a_client_id_must_be_given() {
    let auth = AuthServer::start(AuthServerConfig {
        dynamic_registration: false,
        preregistered: vec!["by-hand".into()],
        ..AuthServerConfig::default()
    });
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let err = oauth("s", mcp.url(), &secrets).login().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("gatehouse server login s --client-id ID"),
        "{err}"
    );

    let mut with_id = options();
    with_id.client = Some(ClientCredentials {
        client_id: "by-hand".into(),
        client_secret: None,
    });
    let login = OAuth::new("s", mcp.url(), secrets.clone(), with_id)
        .unwrap()
        .login()
        .await
        .unwrap();
    assert_eq!(login.client_id, "by-hand");

    // Remembered: a later consent (from the bridge) uses it again.
    auth.expire_access_tokens();
    auth.revoke_refresh_tokens();
    let (status, body) = call(&oauth("s", mcp.url(), &secrets), mcp.url()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(auth.consents(), 2);
}

#[tokio::test]
async fn a_confidential_client_authenticates_at_the_token_endpoint() {
    let auth = AuthServer::start(AuthServerConfig {
        confidential_clients: true,
        access_lifetime: 30,
        ..AuthServerConfig::default()
    });
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let oauth = oauth("s", mcp.url(), &secrets);
    oauth.login().await.unwrap();
    let client = &grant::load_clients(secrets.as_ref(), "s").unwrap()[&auth.issuer()];
    assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
    assert!(client.client_secret.is_some());
    oauth.authorization().await.unwrap().unwrap();
    assert_eq!(auth.tokens_issued("refresh_token"), 1);
}

#[tokio::test]
async fn a_redirect_with_another_state_is_ignored() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    // A page that calls the listener with a forged code first.
    let browser = Browser::Function(Arc::new(|url: &str| {
        let url = url.to_string();
        std::thread::spawn(move || {
            let parsed = Url::parse(&url).unwrap();
            let redirect = parsed
                .query_pairs()
                .find(|(k, _)| k == "redirect_uri")
                .unwrap()
                .1
                .into_owned();
            follow(&format!("{redirect}?code=forged&state=guess"));
            follow(&url);
        });
        Ok(())
    }));
    let mut opts = options();
    opts.browser = browser;
    OAuth::new("s", mcp.url(), secrets.clone(), opts)
        .unwrap()
        .login()
        .await
        .unwrap();
    assert_eq!(auth.tokens_issued("authorization_code"), 1);
    assert!(
        !auth.events().iter().any(|e| matches!(
            e,
            Event::Token {
                outcome: Err(_),
                ..
            }
        )),
        "the forged code was never exchanged"
    );
}

#[tokio::test]
async fn refused_consent_and_no_answer_are_clear_errors() {
    let auth = AuthServer::start(AuthServerConfig {
        deny: true,
        ..AuthServerConfig::default()
    });
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let err = oauth("s", mcp.url(), &secrets).login().await.unwrap_err();
    assert!(err.to_string().contains("access_denied"), "{err}");

    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let mut opts = options();
    opts.browser = Browser::Function(Arc::new(|_| Ok(())));
    opts.consent_timeout = Duration::from_millis(200);
    let err = OAuth::new("s", mcp.url(), secrets.clone(), opts)
        .unwrap()
        .login()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no answer from the browser"),
        "{err}"
    );
    assert!(
        err.to_string().contains("gatehouse server login s"),
        "{err}"
    );
    assert!(stored(&secrets, "s").is_none());
}

#[tokio::test]
async fn logout_deletes_the_tokens_and_forget_the_registration() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    oauth("s", mcp.url(), &secrets).login().await.unwrap();
    assert!(logout(secrets.as_ref(), "s").unwrap());
    assert!(!logout(secrets.as_ref(), "s").unwrap());
    assert_eq!(
        oauth("s", mcp.url(), &secrets)
            .authorization()
            .await
            .unwrap(),
        None
    );
    assert!(
        !grant::load_clients(secrets.as_ref(), "s")
            .unwrap()
            .is_empty()
    );
    forget(secrets.as_ref(), "s").unwrap();
    assert!(
        grant::load_clients(secrets.as_ref(), "s")
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let secrets = Arc::new(MemorySecrets::default());
    let oauth = oauth("s", "http://192.0.2.1:9/mcp", &secrets);
    let err = oauth.unauthorized(Some("Bearer")).await.unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
    assert_eq!(
        oauth
            .unauthorized(Some(r#"Basic realm="x""#))
            .await
            .unwrap(),
        None,
        "another scheme is not OAuth's to answer"
    );
}

/// Against the real OS keychain (the test command provides a Secret
/// Service): the grant is stored there, and found again by a new instance.
#[tokio::test]
async fn tokens_live_in_the_os_keychain() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let name = format!("oauth-test-{}", &consent::random_token().unwrap()[..8]);
    let keychain: Arc<dyn SecretStore> = Arc::new(Keychain);
    let first = OAuth::new(&name, mcp.url(), keychain.clone(), options()).unwrap();
    first.login().await.unwrap();
    let issued = tokens_for(&auth, mcp.url());
    let grant = grant::load_grant(&Keychain, &name)
        .unwrap()
        .expect("stored");
    assert_eq!(grant.access_token.expose(), issued[0]);

    let second = OAuth::new(&name, mcp.url(), keychain.clone(), options()).unwrap();
    let (status, _) = call(&second, mcp.url()).await;
    assert_eq!(status, 200);
    assert_eq!(auth.consents(), 1);
    forget(&Keychain, &name).unwrap();
    assert!(Keychain.get(&name, grant::GRANT_KEY).unwrap().is_none());
    assert!(Keychain.get(&name, grant::CLIENTS_KEY).unwrap().is_none());
}
