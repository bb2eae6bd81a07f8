//! The bridge's client against real hyper servers on loopback: connection
//! reuse, event streams on a connection of their own, redirects within the
//! origin only, TLS with a test CA (`tests/fixtures/tls`: `ca.pem` signed
//! `server.pem` for `localhost` and 127.0.0.1), and clear errors.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::service::service_fn;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;

type Handler = Arc<
    dyn Fn(
            hyper::Request<Bytes>,
        ) -> hyper::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>
        + Send
        + Sync,
>;

/// A server on 127.0.0.1 that counts its connections and the requests it
/// was sent.
struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Server {
    async fn start(handler: Handler) -> Server {
        Self::start_with(handler, None).await
    }

    async fn start_with(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
        Self::start_on("127.0.0.1:0", handler, tls).await
    }

    async fn start_on(
        at: &str,
        handler: Handler,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Server {
        let listener = TcpListener::bind(at).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (counted, asked) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                let asked = asked.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<Incoming>| {
                        let handler = handler.clone();
                        asked.fetch_add(1, Ordering::SeqCst);
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            Ok::<_, Infallible>(handler(hyper::Request::from_parts(parts, body)))
                        }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        Server {
            addr,
            connections,
            requests,
        }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }
}

fn full(
    status: u16,
    body: impl Into<Bytes>,
) -> hyper::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
    hyper::Response::builder()
        .status(status)
        .body(Full::new(body.into()).boxed())
        .unwrap()
}

/// Answers each request with its method, path, `x-test` header and body.
fn echo() -> Handler {
    Arc::new(|request| {
        let seen = format!(
            "{} {} {} {}",
            request.method(),
            request.uri(),
            request
                .headers()
                .get("x-test")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-"),
            String::from_utf8_lossy(request.body())
        );
        full(200, seen)
    })
}

async fn text(mut response: Response) -> String {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn sequential_requests_share_one_connection() {
    let server = Server::start(echo()).await;
    let client = Client::new();
    for n in 0..20 {
        let response = client
            .post(server.url("/mcp?x=1"))
            .header("x-test", format!("call {n}"))
            .body(Bytes::from(format!("body {n}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            text(response).await,
            format!("POST /mcp?x=1 call {n} body {n}")
        );
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 20);
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        1,
        "one kept-alive connection"
    );
}

#[tokio::test]
async fn an_open_stream_keeps_its_connection_and_others_open_their_own() {
    let (feed, fed) = mpsc::channel::<Bytes>(4);
    let fed = Arc::new(std::sync::Mutex::new(Some(fed)));
    let handler: Handler = Arc::new(move |request| {
        if request.method() == Method::GET {
            let rx = fed.lock().unwrap().take().expect("one stream");
            return hyper::Response::builder()
                .header("content-type", "text/event-stream")
                .body(Fed(rx).boxed())
                .unwrap();
        }
        full(200, "answer")
    });
    let server = Server::start(handler).await;
    let client = Client::new();
    let mut stream = client.get(server.url("/mcp")).send().await.unwrap();
    feed.send(Bytes::from_static(b"data: one\n\n"))
        .await
        .unwrap();
    assert_eq!(stream.chunk().await.unwrap().unwrap(), "data: one\n\n");

    // The stream is still open: a request meanwhile needs a connection.
    for _ in 0..3 {
        let response = client.post(server.url("/mcp")).send().await.unwrap();
        assert_eq!(text(response).await, "answer");
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);

    feed.send(Bytes::from_static(b"data: two\n\n"))
        .await
        .unwrap();
    assert_eq!(stream.chunk().await.unwrap().unwrap(), "data: two\n\n");
    drop(feed);
    assert!(stream.chunk().await.unwrap().is_none(), "the stream ended");
}

/// A body fed through a channel; it ends when the sender is dropped.
struct Fed(mpsc::Receiver<Bytes>);

impl hyper::body::Body for Fed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|data| data.map(|d| Ok(Frame::data(d))))
    }
}

#[tokio::test]
async fn redirects_are_followed_within_the_origin_only() {
    let elsewhere = Server::start(echo()).await;
    let away = elsewhere.url("/stolen");
    let handler: Handler = Arc::new(move |request| {
        let to = match request.uri().path() {
            "/moved" => Some((307, "/mcp".to_string())),
            "/found" => Some((302, "/mcp".to_string())),
            "/away" => Some((307, away.to_string())),
            _ => None,
        };
        match to {
            Some((status, location)) => hyper::Response::builder()
                .status(status)
                .header("location", location)
                .body(Full::new(Bytes::new()).boxed())
                .unwrap(),
            None => echo()(request),
        }
    });
    let server = Server::start(handler).await;
    let client = Client::new();

    let response = client
        .post(server.url("/moved"))
        .header("x-test", "secret-header")
        .body(Bytes::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        text(response).await,
        "POST /mcp secret-header {}",
        "307 keeps method and body"
    );

    let response = client.get(server.url("/found")).send().await.unwrap();
    assert_eq!(text(response).await, "GET /mcp - ", "a GET follows 302");

    let response = client
        .post(server.url("/found"))
        .body(Bytes::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "a POST is not turned into a GET"
    );

    let response = client
        .post(server.url("/away"))
        .header("x-test", "secret-header")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::TEMPORARY_REDIRECT,
        "another origin is not followed"
    );
    assert_eq!(
        elsewhere.requests.load(Ordering::SeqCst),
        0,
        "nothing went there"
    );
}

#[tokio::test]
async fn a_redirect_loop_ends() {
    let handler: Handler = Arc::new(|_| {
        hyper::Response::builder()
            .status(307)
            .header("location", "/again")
            .body(Full::new(Bytes::new()).boxed())
            .unwrap()
    });
    let server = Server::start(handler).await;
    let response = Client::new().post(server.url("/mcp")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(server.requests.load(Ordering::SeqCst), MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_not_reused() {
    let handler: Handler = Arc::new(|request| {
        let mut response = echo()(request);
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    });
    let server = Server::start(handler).await;
    let client = Client::new();
    for n in 0..3 {
        let response = client
            .post(server.url("/mcp"))
            .body(Bytes::from(n.to_string()))
            .send()
            .await
            .unwrap();
        assert_eq!(text(response).await, format!("POST /mcp - {n}"));
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = Url::parse(&format!("http://{addr}/mcp")).unwrap();
    let error = Client::new().post(url).send().await.err().unwrap();
    assert!(!error.is_timeout());
    assert!(
        error.to_string().starts_with("connection failed"),
        "{error}"
    );
}

#[tokio::test]
async fn the_request_timeout_ends_a_silent_server() {
    // Accepts and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let url = Url::parse(&format!("http://{addr}/mcp")).unwrap();
    let error = Client::new()
        .post(url)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .err()
        .unwrap();
    assert!(error.is_timeout(), "{error}");
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    let chain = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

fn test_ca() -> Vec<CertificateDer<'static>> {
    vec![CertificateDer::from_pem_file(fixture("ca.pem")).unwrap()]
}

#[tokio::test]
async fn https_is_verified_against_the_trusted_roots() {
    let server = Server::start_with(echo(), Some(acceptor())).await;
    let port = server.addr.port();

    let trusting = Client::with_roots(test_ca());
    for host in ["localhost", "127.0.0.1"] {
        let url = Url::parse(&format!("https://{host}:{port}/mcp")).unwrap();
        let response = trusting
            .post(url)
            .body(Bytes::from_static(b"hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(text(response).await, "POST /mcp - hi", "over TLS to {host}");
    }

    // The platform's roots alone do not know the test CA: refused.
    let url = Url::parse(&format!("https://localhost:{port}/mcp")).unwrap();
    let error = Client::new().post(url).send().await.err().unwrap();
    assert!(error.to_string().starts_with("TLS failed"), "{error}");
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        2,
        "the refused one sent nothing"
    );
}

#[tokio::test]
async fn https_refuses_a_certificate_for_another_name() {
    // Loopback answers on 127.0.0.2 too, a name the certificate does not
    // carry (only localhost and 127.0.0.1).
    let server = Server::start_on("127.0.0.2:0", echo(), Some(acceptor())).await;
    let url = Url::parse(&format!("https://127.0.0.2:{}/mcp", server.addr.port())).unwrap();
    let error = Client::with_roots(test_ca()).post(url).send().await;
    match error {
        Err(e) => assert!(e.to_string().starts_with("TLS failed"), "{e}"),
        Ok(_) => panic!("a certificate for another name was accepted"),
    }
}
