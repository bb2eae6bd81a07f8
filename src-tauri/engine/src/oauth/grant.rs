//! What OAuth keeps in the keychain, per server: the grant (access and
//! refresh tokens, when they expire, the resource they are for, where to
//! refresh them) and the OAuth clients Gatehouse is registered as with each
//! authorization server. Both are JSON in one keychain entry each, never on
//! disk; their token fields are [`SecretValue`]s, so no `Debug` prints one.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use url::Url;

use super::wire::{Body, Http, fail};
use crate::{Result, SecretStore, SecretValue};

/// The keychain key of a server's grant. A dot keeps it apart from the
/// environment variable names `gatehouse secret set` accepts.
pub const GRANT_KEY: &str = "oauth.grant";
/// The keychain key of a server's OAuth client registrations, by issuer.
pub const CLIENTS_KEY: &str = "oauth.clients";

/// How Gatehouse authenticates to a token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: `client_id` in the body, no secret.
    None,
    /// `client_id` and `client_secret` in the body.
    ClientSecretPost,
    /// HTTP Basic with `client_id` and `client_secret`.
    ClientSecretBasic,
}

impl AuthMethod {
    /// The method an authorization server named, if Gatehouse speaks it.
    pub(super) fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            _ => None,
        }
    }
}

/// The OAuth client Gatehouse is, for one authorization server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ClientRecord {
    pub client_id: String,
    #[serde(default, with = "opt_secret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretValue>,
    pub auth_method: AuthMethod,
    /// The redirect URI registered dynamically (its port is reused); `None`
    /// for a client registered by hand, which gets any loopback port
    /// (RFC 8252 §7.3).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// When a dynamically registered secret expires (seconds since the
    /// epoch; `None`: never).
    #[serde(default)]
    pub secret_expires_at: Option<u64>,
}

impl ClientRecord {
    /// Whether it came from dynamic registration (and may be redone).
    pub fn registered_dynamically(&self) -> bool {
        self.redirect_uri.is_some()
    }

    /// Adds this client's authentication to a token request: the form's
    /// fields, and the Basic credentials if that is its method.
    pub fn authenticate(
        &self,
        form: &mut url::form_urlencoded::Serializer<'_, String>,
    ) -> Option<SecretValue> {
        match (self.auth_method, &self.client_secret) {
            (AuthMethod::ClientSecretBasic, Some(secret)) => {
                use base64::Engine as _;
                // RFC 6749 §2.3.1: each part form-encoded before joining.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!("{}:{}", enc(&self.client_id), enc(secret.expose()));
                Some(SecretValue::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )))
            }
            (AuthMethod::ClientSecretPost, Some(secret)) => {
                form.append_pair("client_id", &self.client_id);
                form.append_pair("client_secret", secret.expose());
                None
            }
            _ => {
                form.append_pair("client_id", &self.client_id);
                None
            }
        }
    }
}

/// A server's OAuth clients, by issuer.
pub(super) type Clients = BTreeMap<String, ClientRecord>;

/// An authorization for one server: tokens bound to its URL and resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Grant {
    /// The server URL (canonical) the grant was obtained for; a grant is
    /// used only while the server's URL is still this one.
    pub server_url: String,
    /// The RFC 8707 resource the tokens were issued for.
    pub resource: String,
    /// The authorization server's issuer.
    pub issuer: String,
    /// Where to refresh.
    pub token_endpoint: String,
    /// The client the tokens were issued to.
    pub client: ClientRecord,
    #[serde(with = "secret")]
    pub access_token: SecretValue,
    #[serde(default, with = "opt_secret", skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretValue>,
    /// When the access token expires (seconds since the epoch; `None`: the
    /// server did not say).
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// The scopes granted (or asked for, if the server did not say).
    #[serde(default)]
    pub scope: Option<String>,
}

impl Grant {
    /// The `Authorization` header value.
    pub fn bearer(&self) -> SecretValue {
        SecretValue::new(format!("Bearer {}", self.access_token.expose()))
    }

    /// Whether the access token expires within `margin` seconds.
    pub fn expires_within(&self, margin: u64) -> bool {
        self.expires_at
            .is_some_and(|at| at <= now_secs().saturating_add(margin))
    }
}

/// Seconds since the epoch.
pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads a JSON record from the keychain. One that no longer parses (an
/// older format, a hand edit) reads as absent: a new login replaces it.
fn load<T: serde::de::DeserializeOwned>(
    secrets: &dyn SecretStore,
    server: &str,
    key: &str,
) -> Result<Option<T>> {
    Ok(secrets
        .get(server, key)?
        .and_then(|v| serde_json::from_str(v.expose()).ok()))
}

fn save<T: Serialize>(secrets: &dyn SecretStore, server: &str, key: &str, value: &T) -> Result<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| fail(format!("cannot encode the OAuth record of '{server}': {e}")))?;
    secrets.set(server, key, &SecretValue::new(text))
}

/// The server's stored grant, if any.
pub(super) fn load_grant(secrets: &dyn SecretStore, server: &str) -> Result<Option<Grant>> {
    load(secrets, server, GRANT_KEY)
}

/// Stores the server's grant, replacing any other.
pub(super) fn save_grant(secrets: &dyn SecretStore, server: &str, grant: &Grant) -> Result<()> {
    save(secrets, server, GRANT_KEY, grant)
}

/// The server's OAuth clients.
pub(super) fn load_clients(secrets: &dyn SecretStore, server: &str) -> Result<Clients> {
    Ok(load(secrets, server, CLIENTS_KEY)?.unwrap_or_default())
}

/// Stores `client` as the server's client at `issuer`.
pub(super) fn save_client(
    secrets: &dyn SecretStore,
    server: &str,
    issuer: &str,
    client: &ClientRecord,
) -> Result<()> {
    let mut clients = load_clients(secrets, server)?;
    clients.insert(issuer.to_string(), client.clone());
    save(secrets, server, CLIENTS_KEY, &clients)
}

/// Forgets the server's client at `issuer` (the server no longer knows it).
pub(super) fn drop_client(secrets: &dyn SecretStore, server: &str, issuer: &str) -> Result<()> {
    let mut clients = load_clients(secrets, server)?;
    if clients.remove(issuer).is_some() {
        save(secrets, server, CLIENTS_KEY, &clients)?;
    }
    Ok(())
}

/// RFC 6749 §5.1: a successful token response.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(with = "secret")]
    access_token: SecretValue,
    token_type: String,
    #[serde(default)]
    expires_in: Option<Lifetime>,
    #[serde(default, with = "opt_secret")]
    refresh_token: Option<SecretValue>,
    #[serde(default)]
    scope: Option<String>,
}

/// `expires_in` as a number, or a number in a string as some servers send.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lifetime {
    Number(u64),
    Text(String),
}

impl Lifetime {
    fn seconds(&self) -> Option<u64> {
        match self {
            Lifetime::Number(n) => Some(*n),
            Lifetime::Text(t) => t.trim().parse().ok(),
        }
    }
}

/// What a token request is for.
pub(super) enum TokenRequest<'a> {
    /// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5).
    Code {
        code: &'a str,
        redirect_uri: &'a str,
        verifier: &'a str,
    },
    /// RFC 6749 §6.
    Refresh { refresh_token: &'a SecretValue },
}

/// Why a token request failed.
pub(super) enum TokenError {
    /// The authorization server answered with an error; `invalid_client`
    /// when it no longer knows the client.
    Refused {
        invalid_client: bool,
        error: crate::Error,
    },
    /// It could not be reached, or answered something unusable.
    Failed(crate::Error),
}

impl From<crate::Error> for TokenError {
    fn from(e: crate::Error) -> Self {
        TokenError::Failed(e)
    }
}

impl From<TokenError> for crate::Error {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Refused { error, .. } | TokenError::Failed(error) => error,
        }
    }
}

/// Asks `endpoint` for tokens; the RFC 8707 `resource` goes with every
/// request. `previous` carries a refresh token the server may not rotate.
pub(super) async fn request_tokens(
    http: &Http,
    name: &str,
    endpoint: &str,
    request: TokenRequest<'_>,
    base: GrantBase<'_>,
) -> std::result::Result<Grant, TokenError> {
    let url =
        Url::parse(endpoint).map_err(|e| fail(format!("token endpoint {endpoint:?}: {e}")))?;
    super::discovery::require_secure(&url, &format!("server '{name}' token endpoint"))?;
    // The form is finished before any await: its serializer is not `Send`.
    let (body, basic, kept_refresh) = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        let kept_refresh = match request {
            TokenRequest::Code {
                code,
                redirect_uri,
                verifier,
            } => {
                form.append_pair("grant_type", "authorization_code")
                    .append_pair("code", code)
                    .append_pair("redirect_uri", redirect_uri)
                    .append_pair("code_verifier", verifier);
                None
            }
            TokenRequest::Refresh { refresh_token } => {
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh_token.expose());
                Some(refresh_token.clone())
            }
        };
        form.append_pair("resource", base.resource);
        let basic = base.client.authenticate(&mut form);
        (form.finish(), basic, kept_refresh)
    };
    let answer = http.post(&url, Body::Form(body), basic.as_ref()).await?;
    if !answer.status.is_success() {
        let why = answer.oauth_error();
        let message = format!(
            "server '{name}': the authorization server refused the token request at {url}: {why}"
        );
        return Err(TokenError::Refused {
            invalid_client: why.starts_with("invalid_client"),
            error: fail(message),
        });
    }
    let tokens: TokenResponse = answer.json(&url)?;
    if !tokens.token_type.eq_ignore_ascii_case("bearer") {
        return Err(fail(format!(
            "server '{name}': the authorization server issued a {:?} token; Gatehouse sends only Bearer tokens",
            tokens.token_type
        ))
        .into());
    }
    if tokens.access_token.expose().is_empty() {
        return Err(fail(format!(
            "server '{name}': the authorization server issued an empty access token"
        ))
        .into());
    }
    Ok(Grant {
        server_url: base.server_url.to_string(),
        resource: base.resource.to_string(),
        issuer: base.issuer.to_string(),
        token_endpoint: endpoint.to_string(),
        client: base.client.clone(),
        access_token: tokens.access_token,
        // OAuth 2.1 §4.3.3: without a new refresh token, the old one stays.
        refresh_token: tokens.refresh_token.or(kept_refresh),
        expires_at: tokens
            .expires_in
            .and_then(|l| l.seconds())
            .map(|s| now_secs().saturating_add(s)),
        scope: tokens.scope.or_else(|| base.scope.map(str::to_string)),
    })
}

/// What a new grant inherits from the request that made it.
pub(super) struct GrantBase<'a> {
    pub server_url: &'a str,
    pub resource: &'a str,
    pub issuer: &'a str,
    pub client: &'a ClientRecord,
    pub scope: Option<&'a str>,
}

impl<'a> GrantBase<'a> {
    /// The base of a refresh of `grant`.
    pub fn of(grant: &'a Grant) -> Self {
        Self {
            server_url: &grant.server_url,
            resource: &grant.resource,
            issuer: &grant.issuer,
            client: &grant.client,
            scope: grant.scope.as_deref(),
        }
    }
}

/// Serde of a [`SecretValue`] as its string.
mod secret {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::SecretValue;

    pub fn serialize<S: Serializer>(v: &SecretValue, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretValue, D::Error> {
        String::deserialize(d).map(SecretValue::new)
    }
}

/// Serde of an optional [`SecretValue`].
mod opt_secret {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::SecretValue;

    pub fn serialize<S: Serializer>(v: &Option<SecretValue>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(v.expose()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretValue>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(SecretValue::new))
    }
}
