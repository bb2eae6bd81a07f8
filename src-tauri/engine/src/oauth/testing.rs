//! An OAuth 2.1 authorization server and protected MCP resources written to
//! the RFCs, on 127.0.0.1, for the engine's and the CLI's tests. Nothing
//! here is used outside tests.
//!
//! - [`AuthServer`]: RFC 8414 metadata (or only OpenID Connect Discovery),
//!   RFC 7591 registration, `/authorize` that consents at once by
//!   redirecting to the client's `redirect_uri` with `code` and `state`
//!   (and RFC 9207 `iss`), and `/token` that checks the client, the PKCE
//!   verifier (S256), the `redirect_uri` and the RFC 8707 `resource`, and
//!   issues short-lived access tokens bound to that resource plus rotating
//!   refresh tokens.
//! - [`ProtectedResource`]: RFC 9728 metadata at the place its
//!   [`MetadataAt`] says, and a minimal MCP endpoint (JSON answers to
//!   `initialize`, `tools/list`, `tools/call` of `echo`, `ping`) that
//!   answers 401 with `WWW-Authenticate: Bearer …` when the token is
//!   missing, expired or for another resource, and 403
//!   `insufficient_scope` when it lacks the configured scope.
//! - [`auto_consent`]: a [`Browser`] that follows the authorization URL
//!   like a browser whose person always consents.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::consent::{Browser, random_token, s256};
use super::grant::now_secs;

/// An HTTP request, as the test servers see it.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn query_params(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
}

/// An HTTP answer.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Cache-Control".into(), "no-store".into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn oauth_error(status: u16, error: &str, description: &str) -> Self {
        Self::json(
            status,
            json!({"error": error, "error_description": description}),
        )
    }
}

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// Serves `handler` on a fresh 127.0.0.1 port until the process ends;
/// answers the base URL.
fn serve(handler: Handler) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            std::thread::spawn(move || connection(stream, &handler));
        }
    });
    url
}

fn connection(stream: TcpStream, handler: &Handler) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0usize);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let request = Request {
            method,
            path: path.to_string(),
            query: query.to_string(),
            headers,
            body,
        };
        let answer = handler(&request);
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            answer.status,
            answer.body.len()
        );
        for (k, v) in &answer.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&answer.body).is_err() {
            return;
        }
    }
}

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

struct Client {
    secret: Option<String>,
    /// Exact redirect URIs; empty: any loopback `/callback`.
    redirect_uris: Vec<String>,
}

struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    resource: String,
    scope: Option<String>,
}

#[derive(Default)]
struct Book {
    clients: HashMap<String, Client>,
    codes: HashMap<String, Code>,
    access: HashMap<String, Issued>,
    refresh: HashMap<String, Issued>,
    resources: Vec<String>,
    events: Vec<Event>,
}

struct Shared {
    config: AuthServerConfig,
    base: Mutex<String>,
    book: Mutex<Book>,
}

impl Shared {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn issuer(&self) -> String {
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

fn authorization_server(shared: &Shared, r: &Request) -> Response {
    let cfg = &shared.config;
    let issuer = shared.issuer();
    let ip = &cfg.issuer_path;
    let oauth_path = format!("/.well-known/oauth-authorization-server{ip}");
    let oidc_path = format!("{ip}/.well-known/openid-configuration");
    let path = r.path.as_str();
    let metadata_here = if cfg.openid_only {
        path == oidc_path
    } else {
        path == oauth_path
    };
    if r.method == "GET" && metadata_here {
        shared.book().events.push(Event::Metadata(path.into()));
        let mut m = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "authorization_response_iss_parameter_supported": true,
        });
        if let Some(methods) = &cfg.pkce_methods {
            m["code_challenge_methods_supported"] = json!(methods);
        }
        if cfg.dynamic_registration {
            m["registration_endpoint"] = json!(format!("{issuer}/register"));
        }
        return Response::json(200, m);
    }
    let Some(endpoint) = path.strip_prefix(ip.as_str()) else {
        return Response::empty(404);
    };
    match (r.method.as_str(), endpoint) {
        ("POST", "/register") if cfg.dynamic_registration => register(shared, r),
        ("GET", "/authorize") => authorize(shared, r, &issuer),
        ("POST", "/token") => token(shared, r),
        _ => Response::empty(404),
    }
}

fn register(shared: &Shared, r: &Request) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return Response::oauth_error(400, "invalid_client_metadata", "not JSON");
    };
    let uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if uris.is_empty() {
        return Response::oauth_error(400, "invalid_redirect_uri", "redirect_uris is required");
    }
    let client_id = format!("client-{}", &random_token().expect("random")[..12]);
    let secret = shared
        .config
        .confidential_clients
        .then(|| random_token().expect("random"));
    let mut book = shared.book();
    book.events.push(Event::Registered {
        client_id: client_id.clone(),
        redirect_uri: uris[0].clone(),
    });
    book.clients.insert(
        client_id.clone(),
        Client {
            secret: secret.clone(),
            redirect_uris: uris.clone(),
        },
    );
    let mut answer = json!({
        "client_id": client_id,
        "redirect_uris": uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": if secret.is_some() { "client_secret_basic" } else { "none" },
    });
    if let Some(secret) = secret {
        answer["client_secret"] = json!(secret);
        answer["client_secret_expires_at"] = json!(0);
    }
    Response::json(201, answer)
}

fn loopback_callback(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http" && u.host_str() == Some("127.0.0.1") && u.path() == "/callback"
    })
}

fn authorize(shared: &Shared, r: &Request, issuer: &str) -> Response {
    let q = r.query_params();
    let get = |k: &str| q.get(k).cloned();
    let (Some(client_id), Some(redirect_uri)) = (get("client_id"), get("redirect_uri")) else {
        return Response::empty(400);
    };
    let mut book = shared.book();
    book.events.push(Event::Authorize {
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        resource: get("resource"),
        scope: get("scope"),
    });
    // An unknown client or redirect URI is never redirected to (RFC 6749 §4.1.2.1).
    let Some(client) = book.clients.get(&client_id) else {
        return Response::empty(400);
    };
    let redirect_ok = if client.redirect_uris.is_empty() {
        loopback_callback(&redirect_uri)
    } else {
        client.redirect_uris.contains(&redirect_uri)
    };
    if !redirect_ok {
        return Response::empty(400);
    }
    let mut back = url::Url::parse(&redirect_uri).expect("checked");
    let error = if shared.config.deny {
        Some("access_denied")
    } else if get("response_type").as_deref() != Some("code") {
        Some("unsupported_response_type")
    } else if get("code_challenge_method").as_deref() != Some("S256")
        || get("code_challenge").is_none_or(|c| c.len() != 43)
    {
        Some("invalid_request")
    } else if get("resource").is_none_or(|res| !book.resources.contains(&res)) {
        Some("invalid_target")
    } else {
        None
    };
    {
        let mut pairs = back.query_pairs_mut();
        match error {
            Some(error) => {
                pairs.append_pair("error", error);
            }
            None => {
                let code = random_token().expect("random");
                book.codes.insert(
                    code.clone(),
                    Code {
                        client_id,
                        redirect_uri: redirect_uri.clone(),
                        challenge: get("code_challenge").unwrap_or_default(),
                        resource: get("resource").unwrap_or_default(),
                        scope: get("scope"),
                    },
                );
                pairs.append_pair("code", &code);
            }
        }
        if let Some(state) = get("state") {
            pairs.append_pair("state", &state);
        }
        pairs.append_pair("iss", issuer);
    }
    Response::empty(302).header("Location", back.as_str())
}

/// The client a token request authenticates as (RFC 6749 §2.3).
fn token_client(
    book: &Book,
    r: &Request,
    form: &HashMap<String, String>,
) -> Result<String, Response> {
    let basic = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((dec(id)?, Some(dec(secret)?)))
        });
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => match form.get("client_id") {
            Some(id) => (id.clone(), form.get("client_secret").cloned()),
            None => return Err(Response::oauth_error(401, "invalid_client", "no client")),
        },
    };
    match book.clients.get(&id) {
        Some(c) if c.secret == secret => Ok(id),
        Some(_) => Err(Response::oauth_error(
            401,
            "invalid_client",
            "wrong client secret",
        )),
        None => Err(Response::oauth_error(
            401,
            "invalid_client",
            "unknown client",
        )),
    }
}

fn token(shared: &Shared, r: &Request) -> Response {
    let form = r.form();
    let grant_type = form.get("grant_type").cloned().unwrap_or_default();
    let resource = form.get("resource").cloned();
    let mut book = shared.book();
    let result = issue_tokens(shared, &mut book, r, &form, &grant_type);
    book.events.push(Event::Token {
        grant_type,
        resource,
        outcome: match &result {
            Ok(_) => Ok(()),
            Err((_, error, _)) => Err(error.to_string()),
        },
    });
    match result {
        Ok(body) => Response::json(200, body),
        Err((status, error, why)) => Response::oauth_error(status, error, &why),
    }
}

type TokenResult = Result<Value, (u16, &'static str, String)>;

fn issue_tokens(
    shared: &Shared,
    book: &mut Book,
    r: &Request,
    form: &HashMap<String, String>,
    grant_type: &str,
) -> TokenResult {
    let client_id = token_client(book, r, form).map_err(|_| {
        (
            401,
            "invalid_client",
            "client authentication failed".to_string(),
        )
    })?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (resource, scope) = match grant_type {
        "authorization_code" => {
            let code = book.codes.remove(&field("code")).ok_or((
                400,
                "invalid_grant",
                "unknown or used code".to_string(),
            ))?;
            if code.client_id != client_id {
                return Err((400, "invalid_grant", "code issued to another client".into()));
            }
            if code.redirect_uri != field("redirect_uri") {
                return Err((400, "invalid_grant", "redirect_uri differs".into()));
            }
            if s256(&field("code_verifier")) != code.challenge {
                return Err((400, "invalid_grant", "PKCE verifier does not match".into()));
            }
            if form.get("resource") != Some(&code.resource) {
                return Err((
                    400,
                    "invalid_target",
                    "resource differs from the authorization request's".into(),
                ));
            }
            (code.resource, code.scope)
        }
        "refresh_token" => {
            let old = book.refresh.remove(&field("refresh_token")).ok_or((
                400,
                "invalid_grant",
                "unknown or revoked refresh token".to_string(),
            ))?;
            if old.client_id != client_id {
                return Err((
                    400,
                    "invalid_grant",
                    "refresh token of another client".into(),
                ));
            }
            if form.get("resource").is_some_and(|r| *r != old.resource) {
                return Err((
                    400,
                    "invalid_target",
                    "resource differs from the grant's".into(),
                ));
            }
            (old.resource, old.scope)
        }
        _ => return Err((400, "unsupported_grant_type", grant_type.to_string())),
    };
    let lifetime = shared.config.access_lifetime;
    let issued = Issued {
        client_id,
        resource,
        scope: scope.clone(),
        expires_at: now_secs() + lifetime,
    };
    let access = random_token().expect("random");
    let refresh = random_token().expect("random");
    book.access.insert(access.clone(), issued.clone());
    book.refresh.insert(
        refresh.clone(),
        Issued {
            expires_at: u64::MAX,
            ..issued
        },
    );
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "refresh_token": refresh,
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    Ok(body)
}

/// Where a protected resource publishes its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataAt {
    /// Named in the 401's `resource_metadata` (served at the path-aware
    /// well-known URI).
    Header,
    /// Only at the path-aware well-known URI; the 401 does not name it.
    PathWellKnown,
    /// Only at the root well-known URI; the 401 does not name it.
    RootWellKnown,
}

/// How a protected resource behaves.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// The MCP endpoint's path, e.g. `/mcp`.
    pub path: String,
    /// Where its metadata is.
    pub metadata: MetadataAt,
    /// A `resource` for its metadata other than its own URL.
    pub advertised_resource: Option<String>,
    /// A scope tokens must have (named in the challenge and in
    /// `scopes_supported`).
    pub scope: Option<String>,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        Self {
            path: "/mcp".into(),
            metadata: MetadataAt::Header,
            advertised_resource: None,
            scope: None,
        }
    }
}

/// Each MCP request a resource saw: the bearer token and the status.
type Seen = Arc<Mutex<Vec<(Option<String>, u16)>>>;

/// A protected MCP endpoint.
pub struct ProtectedResource {
    url: String,
    seen: Seen,
}

impl ProtectedResource {
    fn start(auth: Arc<Shared>, config: ResourceConfig) -> Self {
        let seen: Seen = Arc::default();
        let base: Arc<Mutex<String>> = Arc::default();
        let (b, s) = (base.clone(), seen.clone());
        let cfg = config.clone();
        let shared = auth.clone();
        let url = serve(Arc::new(move |r| {
            let base = b.lock().unwrap().clone();
            resource(&shared, &cfg, &base, &s, r)
        }));
        *base.lock().unwrap() = url.clone();
        let endpoint = format!("{url}{}", config.path);
        auth.book().resources.push(endpoint.clone());
        Self {
            url: endpoint,
            seen,
        }
    }

    /// The MCP endpoint's URL (its resource identifier).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Each MCP request: the bearer token it carried and the status answered.
    pub fn requests(&self) -> Vec<(Option<String>, u16)> {
        self.seen.lock().unwrap().clone()
    }
}

fn resource(
    auth: &Shared,
    cfg: &ResourceConfig,
    base: &str,
    seen: &Mutex<Vec<(Option<String>, u16)>>,
    r: &Request,
) -> Response {
    const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
    let endpoint = format!("{base}{}", cfg.path);
    let path_aware = format!("{WELL_KNOWN}{}", cfg.path);
    let metadata_here = match cfg.metadata {
        MetadataAt::Header | MetadataAt::PathWellKnown => r.path == path_aware,
        MetadataAt::RootWellKnown => r.path == WELL_KNOWN,
    };
    if r.method == "GET" && metadata_here {
        let mut m = json!({
            "resource": cfg.advertised_resource.clone().unwrap_or_else(|| endpoint.clone()),
            "authorization_servers": [auth.issuer()],
            "bearer_methods_supported": ["header"],
        });
        if let Some(scope) = &cfg.scope {
            m["scopes_supported"] = json!([scope]);
        }
        return Response::json(200, m);
    }
    if r.path != cfg.path {
        return Response::empty(404);
    }
    let token = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string);
    let issued = token
        .as_ref()
        .and_then(|t| auth.book().access.get(t).cloned());
    let challenge = |error: Option<(&str, &str)>| {
        let mut params = Vec::new();
        if let Some((error, description)) = error {
            params.push(format!(
                "error=\"{error}\", error_description=\"{description}\""
            ));
        }
        if cfg.metadata == MetadataAt::Header {
            params.push(format!("resource_metadata=\"{base}{path_aware}\""));
        }
        if let Some(scope) = &cfg.scope {
            params.push(format!("scope=\"{scope}\""));
        }
        format!("Bearer {}", params.join(", "))
    };
    let refusal = match (&token, &issued) {
        (None, _) => Some((401, challenge(None))),
        (Some(_), None) => Some((401, challenge(Some(("invalid_token", "unknown token"))))),
        (Some(_), Some(i)) if i.expires_at <= now_secs() => {
            Some((401, challenge(Some(("invalid_token", "expired")))))
        }
        (Some(_), Some(i)) if i.resource != endpoint => Some((
            401,
            challenge(Some(("invalid_token", "the token is for another resource"))),
        )),
        (Some(_), Some(i))
            if cfg.scope.as_ref().is_some_and(|need| {
                !i.scope
                    .as_deref()
                    .unwrap_or_default()
                    .split(' ')
                    .any(|s| s == need)
            }) =>
        {
            Some((
                403,
                challenge(Some(("insufficient_scope", "more scope needed"))),
            ))
        }
        _ => None,
    };
    if let Some((status, header)) = refusal {
        seen.lock().unwrap().push((token, status));
        return Response::json(status, json!({"error": "unauthorized"}))
            .header("WWW-Authenticate", header);
    }
    let answer = mcp(r);
    seen.lock().unwrap().push((token, answer.status));
    answer
}

/// The MCP server behind the endpoint: one JSON-RPC message per POST.
fn mcp(r: &Request) -> Response {
    if r.method != "POST" {
        return Response::empty(405).header("Allow", "POST");
    }
    let Ok(message) = serde_json::from_slice::<Value>(&r.body) else {
        return Response::json(
            400,
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}}),
        );
    };
    let Some(id) = message.get("id").cloned() else {
        return Response::empty(202);
    };
    let method = message["method"].as_str().unwrap_or_default();
    let result = match method {
        "initialize" => json!({
            "protocolVersion": message["params"]["protocolVersion"].as_str().unwrap_or("2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "oauth-test", "version": "1.0.0"},
        }),
        "ping" => json!({}),
        "tools/list" => json!({"tools": [{
            "name": "echo",
            "description": "Repeats the text it is given.",
            "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        }]}),
        "tools/call" if message["params"]["name"] == "echo" => json!({
            "content": [{"type": "text", "text": message["params"]["arguments"]["text"]}],
        }),
        _ => {
            return Response::json(
                200,
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("no method {method}")}}),
            );
        }
    };
    Response::json(200, json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// A browser whose person always consents: it fetches the authorization
/// URL and follows the redirect to Gatehouse's listener, on a thread of its
/// own (the listener runs on the caller's event loop).
pub fn auto_consent() -> Browser {
    Browser::Function(Arc::new(|url: &str| {
        let url = url.to_string();
        std::thread::spawn(move || follow(&url));
        Ok(())
    }))
}

/// GETs `url` and follows redirects (at most five), like a browser.
pub fn follow(url: &str) {
    let mut url = url.to_string();
    for _ in 0..5 {
        match get(&url) {
            Some((status, Some(location))) if (300..400).contains(&status) => url = location,
            _ => return,
        }
    }
}

/// One plain HTTP/1.1 GET: the status and the `Location` header.
fn get(url: &str) -> Option<(u16, Option<String>)> {
    let parsed = url::Url::parse(url).ok()?;
    let addr = format!("{}:{}", parsed.host_str()?, parsed.port_or_known_default()?);
    let mut stream = TcpStream::connect(addr).ok()?;
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        parsed.host_str()?
    )
    .ok()?;
    // Only the head matters; the server may keep the connection open.
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line.trim_end().is_empty() {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    let mut lines = head.iter().map(String::as_str);
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let location = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    Some((status, location))
}
