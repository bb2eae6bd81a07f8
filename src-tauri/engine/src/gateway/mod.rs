//! The local HTTP gateway: each registered server at
//! `http://127.0.0.1:PORT/mcp/NAME` as MCP Streamable HTTP, for clients
//! that take a URL rather than launch `gatehouse run`.
//!
//! Both protocol eras are served on the same endpoint:
//! - the session style of the 2025-03-26 to 2025-11-25 revisions: POST
//!   `initialize` opens a session (`Mcp-Session-Id`), POSTs answer as JSON
//!   or as an event stream, GET opens the stream of the server's own
//!   messages, DELETE ends the session;
//! - the stateless 2026-07-28 revision: each request carries its protocol
//!   version in `_meta` and its method and name in headers, which must
//!   match the body; `subscriptions/listen` is answered with a long-lived
//!   event stream.
//!
//! Every gateway session is a [`proxy::Session`](crate::proxy::Session) fed
//! through in-memory pipes, exactly what `gatehouse run` feeds through
//! stdin and stdout: one policy, pin, approval and audit path for both
//! transports. A stateless request goes through one long-lived session per
//! client and server, opened on demand and ended when idle.
//!
//! The gateway listens on 127.0.0.1 only. Every request must carry a
//! client's bearer token (see [`token`]): the client it names is who the
//! audit records. `Host` and `Origin` must be the gateway's own loopback
//! address, which stops web pages that reach it through DNS rebinding.

mod access;
mod body;
mod headers;
mod link;
mod post;
mod registry;
mod reply;
mod request;
mod session;
mod stateless;
mod tokens;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;

pub(crate) use tokens::MIGRATION;
pub use tokens::{
    DEFAULT_PORT, GatewayClient, PORT_SETTING, SECRET_SERVER, revoke, rotate, token,
    validate_client_name,
};

use crate::brisk::{Brisk, Exchange};
use crate::{DataDir, Error, Result, SecretStore};

/// How a gateway runs.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// The largest message a client may POST, and either way through a
    /// session.
    pub max_message_bytes: usize,
    /// The desktop app, started when a call needs approval and none runs
    /// (the app itself passes `None`).
    pub app: Option<PathBuf>,
    /// A session nobody used for this long, with nothing waiting and no
    /// GET stream open, is ended (its client gets 404 and initializes
    /// again).
    pub session_idle: Duration,
    /// The same for a client's shared stateless session.
    pub shared_idle: Duration,
    /// Sessions open at once, in all.
    pub max_sessions: usize,
    /// Sessions one client may have open; opening one more ends its least
    /// recently used.
    pub max_sessions_per_client: usize,
    /// After answering, how long a connection whose client sent its last
    /// request right after the answer before is polled for the next one
    /// (see `crate::brisk`); zero never polls. [`poll_budget`] reads it
    /// from the store.
    pub poll: Duration,
}

/// The setting holding [`GatewayOptions::poll`] in microseconds;
/// `GATEHOUSE_GATEWAY_POLL_MICROS` overrides it.
pub const POLL_SETTING: &str = "gateway.poll_micros";

/// The variable that overrides [`POLL_SETTING`].
pub const POLL_ENV: &str = "GATEHOUSE_GATEWAY_POLL_MICROS";

/// The store's polling budget for a gateway ([`GatewayOptions::poll`]).
pub fn poll_budget(store: &crate::Store) -> Duration {
    crate::brisk::budget(POLL_ENV, store.setting(POLL_SETTING).ok().flatten())
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: crate::proxy::DEFAULT_MAX_MESSAGE_BYTES,
            app: None,
            session_idle: Duration::from_secs(30 * 60),
            shared_idle: Duration::from_secs(5 * 60),
            max_sessions: 256,
            max_sessions_per_client: 32,
            poll: crate::brisk::BUDGET,
        }
    }
}

/// What every request handler shares.
struct Shared {
    dir: DataDir,
    secrets: Arc<dyn SecretStore>,
    options: GatewayOptions,
    /// The port the gateway is bound to, for checking `Host` and `Origin`.
    port: u16,
    tokens: Arc<tokens::TokenTable>,
    sessions: registry::Sessions,
}

/// A gateway bound to its port, ready to serve.
pub struct Gateway {
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

/// Stops a running gateway; cheap to clone.
#[derive(Clone)]
pub struct GatewayHandle {
    stop: watch::Sender<bool>,
    addr: SocketAddr,
}

impl GatewayHandle {
    /// Stops the gateway: it accepts no more connections, ends every
    /// session (their servers stop, their last audit records are stored),
    /// and `serve` returns.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// The address the gateway listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Gateway {
    /// Binds 127.0.0.1:`port` (0: any free port) for the servers of `dir`,
    /// with the default options. `secrets` holds the servers' secrets.
    pub fn bind(dir: &DataDir, port: u16, secrets: Arc<dyn SecretStore>) -> Result<Gateway> {
        Self::bind_with(dir, port, secrets, GatewayOptions::default())
    }

    /// [`Gateway::bind`] with `options`. A port in use is an
    /// [`Error::Io`] whose source is `AddrInUse`.
    pub fn bind_with(
        dir: &DataDir,
        port: u16,
        secrets: Arc<dyn SecretStore>,
        options: GatewayOptions,
    ) -> Result<Gateway> {
        let wanted = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let io = |source| Error::Io {
            path: PathBuf::from(wanted.to_string()),
            source,
        };
        // The tokens are read first: a gateway that cannot check them
        // must not listen at all.
        let tokens = tokens::TokenTable::load(&dir.database())?;
        let listener = TcpListener::bind(wanted).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let port = listener.local_addr().map_err(io)?.port();
        tokens.watch();
        let (stop, _) = watch::channel(false);
        Ok(Gateway {
            listener,
            shared: Arc::new(Shared {
                dir: dir.clone(),
                secrets,
                options,
                port,
                tokens,
                sessions: registry::Sessions::new(),
            }),
            stop,
        })
    }

    /// The address the gateway listens on.
    pub fn local_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.shared.port))
    }

    /// The URL clients use for server `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/mcp/{name}", self.shared.port)
    }

    /// A handle that stops the gateway.
    pub fn handle(&self) -> GatewayHandle {
        GatewayHandle {
            stop: self.stop.clone(),
            addr: self.local_addr(),
        }
    }

    /// Serves until [`GatewayHandle::shutdown`]; then ends every session.
    /// Runs on the current tokio runtime (current-thread or
    /// multi-threaded, with IO and time enabled).
    pub async fn serve(self) -> Result<()> {
        let Gateway {
            listener,
            shared,
            stop,
        } = self;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, shared.port));
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|source| Error::Io {
            path: PathBuf::from(addr.to_string()),
            source,
        })?;
        let mut stopped = stop.subscribe();
        let reaper = tokio::spawn(reap(shared.clone()));
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(connection(shared.clone(), stream, stop.subscribe()));
                    }
                    Err(e) => {
                        // Out of file descriptors, mostly: breathe, go on.
                        eprintln!("gatehouse: gateway: accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = stopping(&mut stopped) => break,
            }
        }
        drop(listener);
        reaper.abort();
        shared.sessions.close_all().await;
        Ok(())
    }

    /// Serves on a runtime of its own on the calling thread, until
    /// [`GatewayHandle::shutdown`]: for a thread that runs nothing else
    /// (the desktop app starts one).
    pub fn run(self) -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: PathBuf::from(self.local_addr().to_string()),
                source,
            })?;
        runtime.block_on(self.serve())
    }
}

/// Serves one connection's requests (HTTP/1.1, kept alive) until it
/// closes or the gateway stops.
async fn connection(
    shared: Arc<Shared>,
    stream: tokio::net::TcpStream,
    mut stopped: watch::Receiver<bool>,
) {
    // The wait for the client's next request, polled while the client is
    // one that sends it right after reading an answer.
    let brisk = Arc::new(Brisk::with_budget(shared.options.poll));
    let next_request: Arc<Mutex<Option<Exchange>>> = Arc::default();
    let service = service_fn(move |request| {
        let shared = shared.clone();
        let (brisk, next_request) = (brisk.clone(), next_request.clone());
        async move {
            let waited = next_request
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(waited) = waited {
                waited.answered();
            }
            let response = request::handle(shared, request).await;
            *next_request.lock().unwrap_or_else(|p| p.into_inner()) = Some(brisk.begin());
            Ok::<_, Infallible>(response)
        }
    });
    let serving = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(serving);
    tokio::select! {
        _ = serving.as_mut() => {}
        _ = stopping(&mut stopped) => {
            serving.as_mut().graceful_shutdown();
            // Open event streams end as their sessions close.
            let _ = tokio::time::timeout(Duration::from_secs(10), serving).await;
        }
    }
}

/// Resolves once the gateway is told to stop.
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Ends idle sessions from time to time.
async fn reap(shared: Arc<Shared>) {
    let shortest = shared.options.session_idle.min(shared.options.shared_idle);
    let tick = (shortest / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    loop {
        tokio::time::sleep(tick).await;
        shared
            .sessions
            .reap(shared.options.session_idle, shared.options.shared_idle)
            .await;
    }
}

#[cfg(test)]
mod tests;
