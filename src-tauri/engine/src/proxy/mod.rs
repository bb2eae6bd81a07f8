//! The embedded proxy: MCP between a client and one upstream server.
//!
//! Newline-delimited JSON-RPC flows both ways. Everything Gatehouse does not
//! interpret is relayed byte for byte: unknown methods and fields,
//! notifications, progress, cancellation, and the server's own requests
//! (sampling, elicitation, roots). Interpreted are `initialize` and
//! `server/discover` (who the client is, which protocol), `tools/list`
//! (denied tools are removed), `tools/call` (the policy decides), and their
//! responses. Both protocol styles work: the session style with
//! `initialize`, and the stateless 2026-07-28 style where each request
//! carries its identity in `params._meta`.
//!
//! Every request/response pair becomes an audit record. A response is
//! forwarded only once its record is durable in the proxy's audit spool
//! (one `write`; see `audit::AuditLog`); the database gets the records in
//! batches from a writer thread, off the answer's path.
//!
//! The core ([`Proxy::relay`]) takes any async reader/writer pairs, so tests
//! drive it in-process; `gatehouse run` plugs in stdio and a child process.

mod admission;
mod answers;
mod asking;
mod framing;
pub(crate) mod message;
mod pins;
mod relay;
mod session;
mod upstream;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

pub use framing::{Frame, LineReader};
pub use message::{
    IdKey, Invalid, Kind, META_CLIENT_INFO, META_PROTOCOL_VERSION, META_SUBSCRIPTION_ID, Message,
    scan_id,
};
pub use relay::Upstream;
pub use session::{Session, SessionOptions, UpstreamReader, UpstreamWriter};
pub use upstream::{Launch, LaunchError, launch, launch_verified, log_path};
pub use watch::spawn_policy_watcher;

use crate::PolicySnapshot;
use crate::audit::AuditLog;

/// The default largest message, either way: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// How long a server gets to exit after its client leaves.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The policy a proxy decides with. `Err` holds why the store could not be
/// read: every call is then refused (fail closed) until it can.
pub type PolicyState = std::result::Result<PolicySnapshot, String>;

/// Settings of one proxy.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The registered server's name.
    pub server: Arc<str>,
    /// This proxy's session id, recorded with each audit record.
    pub session: Arc<str>,
    /// The largest message accepted from either side.
    pub max_message_bytes: usize,
    /// How long the upstream gets to finish after the client leaves.
    pub shutdown_grace: Duration,
    /// Where the server's stderr goes, for error messages.
    pub log_hint: String,
    /// The store's database, where rate limits are counted (opened on the
    /// first rate-limited call). Without one, rate-limited calls are
    /// refused.
    pub database: Option<std::path::PathBuf>,
    /// Where to ask the person about calls the policy asks about. Without
    /// it, such calls are refused.
    pub approvals: Option<ApprovalsConfig>,
    /// Tool results longer than this many bytes are recorded as a preview
    /// of this length with the whole result's SHA-256 (the store's
    /// `audit.preview_bytes`).
    pub result_preview_bytes: usize,
    /// Who the client is, when the transport knows (the gateway's
    /// per-client token): recorded instead of the client's own
    /// `clientInfo.name`, which any client may set as it likes.
    pub client: Option<Arc<str>>,
}

/// How a proxy asks the person.
#[derive(Debug, Clone)]
pub struct ApprovalsConfig {
    /// The broker's socket (see `approvals::socket_path`).
    pub socket: std::path::PathBuf,
    /// How long a call waits for an answer before it is denied.
    pub timeout: Duration,
    /// The desktop app, started in the background when no broker answers.
    pub app: Option<std::path::PathBuf>,
}

impl ProxyConfig {
    /// Defaults for `server`, with a fresh session id.
    pub fn new(server: &str) -> Self {
        Self {
            server: Arc::from(server),
            session: Arc::from(new_session_id()),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            log_hint: String::new(),
            database: None,
            result_preview_bytes: crate::audit::DEFAULT_PREVIEW_BYTES,
            approvals: None,
            client: None,
        }
    }
}

fn new_session_id() -> String {
    format!("{:x}-{:x}", std::process::id(), crate::now_micros())
}

/// One proxy: configuration, policy, audit, and per-connection state.
pub struct Proxy {
    cfg: ProxyConfig,
    policy: Arc<ArcSwap<PolicyState>>,
    audit: AuditLog,
    state: Mutex<State>,
}

/// What the proxy has learned about the connection.
#[derive(Default)]
struct State {
    client: Option<Arc<str>>,
    protocol: Option<String>,
    /// The client used `initialize`: send plain list_changed notifications.
    session_style: bool,
    /// `subscriptions/listen` streams that asked for tool list changes.
    tool_listeners: Vec<IdKey>,
    /// Requests from the client awaiting the server's answer.
    pending: HashMap<IdKey, Call>,
    /// Why the server cannot answer any more (exited, failed to start).
    upstream_down: Option<String>,
    /// A call to a tool that reads private data was let through: later
    /// calls to tools that send data out ask first (the flow rule).
    read_private: bool,
    /// The store rate limits are counted in, once a limit applied.
    rates: Option<crate::Store>,
    /// A hash of the last `tools/list` result recorded in the store.
    tools_hash: Option<u64>,
    /// The pin check of `tools/list` results, remembering the last one.
    pins: crate::pins::PinChecker,
    /// What the pin check made of the last listing: calls are judged by it.
    listing: Option<Arc<crate::pins::ListingCheck>>,
    /// Tools the person allowed "for this session".
    session_allowed: std::collections::HashSet<String>,
    /// Approval requests made so far, for their ids.
    approvals_asked: u64,
}

/// What the audit record of one client message starts from: the request
/// as it arrived (or what could be told of an unusable message).
struct Call {
    method: Option<String>,
    tool: Option<String>,
    /// The raw JSON of `params.arguments`; redacted when recorded.
    arguments: Option<String>,
    /// Wall-clock time of arrival, in microseconds since the epoch.
    time: i64,
    /// Monotonic time of arrival, for the latency.
    received: Instant,
    /// How the person answered, when the call was asked about: recorded
    /// with its outcome.
    approval: Option<String>,
}

impl Call {
    /// A message that arrived at `time`/`received`, not yet understood.
    fn arrived(time: i64, received: Instant) -> Self {
        Self {
            method: None,
            tool: None,
            arguments: None,
            time,
            received,
            approval: None,
        }
    }
}

impl Proxy {
    /// A proxy deciding with `policy` and recording to `audit`.
    pub fn new(cfg: ProxyConfig, policy: Arc<ArcSwap<PolicyState>>, audit: AuditLog) -> Arc<Self> {
        let client = cfg.client.clone();
        Arc::new(Self {
            cfg,
            policy,
            state: Mutex::new(State {
                client,
                ..State::default()
            }),
            audit,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stored definition of the server's tool `tool` (from its last
    /// listing through any session), if the policy snapshot has one.
    pub(crate) fn tool_definition(&self, tool: &str) -> Option<serde_json::Value> {
        match &**self.policy.load() {
            Ok(snapshot) => snapshot.definition(tool).cloned(),
            Err(_) => None,
        }
    }

    /// Whether the server has stopped (or never started): every request is
    /// answered with the reason from then on.
    pub(crate) fn upstream_down(&self) -> bool {
        self.state().upstream_down.is_some()
    }

    /// The client's name, once it said it.
    pub fn client_name(&self) -> Option<Arc<str>> {
        self.state().client.clone()
    }

    /// Where this proxy's records go.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The protocol version in use, once known.
    pub fn protocol_version(&self) -> Option<String> {
        self.state().protocol.clone()
    }
}
