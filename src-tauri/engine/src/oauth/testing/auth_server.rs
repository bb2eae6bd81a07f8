//! The test authorization server: its configuration, what it records, and
//! the handle tests hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::super::consent::random_token;
use super::super::grant::now_secs;
use super::endpoints::authorization_server;
use super::http::serve;
use super::resource::{ProtectedResource, ResourceConfig};

/// How the authorization server behaves.
#[derive(Debug, Clone)]
pub struct AuthServerConfig {
    /// The issuer's path (`""` or e.g. `"/tenant1"`), to exercise the
    /// metadata path-insertion rules.
    pub issuer_path: String,
    /// Serve only OpenID Connect Discovery metadata (at the issuer's path
    /// with `/.well-known/openid-configuration` appended), not RFC 8414.
    pub openid_only: bool,
    /// `code_challenge_methods_supported`; `None` leaves the field out.
    pub pkce_methods: Option<Vec<String>>,
    /// Offer dynamic client registration.
    pub dynamic_registration: bool,
    /// Registration issues confidential clients (`client_secret_basic`).
    pub confidential_clients: bool,
    /// Access tokens' lifetime, in seconds.
    pub access_lifetime: u64,
    /// The person refuses consent (`error=access_denied`).
    pub deny: bool,
    /// Pre-registered public clients (any loopback redirect port).
    pub preregistered: Vec<String>,
}

impl Default for AuthServerConfig {
    fn default() -> Self {
        Self {
            issuer_path: String::new(),
            openid_only: false,
            pkce_methods: Some(vec!["S256".into()]),
            dynamic_registration: true,
            confidential_clients: false,
            access_lifetime: 3600,
            deny: false,
            preregistered: Vec::new(),
        }
    }
}

/// What the authorization server saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A metadata document was fetched (its path).
    Metadata(String),
    /// A client was registered.
    Registered {
        /// Its id.
        client_id: String,
        /// Its redirect URI.
        redirect_uri: String,
    },
    /// An authorization request.
    Authorize {
        /// The client.
        client_id: String,
        /// Its `redirect_uri`.
        redirect_uri: String,
        /// The RFC 8707 `resource`.
        resource: Option<String>,
        /// The `scope`.
        scope: Option<String>,
    },
    /// A token request and how it ended.
    Token {
        /// `authorization_code` or `refresh_token`.
        grant_type: String,
        /// The RFC 8707 `resource`.
        resource: Option<String>,
        /// `Ok` or the OAuth error code.
        outcome: Result<(), String>,
    },
}

/// An issued access or refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The client it was issued to.
    pub client_id: String,
    /// The resource (audience) it is for.
    pub resource: String,
    /// Its scope.
    pub scope: Option<String>,
    /// When it expires (seconds since the epoch).
    pub expires_at: u64,
}

pub(super) struct Client {
    pub(super) secret: Option<String>,
    /// Exact redirect URIs; empty: any loopback `/callback`.
    pub(super) redirect_uris: Vec<String>,
}

pub(super) struct Code {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) challenge: String,
    pub(super) resource: String,
    pub(super) scope: Option<String>,
}

#[derive(Default)]
pub(super) struct Book {
    pub(super) clients: HashMap<String, Client>,
    pub(super) codes: HashMap<String, Code>,
    pub(super) access: HashMap<String, Issued>,
    pub(super) refresh: HashMap<String, Issued>,
    pub(super) resources: Vec<String>,
    pub(super) events: Vec<Event>,
}

pub(super) struct Shared {
    pub(super) config: AuthServerConfig,
    pub(super) base: Mutex<String>,
    pub(super) book: Mutex<Book>,
}

impl Shared {
    pub(super) fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn issuer(&self) -> String {
        let base = self.base.lock().unwrap_or_else(|p| p.into_inner());
        format!("{base}{}", self.config.issuer_path)
    }
}

/// The test authorization server.
pub struct AuthServer {
    shared: Arc<Shared>,
    url: String,
}

impl AuthServer {
    /// Starts one with `config` on a free port.
    pub fn start(config: AuthServerConfig) -> Self {
        let shared = Arc::new(Shared {
            config,
            base: Mutex::default(),
            book: Mutex::default(),
        });
        for id in &shared.config.preregistered {
            shared.book().clients.insert(
                id.clone(),
                Client {
                    secret: None,
                    redirect_uris: Vec::new(),
                },
            );
        }
        let handler_state = shared.clone();
        let url = serve(Arc::new(move |r| authorization_server(&handler_state, r)));
        *shared.base.lock().unwrap() = url.clone();
        Self { shared, url }
    }

    /// Its issuer identifier.
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts a protected resource whose tokens this server issues.
    pub fn protect(&self, config: ResourceConfig) -> ProtectedResource {
        ProtectedResource::start(self.shared.clone(), config)
    }

    /// Everything it saw so far.
    pub fn events(&self) -> Vec<Event> {
        self.shared.book().events.clone()
    }

    /// How many authorization requests (consents) it saw.
    pub fn consents(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| matches!(e, Event::Authorize { .. }))
            .count()
    }

    /// The token requests of `grant_type` that succeeded.
    pub fn tokens_issued(&self, grant_type: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| {
                matches!(e, Event::Token { grant_type: g, outcome: Ok(()), .. } if g == grant_type)
            })
            .count()
    }

    /// Every access token issued and still known, with what it is for.
    pub fn access_tokens(&self) -> Vec<(String, Issued)> {
        self.shared
            .book()
            .access
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every refresh token still valid.
    pub fn refresh_tokens(&self) -> Vec<String> {
        self.shared.book().refresh.keys().cloned().collect()
    }

    /// Issues an access token for `resource` directly, as if to `client_id`.
    pub fn issue(&self, client_id: &str, resource: &str) -> String {
        let token = random_token().expect("random");
        self.shared.book().access.insert(
            token.clone(),
            Issued {
                client_id: client_id.into(),
                resource: resource.into(),
                scope: None,
                expires_at: now_secs() + self.shared.config.access_lifetime,
            },
        );
        token
    }

    /// Makes every access token expire now (the resource then answers 401).
    pub fn expire_access_tokens(&self) {
        for t in self.shared.book().access.values_mut() {
            t.expires_at = 0;
        }
    }

    /// Revokes every refresh token.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.book().refresh.clear();
    }
}
