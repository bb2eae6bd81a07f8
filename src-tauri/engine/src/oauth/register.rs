//! Which OAuth client Gatehouse is at an authorization server: one given by
//! hand (`gatehouse server login NAME --client-id ID`), one registered
//! before, or a new one from dynamic client registration (RFC 7591).

use serde::Deserialize;
use url::Url;

use super::discovery::ServerMetadata;
use super::grant::{AuthMethod, ClientRecord};
use super::wire::{Body, Http, fail};
use crate::{Result, SecretValue};

/// RFC 7591 §3.2.1: what a registration answers (the fields Gatehouse uses).
#[derive(Deserialize)]
struct Registered {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    client_secret_expires_at: Option<u64>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// Registers Gatehouse as a public client redirecting to `redirect_uri`.
pub(super) async fn register(
    http: &Http,
    name: &str,
    server: &ServerMetadata,
    redirect_uri: &str,
    scope: Option<&str>,
) -> Result<ClientRecord> {
    let Some(endpoint) = server.registration_endpoint.as_deref() else {
        return Err(no_registration(name, &server.issuer));
    };
    let url = Url::parse(endpoint)
        .map_err(|e| fail(format!("registration endpoint {endpoint:?}: {e}")))?;
    let mut request = serde_json::json!({
        "client_name": "Gatehouse",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "software_id": "gatehouse",
        "software_version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(scope) = scope {
        request["scope"] = scope.into();
    }
    let body = serde_json::to_vec(&request).expect("a JSON value serializes");
    let answer = http.post(&url, Body::Json(body), None).await?;
    if !answer.status.is_success() {
        return Err(fail(format!(
            "server '{name}': the authorization server {} refused to register Gatehouse as a client at {url}: {}",
            server.issuer,
            answer.oauth_error()
        )));
    }
    let got: Registered = answer.json(&url)?;
    if got.client_id.is_empty() {
        return Err(fail(format!(
            "server '{name}': the registration at {url} gave an empty client_id"
        )));
    }
    let secret = got
        .client_secret
        .filter(|s| !s.is_empty())
        .map(SecretValue::new);
    let auth_method = match (got.token_endpoint_auth_method.as_deref(), &secret) {
        (Some(method), _) => AuthMethod::parse(method).ok_or_else(|| {
            fail(format!(
                "server '{name}': the authorization server registered Gatehouse with token endpoint authentication {method:?}, which Gatehouse does not speak"
            ))
        })?,
        (None, Some(_)) => AuthMethod::ClientSecretBasic,
        (None, None) => AuthMethod::None,
    };
    if auth_method != AuthMethod::None && secret.is_none() {
        return Err(fail(format!(
            "server '{name}': the registration at {url} asks for a client secret but gave none"
        )));
    }
    Ok(ClientRecord {
        client_id: got.client_id,
        client_secret: secret,
        auth_method,
        redirect_uri: Some(redirect_uri.to_string()),
        // RFC 7591 §3.2.1: 0 means it never expires.
        secret_expires_at: got.client_secret_expires_at.filter(|&t| t != 0),
    })
}

/// The error when Gatehouse has no client at an authorization server and
/// cannot register one.
pub(super) fn no_registration(name: &str, issuer: &str) -> crate::Error {
    fail(format!(
        "server '{name}': the authorization server {issuer} does not offer dynamic client registration. Register an OAuth client for Gatehouse there (a public client with redirect URI http://127.0.0.1/callback; any port is used, RFC 8252 §7.3), then run `gatehouse server login {name} --client-id ID` (add --client-secret if it issued one)"
    ))
}

/// The port of a dynamically registered redirect URI, to listen on again.
pub(super) fn registered_port(client: &ClientRecord) -> Option<u16> {
    let uri = client.redirect_uri.as_deref()?;
    Url::parse(uri).ok()?.port()
}
