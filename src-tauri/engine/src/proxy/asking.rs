//! Calls waiting for the person: each asks the app's broker on its own
//! task, so the connection goes on meanwhile, and then goes to the server
//! or is refused with the reason (denied, timed out, nobody to ask).

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::Mutex as AsyncMutex;
use tokio::sync::mpsc::UnboundedReceiver;

use super::admission::Asking;
use super::message::{INTERNAL_ERROR, IdKey};
use super::relay::Outbox;
use super::{ApprovalsConfig, Proxy};
use crate::approvals::{self, ApprovalOutcome, AskError};

/// How long a proxy waits for the app it started to open its socket (within
/// the call's own timeout).
const APP_START: Duration = Duration::from_secs(15);

/// A call held for approval: the line to forward if allowed.
pub(super) struct Waiting {
    pub line: Vec<u8>,
    pub id: Option<IdKey>,
    pub asking: Asking,
}

impl Proxy {
    /// Runs every approval this connection waits for, concurrently, and
    /// settles each as its answer comes. Never returns: the relay stops
    /// polling it when the client leaves (and the waits are dropped, which
    /// withdraws them from the app).
    pub(super) async fn run_approvals<W, UW>(
        &self,
        mut waiting: UnboundedReceiver<Waiting>,
        upstream: &AsyncMutex<Option<BufWriter<UW>>>,
        out: &Outbox<W>,
    ) where
        W: AsyncWrite + Unpin,
        UW: AsyncWrite + Unpin,
    {
        let mut tasks = tokio::task::JoinSet::new();
        let mut open = true;
        loop {
            tokio::select! {
                job = waiting.recv(), if open => match (job, self.cfg.approvals.clone()) {
                    (Some(job), Some(cfg)) => {
                        tasks.spawn(async move {
                            let result = ask_person(&cfg, &job.asking.request).await;
                            (job, result)
                        });
                    }
                    (Some(job), None) => {
                        let result = Err(AskError::Unavailable("this proxy has no way to ask".into()));
                        self.settle(job, result, upstream, out).await;
                    }
                    (None, _) => open = false,
                },
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok((job, result)) = done {
                        self.settle(job, result, upstream, out).await;
                    }
                }
                else => std::future::pending::<()>().await,
            }
        }
    }

    /// Forwards an allowed call, or answers it with the refusal.
    async fn settle<W, UW>(
        &self,
        job: Waiting,
        result: Result<ApprovalOutcome, AskError>,
        upstream: &AsyncMutex<Option<BufWriter<UW>>>,
        out: &Outbox<W>,
    ) where
        W: AsyncWrite + Unpin,
        UW: AsyncWrite + Unpin,
    {
        let Waiting { line, id, asking } = job;
        let (request, mut call) = (asking.request, asking.call);
        let waited = call.received.elapsed().as_secs_f64();
        let server = &self.cfg.server;
        let tool = &request.tool;
        let why = request
            .detail
            .clone()
            .unwrap_or_else(|| format!("asked by {}", request.rule));
        let to_allow = format!(
            "To allow it without asking, run `gatehouse policy set {server} {tool} allow` or change it on the server's page in the Gatehouse app."
        );
        let refusal = match result {
            Ok(outcome) if outcome.answer.allows() => match self.approved(tool, &outcome.answer) {
                Ok(()) => {
                    call.approval = Some(format!(
                        "{} {} after {waited:.1} s",
                        outcome.answer.describe(),
                        outcome.by.describe()
                    ));
                    None
                }
                Err(rate) => Some(rate),
            },
            Ok(outcome) => Some(format!(
                "Gatehouse refused this call: the person denied it {} after {waited:.1} s ({why}). Nothing was sent to the server.",
                outcome.by.describe()
            )),
            Err(AskError::TimedOut(limit)) => Some(format!(
                "Gatehouse refused this call: it needed the person's approval ({why}), and nobody answered within {} s, so it timed out. Nothing was sent to the server. {to_allow}",
                limit.as_secs()
            )),
            Err(e) => Some(format!(
                "Gatehouse refused this call: it needs the person's approval ({why}), but {e}. Nothing was sent to the server. Open the Gatehouse app to approve calls as they come, or approve ahead: {to_allow}"
            )),
        };
        if let Some(reason) = refusal {
            self.deny_call(out, id.as_ref(), call, reason).await;
            return;
        }
        let down = {
            let mut state = self.state();
            match state.upstream_down.clone() {
                Some(down) => Some((down, call)),
                None => {
                    if let Some(id) = &id {
                        state.pending.insert(id.clone(), call);
                    }
                    None
                }
            }
        };
        if let Some((down, call)) = down {
            self.refuse(out, id.as_ref(), INTERNAL_ERROR, call, &down)
                .await;
            return;
        }
        let mut writer = upstream.lock().await;
        if let Some(w) = writer.as_mut() {
            let sent = async {
                w.write_all(&line).await?;
                w.write_all(b"\n").await?;
                w.flush().await
            }
            .await;
            if let Err(e) = sent {
                *writer = None;
                self.upstream_gone(&format!("the server stopped reading its input ({e})"));
            }
        }
    }
}

/// Asks the broker; if no app is running, starts it in the background and
/// asks once its socket answers. Every wait is bounded by the call's
/// timeout, and a missing app is reported at once.
pub(super) async fn ask_person(
    cfg: &ApprovalsConfig,
    request: &approvals::ApprovalRequest,
) -> Result<ApprovalOutcome, AskError> {
    let started = Instant::now();
    let why = match approvals::ask(&cfg.socket, request, cfg.timeout).await {
        Err(AskError::Unavailable(why)) => why,
        other => return other,
    };
    let Some(app) = &cfg.app else {
        return Err(AskError::Unavailable(why));
    };
    start_app(app).map_err(|e| {
        AskError::Unavailable(format!(
            "the app is not running and starting {} failed: {e}",
            app.display()
        ))
    })?;
    let budget = cfg.timeout.min(APP_START);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let left = cfg.timeout.saturating_sub(started.elapsed());
        match approvals::ask(&cfg.socket, request, left).await {
            Err(AskError::Unavailable(_)) if started.elapsed() < budget => continue,
            Err(AskError::Unavailable(_)) => {
                return Err(AskError::Unavailable(format!(
                    "the app was started but did not open {} within {} s",
                    cfg.socket.display(),
                    budget.as_secs()
                )));
            }
            other => return other,
        }
    }
}

/// Starts the desktop app in the background (tray only), detached from
/// this proxy's process group so the client's signals do not reach it.
fn start_app(app: &Path) -> std::io::Result<()> {
    let mut command = std::process::Command::new(app);
    command
        .arg("--background")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    // Reaped when it exits, so it never lingers as a zombie of this proxy.
    std::thread::spawn(move || child.wait());
    Ok(())
}
