//! OAuth against the test authorization server and protected resources of
//! [`super::testing`]: discovery both ways, PKCE, the resource indicator,
//! registration, refresh before expiry and after a 401, a new consent when
//! refreshing fails, and tokens that never reach another server: the
//! shared helpers here, the tests by theme in the modules below.

mod clients;
mod discovery;
mod tokens;

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
