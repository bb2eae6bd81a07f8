//! The bridge's HTTP/1.1 client: hyper's connection API over kept-alive
//! connections, with TLS from rustls and the platform's trust store.
//!
//! It does what the bridge needs and nothing on the way of a call: no
//! URL parsed again per request or response, no proxy lookup, no header
//! map copied. Requests take a connection of the same origin that is ready
//! (one whose last response was read to its end), else open one; an event
//! stream keeps its connection until it ends. Redirects are followed only
//! within the server's origin, where its headers (credentials) may go: 307
//! and 308 for any request, 301, 302 and 303 for a GET.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::Url;

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// An idle connection older than this is closed rather than reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections kept for reuse.
const MAX_IDLE: usize = 8;
/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// A client; clones share their connections.
#[derive(Clone)]
pub(super) struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    user_agent: HeaderValue,
    /// Trusted besides the platform's roots (tests).
    extra_roots: Vec<CertificateDer<'static>>,
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
    pool: Mutex<Vec<Pooled>>,
}

struct Pooled {
    origin: Origin,
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: url::Host<String>,
    port: u16,
}

impl Origin {
    fn of(url: &Url) -> Result<Origin, Error> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(Error::new(
                    Kind::Url,
                    format!("unsupported scheme {other:?}"),
                ));
            }
        };
        let host = url
            .host()
            .ok_or_else(|| Error::new(Kind::Url, "the URL has no host"))?
            .to_owned();
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok(Origin { https, host, port })
    }
}

impl Client {
    pub(super) fn new() -> Client {
        Self::with_roots(Vec::new())
    }

    /// A client that also trusts `roots`.
    pub(super) fn with_roots(roots: Vec<CertificateDer<'static>>) -> Client {
        Client {
            inner: Arc::new(Inner {
                user_agent: HeaderValue::from_static(concat!(
                    "gatehouse/",
                    env!("CARGO_PKG_VERSION")
                )),
                extra_roots: roots,
                tls: OnceLock::new(),
                pool: Mutex::new(Vec::new()),
            }),
        }
    }

    pub(super) fn get(&self, url: Url) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub(super) fn post(&self, url: Url) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    pub(super) fn delete(&self, url: Url) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            url,
            headers: HeaderMap::with_capacity(8),
            body: Bytes::new(),
            timeout: None,
            invalid: None,
        }
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Vec<Pooled>> {
        self.inner.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends, following redirects within the origin.
    async fn execute(
        &self,
        mut method: Method,
        mut url: Url,
        headers: HeaderMap,
        mut body: Bytes,
    ) -> Result<Response, Error> {
        let mut redirects = 0;
        loop {
            let response = self
                .send_once(&method, &url, &headers, body.clone())
                .await?;
            if redirects == MAX_REDIRECTS {
                return Ok(response);
            }
            let Some((next_method, next_url)) = redirect(&method, &url, &response) else {
                return Ok(response);
            };
            if next_method != method {
                body = Bytes::new();
            }
            (method, url) = (next_method, next_url);
            redirects += 1;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Response, Error> {
        let origin = Origin::of(url)?;
        let (mut sender, reused) = match self.checkout(&origin) {
            Some(sender) => (sender, true),
            None => (self.connect(&origin).await?, false),
        };
        let request = build(method, url, headers, &self.inner.user_agent, body.clone())?;
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            // The kept-alive connection closed before the request went
            // out: nothing was sent, so a new connection may carry it.
            Err(e) if reused && e.is_canceled() => {
                sender = self.connect(&origin).await?;
                let request = build(method, url, headers, &self.inner.user_agent, body)?;
                sender.send_request(request).await.map_err(Error::send)?
            }
            Err(e) => return Err(Error::send(e)),
        };
        self.checkin(origin, sender);
        Ok(Response { inner: response })
    }

    /// A connection to `origin` that is ready for a request.
    fn checkout(&self, origin: &Origin) -> Option<SendRequest<Full<Bytes>>> {
        let mut pool = self.pool();
        pool.retain(|p| !p.sender.is_closed() && p.since.elapsed() < IDLE_TIMEOUT);
        let at = pool
            .iter()
            .position(|p| p.origin == *origin && p.sender.is_ready())?;
        Some(pool.swap_remove(at).sender)
    }

    /// Keeps a connection for the next request: it is ready again once its
    /// response has been read.
    fn checkin(&self, origin: Origin, sender: SendRequest<Full<Bytes>>) {
        let mut pool = self.pool();
        if pool.len() < MAX_IDLE {
            pool.push(Pooled {
                origin,
                sender,
                since: Instant::now(),
            });
        }
    }

    async fn connect(&self, origin: &Origin) -> Result<SendRequest<Full<Bytes>>, Error> {
        let connecting = async {
            let tcp = match &origin.host {
                url::Host::Domain(name) => TcpStream::connect((name.as_str(), origin.port)).await,
                url::Host::Ipv4(ip) => {
                    TcpStream::connect(SocketAddr::from((*ip, origin.port))).await
                }
                url::Host::Ipv6(ip) => {
                    TcpStream::connect(SocketAddr::from((*ip, origin.port))).await
                }
            }
            .map_err(|e| Error::new(Kind::Connect, e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            if !origin.https {
                return handshake(tcp).await;
            }
            let name = match &origin.host {
                url::Host::Domain(name) => ServerName::try_from(name.clone())
                    .map_err(|e| Error::new(Kind::Url, e.to_string()))?,
                url::Host::Ipv4(ip) => ServerName::IpAddress((*ip).into()),
                url::Host::Ipv6(ip) => ServerName::IpAddress((*ip).into()),
            };
            let tls = tokio_rustls::TlsConnector::from(self.tls()?)
                .connect(name, tcp)
                .await
                .map_err(|e| Error::new(Kind::Tls, e.to_string()))?;
            handshake(tls).await
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| Error::new(Kind::Timeout, "connecting timed out"))?
    }

    /// The TLS settings: the platform's trust store, through the same
    /// verifier the registry's client uses.
    fn tls(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        self.inner
            .tls
            .get_or_init(|| {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
                    self.inner.extra_roots.iter().cloned(),
                    provider.clone(),
                )
                .map_err(|e| e.to_string())?;
                let mut config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Ok(Arc::new(config))
            })
            .clone()
            .map_err(|e| Error::new(Kind::Tls, format!("cannot set up TLS: {e}")))
    }
}

/// The HTTP/1.1 handshake on `io`; the connection is driven by a task of
/// its own until it closes.
async fn handshake<T>(io: T) -> Result<SendRequest<Full<Bytes>>, Error>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Error::new(Kind::Connect, e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn build(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    user_agent: &HeaderValue,
    body: Bytes,
) -> Result<hyper::Request<Full<Bytes>>, Error> {
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    let uri = Uri::try_from(target).map_err(|e| Error::new(Kind::Url, e.to_string()))?;
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut request = hyper::Request::new(Full::new(body));
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    let map = request.headers_mut();
    map.reserve(headers.len() + 2);
    map.insert(
        header::HOST,
        HeaderValue::try_from(host).map_err(|e| Error::new(Kind::Url, e.to_string()))?,
    );
    map.insert(header::USER_AGENT, user_agent.clone());
    for (name, value) in headers {
        map.insert(name, value.clone());
    }
    Ok(request)
}

/// Where a redirect leads, if it is one to follow.
fn redirect(method: &Method, url: &Url, response: &Response) -> Option<(Method, Url)> {
    let keeps_method = match response.status().as_u16() {
        307 | 308 => true,
        301..=303 => *method == Method::GET,
        _ => return None,
    };
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let next = url.join(location).ok()?;
    if next.origin() != url.origin() {
        return None;
    }
    keeps_method.then(|| (method.clone(), next))
}

/// A request being built; see [`Client::post`].
pub(super) struct RequestBuilder {
    client: Client,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
    timeout: Option<Duration>,
    /// A header that could not be set, reported by `send`.
    invalid: Option<Error>,
}

impl RequestBuilder {
    /// Sets each of `headers`.
    pub(super) fn headers(mut self, headers: &HeaderMap) -> Self {
        for (name, value) in headers {
            self.headers.insert(name, value.clone());
        }
        self
    }

    /// Sets one header.
    pub(super) fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        HeaderValue: TryFrom<V>,
    {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
            }
            _ => {
                self.invalid
                    .get_or_insert_with(|| Error::new(Kind::Url, "a header cannot be sent"));
            }
        }
        self
    }

    pub(super) fn body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// Gives up on the request (connecting, sending, the response's head)
    /// after `limit`.
    pub(super) fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    pub(super) async fn send(self) -> Result<Response, Error> {
        if let Some(invalid) = self.invalid {
            return Err(invalid);
        }
        let sending = self
            .client
            .execute(self.method, self.url, self.headers, self.body);
        match self.timeout {
            None => sending.await,
            Some(limit) => tokio::time::timeout(limit, sending)
                .await
                .map_err(|_| Error::new(Kind::Timeout, "the request timed out"))?,
        }
    }
}

/// A response whose body is read as it comes.
pub(super) struct Response {
    inner: hyper::Response<Incoming>,
}

impl Response {
    pub(super) fn status(&self) -> StatusCode {
        self.inner.status()
    }

    pub(super) fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The next piece of the body; `None` at its end.
    pub(super) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.inner.body_mut().frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(Error::new(Kind::Body, e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                    // Trailers: nothing the bridge reads.
                }
            }
        }
    }
}

/// What went wrong with a request.
#[derive(Debug, Clone)]
pub(super) struct Error {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Url,
    Connect,
    Tls,
    Timeout,
    Send,
    Body,
}

impl Error {
    fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// A failed exchange, with hyper's causes (an IO error, say) spelled
    /// out, each once.
    fn send(e: hyper::Error) -> Error {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Error::new(Kind::Send, message)
    }

    /// Connecting, or the whole request, took too long.
    pub(super) fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            Kind::Url => "invalid request",
            Kind::Connect => "connection failed",
            Kind::Tls => "TLS failed",
            Kind::Timeout => "timed out",
            Kind::Send => "the exchange failed",
            Kind::Body => "reading the body failed",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests;
