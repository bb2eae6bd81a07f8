//! OAuth against the test authorization server and protected resources of
//! [`super::testing`]: discovery both ways, PKCE, the resource indicator,
//! registration, refresh before expiry and after a 401, a new consent when
//! refreshing fails, and tokens that never reach another server.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};

use super::testing::{
    AuthServer, AuthServerConfig, Event, MetadataAt, ResourceConfig, auto_consent, follow,
};
use super::*;
use crate::remote::auth::Authorizer;
use crate::{Keychain, MemorySecrets};

const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

fn options() -> OAuthOptions {
    OAuthOptions {
        request_timeout: Duration::from_secs(20),
        consent_timeout: Duration::from_secs(60),
        browser: auto_consent(),
        client: None,
    }
}

fn oauth(name: &str, url: &str, secrets: &Arc<MemorySecrets>) -> OAuth {
    OAuth::new(name, url, secrets.clone(), options()).unwrap()
}

/// One MCP request the way the bridge makes it: with the authorizer's
/// header; on a 401 or 403, once more with what `unauthorized` gives.
/// Answers the final status and body.
async fn call(auth: &OAuth, url: &str) -> (u16, String) {
    let http = reqwest::Client::new();
    let send = |bearer: Option<SecretValue>| {
        let mut request = http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(TOOLS_LIST);
        if let Some(bearer) = bearer {
            request = request.header(AUTHORIZATION, bearer.expose());
        }
        request.send()
    };
    let mut answer = send(auth.authorization().await.unwrap()).await.unwrap();
    if matches!(answer.status().as_u16(), 401 | 403) {
        let challenge = answer
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bearer = auth.unauthorized(challenge.as_deref()).await.unwrap();
        answer = send(bearer).await.unwrap();
    }
    (answer.status().as_u16(), answer.text().await.unwrap())
}

fn stored(secrets: &MemorySecrets, server: &str) -> Option<Grant> {
    grant::load_grant(secrets, server).unwrap()
}

/// The access tokens the resource at `url` was issued, per the server.
fn tokens_for(auth: &AuthServer, url: &str) -> Vec<String> {
    auth.access_tokens()
        .into_iter()
        .filter(|(_, i)| i.resource == url)
        .map(|(t, _)| t)
        .collect()
}

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
