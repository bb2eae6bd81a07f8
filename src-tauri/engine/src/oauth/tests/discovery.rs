//! The first authorization: discovery from the challenge and the
//! well-known URIs, the metadata checks, PKCE and the resource indicator.

use super::*;

#[tokio::test]
async fn a_401_leads_through_discovery_and_consent_to_a_working_token() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let oauth = oauth("weather", mcp.url(), &secrets);

    assert_eq!(oauth.authorization().await.unwrap(), None, "no token yet");
    let (status, body) = call(&oauth, mcp.url()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"echo\""), "{body}");

    let events = auth.events();
    assert_eq!(
        events[0],
        Event::Metadata("/.well-known/oauth-authorization-server".into())
    );
    let Event::Registered {
        client_id,
        redirect_uri,
    } = &events[1]
    else {
        panic!("{events:?}")
    };
    assert!(redirect_uri.starts_with("http://127.0.0.1:") && redirect_uri.ends_with("/callback"));
    assert_eq!(
        events[2],
        Event::Authorize {
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            resource: Some(mcp.url().into()),
            scope: None,
        },
        "the resource indicator names the server"
    );
    assert_eq!(
        events[3],
        Event::Token {
            grant_type: "authorization_code".into(),
            resource: Some(mcp.url().into()),
            outcome: Ok(()),
        }
    );

    let issued = tokens_for(&auth, mcp.url());
    assert_eq!(issued.len(), 1);
    assert_eq!(
        mcp.requests(),
        [(None, 401), (Some(issued[0].clone()), 200)],
        "first without a token, then with the one issued for this resource"
    );
    let grant = stored(&secrets, "weather").expect("the grant is in the secret store");
    assert_eq!(grant.access_token.expose(), issued[0]);
    assert_eq!(grant.resource, mcp.url());
    assert_eq!(grant.server_url, mcp.url());
    assert_eq!(grant.issuer, auth.issuer());
    assert!(grant.refresh_token.is_some());
    assert!(
        !format!("{grant:?}").contains(&issued[0]),
        "a grant's Debug never prints its token"
    );
    let clients = grant::load_clients(secrets.as_ref(), "weather").unwrap();
    assert_eq!(clients[&auth.issuer()].client_id, *client_id);

    // The next request uses the stored token without asking anyone.
    let (status, _) = call(&oauth, mcp.url()).await;
    assert_eq!(status, 200);
    assert_eq!(auth.consents(), 1);
}

#[tokio::test]
async fn discovery_falls_back_to_the_well_known_uris_path_first() {
    for at in [MetadataAt::PathWellKnown, MetadataAt::RootWellKnown] {
        let auth = AuthServer::start(AuthServerConfig::default());
        let mcp = auth.protect(ResourceConfig {
            path: "/api/mcp".into(),
            metadata: at,
            ..ResourceConfig::default()
        });
        let secrets = Arc::new(MemorySecrets::default());
        let (status, body) = call(&oauth("s", mcp.url(), &secrets), mcp.url()).await;
        assert_eq!(status, 200, "{at:?}: {body}");
        assert_eq!(auth.consents(), 1, "{at:?}");
    }
}

#[tokio::test]
async fn issuer_metadata_is_found_by_oidc_path_appending_after_the_others() {
    let auth = AuthServer::start(AuthServerConfig {
        issuer_path: "/tenant1".into(),
        openid_only: true,
        ..AuthServerConfig::default()
    });
    let mcp = auth.protect(ResourceConfig::default());
    let secrets = Arc::new(MemorySecrets::default());
    let login = oauth("s", mcp.url(), &secrets).login().await.unwrap();
    assert_eq!(login.issuer, auth.issuer());
    assert!(login.issuer.ends_with("/tenant1"));
    assert_eq!(
        auth.events()[0],
        Event::Metadata("/tenant1/.well-known/openid-configuration".into())
    );
}

#[tokio::test]
async fn metadata_for_another_resource_is_refused() {
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig {
        advertised_resource: Some("http://127.0.0.1:9/elsewhere".into()),
        ..ResourceConfig::default()
    });
    let secrets = Arc::new(MemorySecrets::default());
    let err = oauth("s", mcp.url(), &secrets).login().await.unwrap_err();
    assert_eq!(err.code(), "authorization");
    assert!(err.to_string().contains("RFC 9728"), "{err}");
    assert_eq!(auth.consents(), 0, "nobody was asked");
    assert!(stored(&secrets, "s").is_none());
}

#[tokio::test]
async fn an_authorization_server_without_s256_is_refused() {
    for methods in [None, Some(vec!["plain".to_string()])] {
        let auth = AuthServer::start(AuthServerConfig {
            pkce_methods: methods.clone(),
            ..AuthServerConfig::default()
        });
        let mcp = auth.protect(ResourceConfig::default());
        let secrets = Arc::new(MemorySecrets::default());
        let err = oauth("s", mcp.url(), &secrets).login().await.unwrap_err();
        assert!(err.to_string().contains("S256"), "{methods:?}: {err}");
        assert_eq!(auth.consents(), 0);
    }
}

/// The test server holds clients to PKCE and the resource indicator, so the
/// flows that pass above prove Gatehouse sent the right verifier and
/// resource.
#[tokio::test]
async fn the_test_server_refuses_a_wrong_verifier_and_a_wrong_resource() {
    let auth = AuthServer::start(AuthServerConfig {
        preregistered: vec!["pre".into()],
        ..AuthServerConfig::default()
    });
    let mcp = auth.protect(ResourceConfig::default());
    let _ = Http::new(Duration::from_secs(5)).unwrap(); // installs the TLS provider
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = consent::random_token().unwrap();
    let redirect = "http://127.0.0.1:1/callback";
    let code = || async {
        let mut url = Url::parse(&format!("{}/authorize", auth.issuer())).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", "pre")
            .append_pair("redirect_uri", redirect)
            .append_pair("code_challenge", &consent::s256(&verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "s")
            .append_pair("resource", mcp.url());
        let answer = http.get(url).send().await.unwrap();
        assert_eq!(answer.status(), 302);
        let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let (_, code) = location.query_pairs().find(|(k, _)| k == "code").unwrap();
        code.into_owned()
    };
    let exchange = |code: String, verifier: String, resource: String| {
        let http = http.clone();
        let url = format!("{}/token", auth.issuer());
        async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", &code)
                .append_pair("redirect_uri", redirect)
                .append_pair("code_verifier", &verifier)
                .append_pair("client_id", "pre")
                .append_pair("resource", &resource)
                .finish();
            let answer = http
                .post(url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let wrong = consent::random_token().unwrap();
    let (status, body) = exchange(code().await, wrong, mcp.url().into()).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("invalid_grant") && body.contains("PKCE"),
        "{body}"
    );
    let (status, body) = exchange(code().await, verifier.clone(), format!("{}x", mcp.url())).await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid_target"), "{body}");
    let (status, body) = exchange(code().await, verifier.clone(), mcp.url().into()).await;
    assert_eq!(status, 200, "{body}");
}
