//! One proxied connection from start to end, whatever carries it: the
//! store opened, the policy loaded and watched, the audit spool created,
//! the upstream started (a child process, or the bridge to a remote
//! server), the relay run, and everything closed in order.
//!
//! `gatehouse run` hands it stdin and stdout; the HTTP gateway hands it the
//! pipes of one gateway session. Both therefore share one policy, pin,
//! approval and audit path: the transport ends at the pipes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;

use super::{ApprovalsConfig, Proxy, ProxyConfig, Upstream, log_path};
use crate::audit::{self, AuditLog, AuditWriter, redact::Redactor};
use crate::{DataDir, SecretStore, SecretValue, Store, Transport, approvals, install};

/// The server's end of the relay, whatever it is.
pub type UpstreamReader = Box<dyn AsyncRead + Unpin + Send>;
/// The server's input, whatever it is.
pub type UpstreamWriter = Box<dyn AsyncWrite + Unpin + Send>;

/// How a session is set up beyond the server's name.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// The largest message either way; the default when `None`.
    pub max_message_bytes: Option<usize>,
    /// Who the client is, when the transport knows it better than the
    /// client's own `clientInfo` (the gateway's per-client token).
    pub client: Option<Arc<str>>,
    /// The desktop app to start when a call needs approval and none runs.
    pub app: Option<PathBuf>,
}

/// A proxied connection, ready to serve.
pub struct Session {
    dir: DataDir,
    proxy: Arc<Proxy>,
    upstream: Result<Upstream<UpstreamReader, UpstreamWriter>, String>,
    running: Running,
    changed: Arc<Notify>,
}

/// What has to be stopped once the client has gone.
enum Running {
    Nothing,
    Child(tokio::process::Child),
    Remote(tokio::task::JoinHandle<()>),
}

impl Session {
    /// Opens everything a connection to the registered server `name`
    /// needs. Never fails: what cannot be opened becomes the reason every
    /// request is answered with (fail closed, and say why).
    pub async fn open(
        dir: &DataDir,
        name: &str,
        options: SessionOptions,
        secrets: Arc<dyn SecretStore>,
    ) -> Session {
        let mut cfg = ProxyConfig::new(name);
        if let Some(max) = options.max_message_bytes {
            cfg.max_message_bytes = max;
        }
        cfg.client = options.client;
        cfg.log_hint = log_path(dir, name).display().to_string();
        cfg.database = Some(dir.database());
        let changed = Arc::new(Notify::new());

        let mut store = match Store::open(dir) {
            Ok(store) => store,
            Err(e) => {
                // No store, no policy and no audit: start nothing.
                let reason = format!("{}: {e}", dir.database().display());
                eprintln!("gatehouse: cannot open the database {reason}");
                let policy = Arc::new(ArcSwap::from_pointee(Err(reason.clone())));
                let proxy = Proxy::new(cfg, policy, AuditLog::unavailable(reason.as_str()));
                return Session {
                    dir: dir.clone(),
                    proxy,
                    upstream: Err(reason),
                    running: Running::Nothing,
                    changed,
                };
            }
        };
        cfg.approvals = Some(ApprovalsConfig {
            socket: approvals::socket_path(dir.root()),
            // A timeout that cannot be read is the default: the wait stays
            // bounded either way.
            timeout: store
                .approval_timeout()
                .unwrap_or(approvals::DEFAULT_TIMEOUT),
            app: options.app,
        });
        if let Ok(retention) = store.audit_retention() {
            cfg.result_preview_bytes = retention.preview_bytes;
        }
        // Records of proxies that died before their writer stored them.
        if let Err(e) = audit::recover_spools(dir, &mut store) {
            eprintln!("gatehouse: could not import earlier audit records yet: {e}");
        }
        let policy = Arc::new(ArcSwap::from_pointee(
            store.policy_snapshot(name).map_err(|e| e.to_string()),
        ));

        let (upstream, running, secret_values, mismatch) =
            start_upstream(dir, &store, name, secrets).await;
        let writer = match AuditWriter::spawn(&dir.database(), None) {
            Ok(writer) => Some(writer),
            Err(e) => {
                eprintln!("gatehouse: cannot start the audit writer: {e}");
                None
            }
        };
        let session = cfg.session.clone();
        let audit = match writer.map(|w| {
            AuditLog::open(dir, &session, w, Redactor::new(secret_values))
                .map_err(|e| e.to_string())
        }) {
            Some(Ok(audit)) => audit,
            Some(Err(e)) => {
                eprintln!("gatehouse: cannot create the audit spool: {e}");
                AuditLog::unavailable(format!("cannot create its audit spool: {e}"))
            }
            None => AuditLog::unavailable("cannot start its audit writer"),
        };
        if let Some(why) = mismatch {
            let record = install::mismatch_record(session.clone(), name.into(), why);
            if let Err(e) = audit.record(record) {
                eprintln!("gatehouse: could not audit the refused launch: {e}");
            }
        }
        // Closed only now: the last connection to close checkpoints and
        // removes the WAL, which the writer would then recreate.
        drop(store);
        super::spawn_policy_watcher(
            dir.database(),
            name.to_string(),
            policy.clone(),
            changed.clone(),
        );
        Session {
            dir: dir.clone(),
            proxy: Proxy::new(cfg, policy, audit),
            upstream,
            running,
            changed,
        }
    }

    /// The proxy, for its client name and protocol once known.
    pub fn proxy(&self) -> &Arc<Proxy> {
        &self.proxy
    }

    /// Relays between the client and the server until the client closes
    /// its input, then stores the last audit records and stops the server.
    pub async fn serve<CR, CW>(self, client_in: CR, client_out: CW)
    where
        CR: AsyncRead + Unpin,
        CW: AsyncWrite + Unpin,
    {
        let Session {
            dir,
            proxy,
            upstream,
            running,
            changed,
        } = self;
        proxy.relay(client_in, client_out, upstream, changed).await;
        proxy.audit().finish(&dir.database()).await;
        match running {
            Running::Nothing => {}
            Running::Child(child) => shut_down(child).await,
            // The bridge ends its remote session (DELETE) when its input
            // closes, which the relay did; it gets a moment to do so.
            Running::Remote(task) => {
                let _ = tokio::time::timeout(super::DEFAULT_SHUTDOWN_GRACE, task).await;
            }
        }
    }
}

type Started = (
    Result<Upstream<UpstreamReader, UpstreamWriter>, String>,
    Running,
    Vec<SecretValue>,
    Option<String>,
);

/// Starts the server: a verified child process, or the bridge to a remote
/// server. Returns the upstream (or why there is none), what to stop
/// later, the secret values to redact, and a checksum mismatch to audit.
async fn start_upstream(
    dir: &DataDir,
    store: &Store,
    name: &str,
    secrets: Arc<dyn SecretStore>,
) -> Started {
    let failed = |e: &dyn std::fmt::Display| {
        let reason = format!("Gatehouse could not start the server '{name}': {e}");
        eprintln!("gatehouse: {reason}");
        reason
    };
    let server = match store.server(name) {
        Ok(server) => server,
        Err(e) => return (Err(failed(&e)), Running::Nothing, Vec::new(), None),
    };
    if let Transport::Http { .. } = server.transport {
        return match crate::remote::connect(store, &server, secrets) {
            Ok(link) => (
                Ok(Upstream {
                    reader: Box::new(link.reader) as UpstreamReader,
                    writer: Box::new(link.writer) as UpstreamWriter,
                }),
                Running::Remote(link.task),
                link.secrets,
                None,
            ),
            Err(e) => (Err(failed(&e)), Running::Nothing, Vec::new(), None),
        };
    }
    // An installed package is re-hashed before it starts; one whose files
    // changed is refused, and the refusal is audited.
    match super::launch_verified(dir, store, name, secrets.as_ref()) {
        Ok(l) => (
            Ok(Upstream {
                reader: Box::new(l.stdout) as UpstreamReader,
                writer: Box::new(l.stdin) as UpstreamWriter,
            }),
            Running::Child(l.child),
            l.secrets,
            None,
        ),
        Err(e) => {
            let reason = failed(&e);
            let mismatch = match e {
                super::LaunchError::ChecksumMismatch(why) => Some(why),
                super::LaunchError::Failed(_) => None,
            };
            (Err(reason), Running::Nothing, Vec::new(), mismatch)
        }
    }
}

/// The client has gone and the server's stdin is closed: give it a moment
/// to exit, then terminate it, then kill it. One `wait` future runs through
/// all three steps: it is never dropped and restarted half-way.
async fn shut_down(mut child: tokio::process::Child) {
    const GRACE: Duration = Duration::from_secs(2);
    let pid = child.id();
    let exited = child.wait();
    tokio::pin!(exited);
    if tokio::time::timeout(GRACE, &mut exited).await.is_ok() {
        return;
    }
    #[cfg(unix)]
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        if let Some(pid) = pid {
            // SAFETY: kill(2) on our own child, not yet reaped (its wait
            // is still pending), with a valid signal number.
            unsafe { libc::kill(pid as libc::pid_t, signal) };
        }
        if tokio::time::timeout(GRACE, &mut exited).await.is_ok() {
            return;
        }
    }
    eprintln!("gatehouse: the server did not exit after SIGKILL; leaving it");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway runs sessions on a multi-threaded runtime.
    #[test]
    fn a_session_can_be_served_on_any_thread() {
        fn send<T: Send>(_: &T) {}
        let dir = tempfile::tempdir().unwrap();
        let dir = DataDir::at(dir.path()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let session = runtime.block_on(Session::open(
            &dir,
            "absent",
            SessionOptions::default(),
            Arc::new(crate::MemorySecrets::default()),
        ));
        let serving = session.serve(tokio::io::empty(), tokio::io::sink());
        send(&serving);
    }
}
