//! `gatehouse run NAME`: the proxy a client launches. Stdin/stdout speak MCP
//! to the client; the registered server runs as a child process.
//!
//! If the server cannot be started (unknown name, a secret missing from the
//! keychain, a command that does not exist), the proxy still answers: every
//! request gets an error that says why, so the person sees it in their
//! client instead of a silent disconnect.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use gatehouse_engine::audit::{self, AuditLog, AuditWriter, redact::Redactor};
use gatehouse_engine::proxy::{self, Proxy, ProxyConfig, Upstream};
use gatehouse_engine::{DataDir, Keychain, Store};
use gatehouse_engine::{approvals, install};
use tokio::sync::Notify;

pub fn run(name: &str, max_message_bytes: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(name, max_message_bytes))
}

async fn serve(name: &str, max_message_bytes: usize) -> anyhow::Result<()> {
    let dir = DataDir::from_env()?;
    let mut cfg = ProxyConfig::new(name);
    cfg.max_message_bytes = max_message_bytes;
    cfg.log_hint = proxy::log_path(&dir, name).display().to_string();
    cfg.database = Some(dir.database());

    let store = match Store::open(&dir) {
        Ok(store) => store,
        Err(e) => {
            // No store, no policy and no audit: start nothing, and answer
            // every request with the reason rather than leave the client
            // with a silent disconnect.
            let reason = format!("{}: {e}", dir.database().display());
            eprintln!("gatehouse: cannot open the database {reason}");
            let policy = Arc::new(ArcSwap::from_pointee(Err(reason.clone())));
            let proxy = Proxy::new(cfg, policy, AuditLog::unavailable(reason.as_str()));
            let upstream: Result<Upstream<tokio::io::Empty, tokio::io::Sink>, _> = Err(reason);
            proxy
                .relay(
                    tokio::io::stdin(),
                    tokio::io::stdout(),
                    upstream,
                    Arc::new(Notify::new()),
                )
                .await;
            return Ok(());
        }
    };
    let mut store = store;
    cfg.approvals = Some(proxy::ApprovalsConfig {
        socket: approvals::socket_path(dir.root()),
        // A timeout that cannot be read is the default: the wait stays
        // bounded either way.
        timeout: store
            .approval_timeout()
            .unwrap_or(approvals::DEFAULT_TIMEOUT),
        app: desktop_app(),
    });
    if let Ok(retention) = store.audit_retention() {
        cfg.result_preview_bytes = retention.preview_bytes;
    }
    // Retention, for people who never open the app (which applies it
    // hourly): when it is due, on a thread of its own, in small steps.
    if store
        .audit_prune_due(gatehouse_engine::now_micros())
        .unwrap_or(false)
    {
        prune_in_background(&dir);
    }
    // Records of proxies that died before their writer stored them.
    if let Err(e) = audit::recover_spools(&dir, &mut store) {
        eprintln!("gatehouse: could not import earlier audit records yet: {e}");
    }
    let policy = Arc::new(ArcSwap::from_pointee(
        store.policy_snapshot(name).map_err(|e| e.to_string()),
    ));
    // An installed package is re-hashed before it starts; one whose files
    // changed is refused, and the refusal is audited below.
    let launched = proxy::launch_verified(&dir, &store, name, &Keychain);
    let mut mismatch = None;

    let (upstream, child, secrets) = match launched {
        Ok(l) => (
            Ok(Upstream {
                reader: l.stdout,
                writer: l.stdin,
            }),
            Some(l.child),
            l.secrets,
        ),
        Err(e) => {
            let reason = format!("Gatehouse could not start the server '{name}': {e}");
            eprintln!("gatehouse: {reason}");
            if let proxy::LaunchError::ChecksumMismatch(why) = e {
                mismatch = Some(why);
            }
            (Err(reason), None, Vec::new())
        }
    };
    let writer = AuditWriter::spawn(&dir.database(), None)?;
    let session = cfg.session.clone();
    let audit = match AuditLog::open(&dir, &session, writer, Redactor::new(secrets)) {
        Ok(audit) => audit,
        Err(e) => {
            // Fail closed, and say why in every answer.
            eprintln!("gatehouse: cannot create the audit spool: {e}");
            AuditLog::unavailable(format!("cannot create its audit spool: {e}"))
        }
    };
    if let Some(why) = mismatch {
        let record = install::mismatch_record(session.clone(), name.into(), why);
        if let Err(e) = audit.record(record) {
            eprintln!("gatehouse: could not audit the refused launch: {e}");
        }
    }
    // Closed only now: the last connection to close checkpoints and removes
    // the WAL, which the writer would then recreate (four fsyncs before the
    // first answer).
    drop(store);
    let changed = Arc::new(Notify::new());
    proxy::spawn_policy_watcher(
        dir.database(),
        name.to_string(),
        policy.clone(),
        changed.clone(),
    );

    let proxy = Proxy::new(cfg, policy, audit);
    proxy
        .relay(stdio::input(), stdio::output(), upstream, changed)
        .await;
    proxy.audit().finish(&dir.database()).await;

    if let Some(child) = child {
        shut_down(child).await;
    }
    Ok(())
}

/// The desktop app, to start when a call needs approval and no app runs:
/// `$GATEHOUSE_APP` if set (empty: never start one), else `gatehouse-app`
/// beside this binary, as the app's packages install them.
fn desktop_app() -> Option<std::path::PathBuf> {
    if let Some(app) = std::env::var_os("GATEHOUSE_APP") {
        return (!app.is_empty()).then(|| app.into());
    }
    let exe = std::env::current_exe().ok()?;
    let beside = exe.with_file_name(format!("gatehouse-app{}", std::env::consts::EXE_SUFFIX));
    beside.is_file().then_some(beside)
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

/// Stdin and stdout on the event loop. Clients launch the proxy with pipes;
/// tokio's `stdin()`/`stdout()` would hand every read and write to a
/// thread pool, which costs more than the rest of a call. Files and
/// terminals (someone trying the proxy by hand) keep the portable path.
/// Each side is chosen on its own: a pipe is made non-blocking, which only
/// the event loop can read or write.
mod stdio {
    use tokio::io::{AsyncRead, AsyncWrite};

    pub fn input() -> Box<dyn AsyncRead + Unpin> {
        #[cfg(unix)]
        if let Some(pipe) = pipes::stdin() {
            return Box::new(pipe);
        }
        Box::new(tokio::io::stdin())
    }

    pub fn output() -> Box<dyn AsyncWrite + Unpin> {
        #[cfg(unix)]
        if let Some(pipe) = pipes::stdout() {
            return Box::new(pipe);
        }
        Box::new(tokio::io::stdout())
    }

    #[cfg(unix)]
    mod pipes {
        use std::fs::File;
        use std::os::fd::{AsFd, BorrowedFd};

        use tokio::net::unix::pipe;

        /// A duplicate of `fd` if it is a pipe. Checked here: from_file
        /// sets O_NONBLOCK before it refuses a non-pipe, and the blocking
        /// fallback could not use the descriptor after that.
        fn duplicate_pipe(fd: BorrowedFd<'_>) -> Option<File> {
            use std::os::unix::fs::FileTypeExt;
            let file = File::from(fd.try_clone_to_owned().ok()?);
            let is_pipe = file.metadata().ok()?.file_type().is_fifo();
            is_pipe.then_some(file)
        }

        pub fn stdin() -> Option<pipe::Receiver> {
            pipe::Receiver::from_file(duplicate_pipe(std::io::stdin().as_fd())?).ok()
        }

        pub fn stdout() -> Option<pipe::Sender> {
            pipe::Sender::from_file(duplicate_pipe(std::io::stdout().as_fd())?).ok()
        }
    }
}

/// Applies audit retention on a thread, a few thousand records per
/// transaction so this proxy's writer (and other proxies') never wait long.
fn prune_in_background(dir: &DataDir) {
    let dir = dir.clone();
    let _ = std::thread::Builder::new()
        .name("audit-retention".into())
        .spawn(move || {
            let Ok(mut store) = Store::open(&dir) else {
                return;
            };
            let now = gatehouse_engine::now_micros();
            loop {
                match store.audit_prune_some(now, 5_000) {
                    Ok(step) if step.deleted > 0 => {
                        std::thread::sleep(std::time::Duration::from_millis(20))
                    }
                    Ok(_) => return,
                    Err(e) => {
                        eprintln!("gatehouse: applying audit retention failed: {e}");
                        return;
                    }
                }
            }
        });
}
