//! OAuth 2.1 authorization for remote MCP servers, as the MCP
//! specification's authorization section (2025-06-18, 2025-11-25) describes.
//!
//! [`OAuth`] is the [`Authorizer`] of one registered remote server:
//!
//! - **Discovery**: the protected resource metadata (RFC 9728) from the
//!   401's `WWW-Authenticate: Bearer resource_metadata=…`, else from
//!   `/.well-known/oauth-protected-resource` (path-aware, then root); its
//!   `resource` must cover the server's URL. Then the authorization server's
//!   metadata: RFC 8414 or OpenID Connect Discovery, with the MCP
//!   specification's path-insertion order, its `issuer` checked, `S256` PKCE
//!   required ([`discovery`]).
//! - **The client**: one given by hand (`--client-id`), one registered
//!   before with that authorization server, or a new dynamic registration
//!   (RFC 7591) — kept in the keychain per server and issuer ([`register`]).
//! - **Consent**: the authorization code flow with PKCE S256, `state`
//!   checked, the RFC 8707 `resource` and the challenge's (or the
//!   resource's) scopes, in the person's browser, back to a loopback
//!   listener on 127.0.0.1 ([`consent`]).
//! - **Tokens**: in the OS keychain only, per server and bound to the
//!   server's URL and resource: a grant obtained for another URL is never
//!   sent. Refreshed 60 s before they expire and when the server answers
//!   401; when refreshing fails, the person is asked again ([`grant`]).

mod challenge;
mod consent;
mod discovery;
mod grant;
mod register;
pub mod testing;
mod wire;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use url::Url;

pub use challenge::Challenge;
pub use consent::{Browser, OpenUrl};
pub use discovery::canonical_url;
pub use grant::{AuthMethod, CLIENTS_KEY, GRANT_KEY};

use crate::remote::auth::{Authorizer, BoxFuture};
use crate::{Result, SecretStore, SecretValue};
use discovery::{Discovered, resource_covers};
use grant::{ClientRecord, Grant, GrantBase, TokenError, TokenRequest};
use wire::{Http, fail};

/// An access token this close to its expiry is refreshed before use.
const REFRESH_MARGIN_SECS: u64 = 60;

/// An OAuth client registered by hand with a server's authorization server.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// Its `client_id`.
    pub client_id: String,
    /// Its secret, for a confidential client.
    pub client_secret: Option<SecretValue>,
}

/// How [`OAuth`] reaches the network and the person.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    /// The longest one request to a metadata, registration or token
    /// endpoint may take.
    pub request_timeout: Duration,
    /// How long to wait for the person to consent in the browser.
    pub consent_timeout: Duration,
    /// How the authorization page is opened.
    pub browser: Browser,
    /// A client registered by hand, used (and remembered) instead of
    /// dynamic registration.
    pub client: Option<ClientCredentials>,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            consent_timeout: Duration::from_secs(300),
            browser: Browser::FromEnv,
            client: None,
        }
    }
}

/// What a login obtained, for the person (no token in it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Login {
    /// The server.
    pub server: String,
    /// The authorization server's issuer.
    pub issuer: String,
    /// Gatehouse's client id there.
    pub client_id: String,
    /// The resource the tokens are for.
    pub resource: String,
    /// The scopes granted, if known.
    pub scope: Option<String>,
    /// When the access token expires (seconds since the epoch), if said.
    pub expires_at: Option<u64>,
    /// Whether a refresh token came with it.
    pub refreshable: bool,
}

impl Login {
    fn of(server: &str, grant: &Grant) -> Self {
        Self {
            server: server.to_string(),
            issuer: grant.issuer.clone(),
            client_id: grant.client.client_id.clone(),
            resource: grant.resource.clone(),
            scope: grant.scope.clone(),
            expires_at: grant.expires_at,
            refreshable: grant.refresh_token.is_some(),
        }
    }
}

/// OAuth authorization to one remote server.
pub struct OAuth {
    name: String,
    /// The server's URL, canonical.
    url: String,
    secrets: Arc<dyn SecretStore>,
    http: Http,
    options: OAuthOptions,
    state: tokio::sync::Mutex<State>,
    /// Bumped whenever the grant in `state` is replaced, so a 401 that
    /// raced a renewal takes the new token instead of renewing again.
    generation: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Whether `grant` was read from the keychain yet.
    loaded: bool,
    /// The grant in use: the stored one, if it is for this server's URL.
    grant: Option<Grant>,
    /// The last renewal was a refresh after a 401: if the server refuses
    /// the refreshed token too, ask the person instead of refreshing again.
    refreshed_on_401: bool,
}

impl OAuth {
    /// OAuth for the registered remote server `name` at `url`, with its
    /// tokens in `secrets` (the OS keychain).
    pub fn new(
        name: &str,
        url: &str,
        secrets: Arc<dyn SecretStore>,
        options: OAuthOptions,
    ) -> Result<Self> {
        Ok(Self {
            name: name.to_string(),
            url: canonical_url(url)?,
            secrets,
            http: Http::new(options.request_timeout)?,
            options,
            state: tokio::sync::Mutex::default(),
            generation: AtomicU64::new(0),
        })
    }

    /// The server's URL in canonical form: what its tokens are bound to.
    pub fn server_url(&self) -> &str {
        &self.url
    }

    /// Authorizes now, whatever is stored: asks the server how (an
    /// unauthenticated `ping` whose 401 names its metadata, else the
    /// well-known URIs), then the person in the browser; stores the grant.
    pub async fn login(&self) -> Result<Login> {
        let url = Url::parse(&self.url).map_err(|e| fail(format!("{}: {e}", self.url)))?;
        let answer = self.http.probe(&url).await?;
        let challenge = if matches!(answer.status.as_u16(), 401 | 403) {
            answer
                .headers
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(Challenge::parse)
        } else {
            None
        };
        let mut state = self.state.lock().await;
        let grant = self.consent(&mut state, challenge.as_ref()).await?;
        Ok(Login::of(&self.name, &grant))
    }

    /// Reads the stored grant, keeping it only if it was obtained for this
    /// server's current URL.
    fn load(&self, state: &mut State) -> Result<()> {
        let stored = grant::load_grant(self.secrets.as_ref(), &self.name)?;
        state.grant = stored.filter(|g| self.is_ours(g));
        state.loaded = true;
        Ok(())
    }

    /// A grant is used only for the URL and resource it was obtained for.
    fn is_ours(&self, grant: &Grant) -> bool {
        grant.server_url == self.url && resource_covers(&grant.resource, &self.url)
    }

    fn install(&self, state: &mut State, grant: Grant) -> Result<SecretValue> {
        grant::save_grant(self.secrets.as_ref(), &self.name, &grant)?;
        let bearer = grant.bearer();
        state.grant = Some(grant);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(bearer)
    }

    /// Refreshes the grant. `Ok(None)`: there is no refresh token, or the
    /// authorization server refused it (it is then dropped).
    async fn refresh(&self, state: &mut State) -> Result<Option<SecretValue>> {
        let Some(current) = state.grant.as_ref() else {
            return Ok(None);
        };
        let Some(refresh_token) = current.refresh_token.as_ref() else {
            return Ok(None);
        };
        let result = grant::request_tokens(
            &self.http,
            &self.name,
            &current.token_endpoint,
            TokenRequest::Refresh { refresh_token },
            GrantBase::of(current),
        )
        .await;
        match result {
            Ok(renewed) => self.install(state, renewed).map(Some),
            Err(TokenError::Refused { .. }) => {
                // Revoked or expired: keep the access token while it lasts,
                // but never offer the dead refresh token again.
                if let Some(mut kept) = state.grant.take() {
                    kept.refresh_token = None;
                    grant::save_grant(self.secrets.as_ref(), &self.name, &kept)?;
                    state.grant = Some(kept);
                }
                Ok(None)
            }
            Err(TokenError::Failed(e)) => Err(e),
        }
    }

    /// The authorization code flow in the browser; stores and installs the
    /// new grant.
    async fn consent(&self, state: &mut State, challenge: Option<&Challenge>) -> Result<Grant> {
        let found = discovery::discover(&self.http, &self.name, &self.url, challenge).await?;
        let issuer = found.server.issuer.clone();
        let client_hint = self.options.client.is_some();
        let (callback, client) = self.client(&found).await?;
        let verifier = consent::random_token()?;
        let expected_state = consent::random_token()?;
        let mut url = Url::parse(&found.server.authorization_endpoint)
            .map_err(|e| fail(format!("authorization endpoint: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client.client_id)
                .append_pair("redirect_uri", callback.redirect_uri())
                .append_pair("code_challenge", &consent::s256(&verifier))
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &expected_state)
                .append_pair("resource", &found.resource);
            if let Some(scope) = &found.scope {
                q.append_pair("scope", scope);
            }
        }
        eprintln!(
            "gatehouse: authorize Gatehouse's access to server '{}' at {issuer} in your browser; if it does not open, visit:\n  {url}",
            self.name
        );
        if let Err(e) = self.options.browser.open(url.as_str()) {
            eprintln!("gatehouse: {e}");
        }
        let returned = callback
            .wait(&expected_state, self.options.consent_timeout, &issuer)
            .await
            .map_err(|e| {
                fail(format!(
                    "server '{}': {e}; run `gatehouse server login {}` to try again",
                    self.name, self.name
                ))
            })?;
        // RFC 9207: the response must come from the server we sent the
        // person to (a mix-up attack swaps them).
        match (
            &returned.iss,
            found.server.authorization_response_iss_parameter_supported,
        ) {
            (Some(iss), _) if iss.trim_end_matches('/') != issuer.trim_end_matches('/') => {
                return Err(fail(format!(
                    "server '{}': the authorization response came from issuer {iss:?}, not {issuer}; refused (RFC 9207)",
                    self.name
                )));
            }
            (None, true) => {
                return Err(fail(format!(
                    "server '{}': the authorization response lacks the iss parameter {issuer} promised; refused (RFC 9207)",
                    self.name
                )));
            }
            _ => {}
        }
        let base = GrantBase {
            server_url: &self.url,
            resource: &found.resource,
            issuer: &issuer,
            client: &client,
            scope: found.scope.as_deref(),
        };
        let request = TokenRequest::Code {
            code: &returned.code,
            redirect_uri: callback.redirect_uri(),
            verifier: &verifier,
        };
        let endpoint = found.server.token_endpoint.clone();
        let obtained =
            grant::request_tokens(&self.http, &self.name, &endpoint, request, base).await;
        let new = match obtained {
            Ok(grant) => grant,
            Err(TokenError::Refused {
                invalid_client: true,
                error,
            }) if client.registered_dynamically() && !client_hint => {
                // The server forgot the registration: register anew next time.
                grant::drop_client(self.secrets.as_ref(), &self.name, &issuer)?;
                return Err(fail(format!(
                    "{error}; its registration of Gatehouse was dropped, run `gatehouse server login {}` to register again",
                    self.name
                )));
            }
            Err(e) => return Err(e.into()),
        };
        self.install(state, new.clone())?;
        state.refreshed_on_401 = false;
        Ok(new)
    }

    /// The client to authorize as, and the listener for its redirect.
    async fn client(&self, found: &Discovered) -> Result<(consent::Callback, ClientRecord)> {
        let issuer = &found.server.issuer;
        let secrets = self.secrets.as_ref();
        if let Some(given) = &self.options.client {
            let client = ClientRecord {
                client_id: given.client_id.clone(),
                client_secret: given.client_secret.clone(),
                auth_method: match &given.client_secret {
                    None => AuthMethod::None,
                    // RFC 8414 §2: client_secret_basic is the default.
                    Some(_) => match &found.server.token_endpoint_auth_methods_supported {
                        Some(m)
                            if !m.iter().any(|x| x == "client_secret_basic")
                                && m.iter().any(|x| x == "client_secret_post") =>
                        {
                            AuthMethod::ClientSecretPost
                        }
                        _ => AuthMethod::ClientSecretBasic,
                    },
                },
                redirect_uri: None,
                secret_expires_at: None,
            };
            grant::save_client(secrets, &self.name, issuer, &client)?;
            let (callback, _) = consent::Callback::bind(None).await?;
            return Ok((callback, client));
        }
        let stored = grant::load_clients(secrets, &self.name)?
            .remove(issuer)
            .filter(|c| {
                c.secret_expires_at
                    .is_none_or(|t| t > grant::now_secs() + REFRESH_MARGIN_SECS)
            });
        let port = stored.as_ref().and_then(register::registered_port);
        let (callback, on_port) = consent::Callback::bind(port).await?;
        match stored {
            // Registered by hand: any loopback port will do (RFC 8252 §7.3).
            Some(client) if !client.registered_dynamically() => Ok((callback, client)),
            // Registered with this port, which is free again.
            Some(client) if on_port => Ok((callback, client)),
            _ if found.server.registration_endpoint.is_none() => {
                Err(register::no_registration(&self.name, issuer))
            }
            _ => {
                let client = register::register(
                    &self.http,
                    &self.name,
                    &found.server,
                    callback.redirect_uri(),
                    found.scope.as_deref(),
                )
                .await?;
                grant::save_client(secrets, &self.name, issuer, &client)?;
                Ok((callback, client))
            }
        }
    }
}

impl Authorizer for OAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Option<SecretValue>>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            if !state.loaded {
                self.load(&mut state)?;
            }
            let Some(grant) = state.grant.as_ref() else {
                return Ok(None);
            };
            if !grant.expires_within(REFRESH_MARGIN_SECS) {
                return Ok(Some(grant.bearer()));
            }
            let refreshed = self.refresh(&mut state).await;
            if let Ok(Some(bearer)) = refreshed {
                state.refreshed_on_401 = false;
                return Ok(Some(bearer));
            }
            // Not refreshable now: send it while it lasts; once expired,
            // the server's 401 leads to the browser.
            match state.grant.as_ref().filter(|g| !g.expires_within(0)) {
                Some(grant) => Ok(Some(grant.bearer())),
                None => refreshed.map(|_| None),
            }
        })
    }

    fn unauthorized<'a>(
        &'a self,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretValue>>> {
        let seen = self.generation.load(Ordering::Acquire);
        Box::pin(async move {
            let challenge = match challenge {
                Some(header) => match Challenge::parse(header) {
                    Some(c) => Some(c),
                    // Another scheme (Basic, say): not OAuth's to answer.
                    None => return Ok(None),
                },
                None => None,
            };
            let mut state = self.state.lock().await;
            if self.generation.load(Ordering::Acquire) != seen
                && let Some(grant) = state.grant.as_ref()
            {
                // Renewed while this request was out: use the new token.
                return Ok(Some(grant.bearer()));
            }
            let step_up = challenge
                .as_ref()
                .is_some_and(Challenge::insufficient_scope);
            if !step_up {
                // Another proxy of the same server may have renewed.
                let current = state.grant.as_ref().map(|g| g.access_token.clone());
                self.load(&mut state)?;
                if let Some(stored) = state.grant.as_ref()
                    && Some(&stored.access_token) != current.as_ref()
                    && !stored.expires_within(0)
                {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                    return Ok(Some(stored.bearer()));
                }
                if !state.refreshed_on_401
                    && let Some(bearer) = self.refresh(&mut state).await?
                {
                    state.refreshed_on_401 = true;
                    return Ok(Some(bearer));
                }
            }
            let grant = self.consent(&mut state, challenge.as_ref()).await?;
            Ok(Some(grant.bearer()))
        })
    }
}

/// Deletes the server's tokens from the keychain (its client registrations
/// stay, to be reused). Says whether there were any.
pub fn logout(secrets: &dyn SecretStore, server: &str) -> Result<bool> {
    let had = secrets.get(server, grant::GRANT_KEY)?.is_some();
    secrets.delete(server, grant::GRANT_KEY)?;
    Ok(had)
}

/// Deletes everything OAuth keeps for the server: its tokens and its client
/// registrations (the server is being removed).
pub fn forget(secrets: &dyn SecretStore, server: &str) -> Result<()> {
    secrets.delete(server, grant::GRANT_KEY)?;
    secrets.delete(server, grant::CLIENTS_KEY)
}
