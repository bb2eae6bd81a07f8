//! Remote MCP servers: the bridge between the proxy's newline-delimited
//! pipes and a server reached over HTTP.
//!
//! The proxy ([`crate::proxy::Session`]) treats a remote server like a
//! child process: it writes the client's messages as lines and reads the
//! server's as lines. [`connect`] gives it those two pipes and runs the
//! bridge behind them, which speaks, as the server understands it:
//!
//! - Streamable HTTP of the 2025-03-26 to 2025-11-25 revisions: a POST per
//!   message, answered with JSON or an SSE stream; `Mcp-Session-Id` from
//!   `initialize`; `MCP-Protocol-Version`; a GET stream for what the server
//!   sends on its own; resumption with `Last-Event-ID` when a stream breaks;
//!   a fresh `initialize` when the session expired (404); DELETE at the end.
//! - The stateless 2026-07-28 revision, when the client speaks it: no
//!   session; `Mcp-Method` and `Mcp-Name` mirrored into headers;
//!   `subscriptions/listen` as a long stream; and, when an older server
//!   answers 400 without a modern error, an `initialize` of its own before
//!   the request is sent again.
//! - The HTTP+SSE transport of 2024-11-05, for servers that answer the
//!   first POST with 400, 404 or 405 and a GET with an `endpoint` event.
//!
//! Whatever fails is answered to the client as a JSON-RPC error naming the
//! server, the URL and the reason: an unreachable server, an HTTP error, a
//! stream that broke and could not be resumed, a timeout.

pub mod auth;
mod bridge;
mod headers;
mod http;
mod legacy;
pub(crate) mod params;
pub mod sse;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::DuplexStream;
use tokio::task::JoinHandle;

use crate::{Error, Result, SecretStore, SecretValue, Server, Store, Transport};

pub use auth::{Authorizer, NoAuth};
pub(crate) use headers::unmirrored;

/// How long a request may wait for its answer unless the store's
/// `remote.timeout_secs` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The setting holding the timeout, in seconds.
pub const TIMEOUT_SETTING: &str = "remote.timeout_secs";

/// The setting holding how long, in microseconds, the bridge polls for a
/// quick server's answer before it blocks (0: never polls); see
/// `crate::brisk`. `GATEHOUSE_REMOTE_POLL_MICROS` overrides it.
pub const POLL_SETTING: &str = "remote.poll_micros";

/// The variable that overrides [`POLL_SETTING`].
pub const POLL_ENV: &str = "GATEHOUSE_REMOTE_POLL_MICROS";

/// The largest message accepted from the server.
const MAX_MESSAGE_BYTES: usize = crate::proxy::DEFAULT_MAX_MESSAGE_BYTES;

/// A running bridge: the proxy reads the server's messages from `reader`
/// and writes the client's to `writer`, one JSON-RPC message per line.
pub struct Link {
    /// The server's messages, as lines.
    pub reader: DuplexStream,
    /// The client's messages, as lines.
    pub writer: DuplexStream,
    /// Secret values sent to the server (header values): redacted from the
    /// audit log.
    pub secrets: Vec<SecretValue>,
    /// The bridge; it ends once `writer` is closed and its session ended.
    pub task: JoinHandle<()>,
}

/// How a bridge behaves beyond the server's own settings.
#[derive(Clone)]
pub struct Options {
    /// How long a request waits for its answer (`subscriptions/listen`
    /// streams excepted).
    pub timeout: Duration,
    /// Where the `Authorization` header comes from when the server's
    /// headers do not set one.
    pub authorizer: Arc<dyn Authorizer>,
    /// How long a request to a quick server is polled for before the
    /// bridge blocks; zero never polls.
    pub poll: Duration,
}

impl Options {
    /// The store's settings for a bridge to `server`.
    pub fn for_server(store: &Store, server: &Server, secrets: Arc<dyn SecretStore>) -> Self {
        let timeout = store
            .setting(TIMEOUT_SETTING)
            .ok()
            .flatten()
            .and_then(|secs| secs.parse::<u64>().ok())
            .filter(|secs| *secs > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let poll = crate::brisk::budget(POLL_ENV, store.setting(POLL_SETTING).ok().flatten());
        Self {
            timeout,
            authorizer: authorizer_for(server, secrets),
            poll,
        }
    }
}

/// Where a remote server's authorization comes from: nothing beyond its
/// headers when they carry an `Authorization` of their own.
fn authorizer_for(server: &Server, store: Arc<dyn SecretStore>) -> Arc<dyn Authorizer> {
    let Transport::Http {
        url,
        headers,
        secrets,
    } = &server.transport
    else {
        return Arc::new(NoAuth);
    };
    let has_own = headers
        .keys()
        .chain(secrets)
        .any(|h| h.eq_ignore_ascii_case("authorization"));
    if has_own {
        return Arc::new(NoAuth);
    }
    // OAuth sends a token only once it has one for this URL, and starts
    // discovery and consent only when the server answers 401: a server that
    // needs no authorization never notices it.
    let options = crate::oauth::OAuthOptions::default();
    match crate::oauth::OAuth::new(&server.name, url, store, options) {
        Ok(oauth) => Arc::new(oauth),
        Err(_) => Arc::new(NoAuth),
    }
}

/// Starts the bridge to the remote server `server`, with the store's
/// settings.
pub fn connect(store: &Store, server: &Server, secrets: Arc<dyn SecretStore>) -> Result<Link> {
    let options = Options::for_server(store, server, secrets.clone());
    connect_with(server, secrets.as_ref(), options)
}

/// Starts the bridge to `server` with `options`. Reads the secret headers
/// from `secrets` now; a missing one stops the connection (fail closed).
pub fn connect_with(server: &Server, secrets: &dyn SecretStore, options: Options) -> Result<Link> {
    let Transport::Http {
        url,
        headers,
        secrets: secret_headers,
    } = &server.transport
    else {
        return Err(Error::InvalidSpec(format!(
            "'{}' runs a local command, not a remote server",
            server.name
        )));
    };
    let url = url::Url::parse(url)
        .map_err(|e| Error::InvalidSpec(format!("{url:?} is not a usable URL: {e}")))?;
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(header_name(name)?, header_value(name, value)?);
    }
    let mut values = Vec::with_capacity(secret_headers.len());
    for name in secret_headers {
        let value = secrets
            .get(&server.name, name)?
            .ok_or_else(|| Error::SecretMissing {
                server: server.name.clone(),
                key: name.clone(),
            })?;
        let mut header = header_value(name, value.expose())?;
        header.set_sensitive(true);
        map.insert(header_name(name)?, header);
        values.push(value);
    }
    let http = http::Client::new();
    let (relay_writer, bridge_reader) = tokio::io::duplex(64 * 1024);
    let (bridge_writer, relay_reader) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(bridge::run(
        bridge::Config {
            server: server.name.as_str().into(),
            url,
            http,
            headers: map,
            timeout: options.timeout,
            auth: options.authorizer,
            poll: options.poll,
        },
        bridge_reader,
        bridge_writer,
    ));
    Ok(Link {
        reader: relay_reader,
        writer: relay_writer,
        secrets: values,
        task,
    })
}

fn header_name(name: &str) -> Result<HeaderName> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::InvalidSpec(format!("{name:?} is not a valid HTTP header name")))
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue> {
    // The value itself is never put in the message: it may be a secret.
    HeaderValue::from_str(value).map_err(|_| {
        Error::InvalidSpec(format!(
            "the value of header {name} has characters a header cannot carry"
        ))
    })
}
