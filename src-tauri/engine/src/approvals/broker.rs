//! The approval broker the desktop app runs: the socket, the queue of
//! pending requests, and the answers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

use super::protocol::{self, Answer, ApprovalOutcome, ApprovalRequest, Decider, Reply, Request};
use crate::{Decision, Engine, Error, Result, Store, now_micros};

/// The longest line the broker reads: a request with large arguments is
/// still far below it.
const MAX_LINE: u64 = 1 << 20;

/// What the app does when the queue changes.
pub trait BrokerEvents: Send + Sync {
    /// A request arrived: show it (the popup, a notification). `pending`
    /// is the whole queue, the new request last.
    fn requested(&self, request: &ApprovalRequest, pending: &[ApprovalRequest]);
    /// The queue changed (answered, timed out, withdrawn).
    fn changed(&self, pending: &[ApprovalRequest]);
}

struct Pending {
    request: ApprovalRequest,
    reply: oneshot::Sender<ApprovalOutcome>,
}

/// The approval broker: one per data directory, run by the app.
pub struct Broker {
    socket: PathBuf,
    database: PathBuf,
    #[cfg(unix)]
    listener: Mutex<Option<std::os::unix::net::UnixListener>>,
    pending: Mutex<Vec<Pending>>,
    events: Box<dyn BrokerEvents>,
}

impl Broker {
    /// Binds the socket at `socket` (0600), for the store at `database`.
    /// A socket left by a broker that died is replaced; one a live broker
    /// answers on is not (another app runs on this data directory).
    #[cfg(unix)]
    pub fn bind(
        socket: &Path,
        database: &Path,
        events: Box<dyn BrokerEvents>,
    ) -> Result<Arc<Self>> {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::net::{UnixListener, UnixStream};
        let io = |source: std::io::Error| Error::Io {
            path: socket.to_path_buf(),
            source,
        };
        if socket.exists() {
            if UnixStream::connect(socket).is_ok() {
                return Err(Error::InvalidSpec(format!(
                    "another Gatehouse app already answers approvals on {}",
                    socket.display()
                )));
            }
            std::fs::remove_file(socket).map_err(io)?;
        }
        let listener = UnixListener::bind(socket).map_err(io)?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        Ok(Arc::new(Self {
            socket: socket.to_path_buf(),
            database: database.to_path_buf(),
            listener: Mutex::new(Some(listener)),
            pending: Mutex::new(Vec::new()),
            events,
        }))
    }

    /// The socket it listens on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Serves connections until the runtime stops. Call once, inside a
    /// tokio runtime.
    #[cfg(unix)]
    pub async fn serve(self: Arc<Self>) {
        let Some(listener) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        let listener = match tokio::net::UnixListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("gatehouse: the approval socket cannot be served: {e}");
                return;
            }
        };
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let broker = self.clone();
                    tokio::spawn(async move { broker.handle(stream).await });
                }
                Err(e) => {
                    eprintln!("gatehouse: accepting an approval connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    #[cfg(unix)]
    async fn handle(self: Arc<Self>, stream: tokio::net::UnixStream) {
        let (read, mut write) = stream.into_split();
        let same_user = read
            .as_ref()
            .peer_cred()
            .is_ok_and(|c| c.uid() == current_uid());
        if !same_user {
            let _ = write
                .write_all(error_line("not the same user").as_bytes())
                .await;
            return;
        }
        let mut reader = BufReader::new(read.take(MAX_LINE));
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let reply = match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::Error {
                error: format!("unreadable request: {e}"),
            },
            Ok(Request::List) => Reply::Pending {
                pending: self.pending(),
            },
            Ok(Request::Decide { id, answer }) => match self.decide(&id, answer, Decider::Cli) {
                Ok(outcome) => Reply::Decided(outcome),
                Err(e) => Reply::Error {
                    error: e.to_string(),
                },
            },
            Ok(Request::Ask(request)) => match self.wait(request, &mut reader).await {
                Some(outcome) => Reply::Decided(outcome),
                None => return,
            },
        };
        let _ = write.write_all(protocol::line(&reply).as_bytes()).await;
    }

    /// Queues `request` and waits for its answer, until the asking proxy
    /// leaves or its deadline (plus a second) passes; the request is then
    /// withdrawn from the queue.
    async fn wait<R: AsyncRead + Unpin>(
        &self,
        request: ApprovalRequest,
        from: &mut BufReader<R>,
    ) -> Option<ApprovalOutcome> {
        let id = request.id.clone();
        let deadline = Duration::from_secs(u64::from(request.timeout_secs) + 1);
        let (reply, answered) = oneshot::channel();
        let queue = {
            let mut pending = self.lock();
            if pending.iter().any(|p| p.request.id == id) {
                return None;
            }
            pending.push(Pending {
                request: request.clone(),
                reply,
            });
            requests(&pending)
        };
        self.events.requested(&request, &queue);
        let mut rest = String::new();
        let outcome = tokio::select! {
            outcome = answered => outcome.ok(),
            // The proxy closed its side: nobody is waiting any more.
            _ = from.read_line(&mut rest) => None,
            _ = tokio::time::sleep(deadline) => None,
        };
        if outcome.is_none() {
            self.withdraw(&id);
        }
        outcome
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn withdraw(&self, id: &str) {
        let pending = {
            let mut queue = self.lock();
            queue.retain(|p| p.request.id != id);
            requests(&queue)
        };
        self.events.changed(&pending);
    }

    /// The requests waiting, oldest first.
    pub fn pending(&self) -> Vec<ApprovalRequest> {
        requests(&self.lock())
    }

    /// Answers `id`. "Always allow" is written to the store first; if that
    /// fails the request stays pending and the error is returned.
    pub fn decide(&self, id: &str, answer: Answer, by: Decider) -> Result<ApprovalOutcome> {
        let request = self
            .lock()
            .iter()
            .find(|p| p.request.id == id)
            .map(|p| p.request.clone())
            .ok_or_else(|| {
                Error::InvalidSpec(format!(
                    "no approval {id} is pending (answered already, timed out, or withdrawn)"
                ))
            })?;
        if let Answer::AlwaysAllow { pattern } = &answer {
            let mut store = Store::open_path(&self.database)?;
            match pattern {
                None => store.set_tool_policy(&request.server, &request.tool, Decision::Allow)?,
                Some(pattern) => {
                    store.add_allow_rule(
                        &request.server,
                        &request.tool,
                        Some(pattern),
                        "approval",
                    )?;
                }
            }
        }
        let outcome = ApprovalOutcome {
            id: id.to_string(),
            answer,
            by,
            decided_at: now_micros(),
        };
        let (entry, pending) = {
            let mut queue = self.lock();
            let at = queue.iter().position(|p| p.request.id == id);
            let entry = at.map(|i| queue.remove(i));
            (entry, requests(&queue))
        };
        if let Some(entry) = entry {
            // The proxy may have left meanwhile; its answer is moot then.
            let _ = entry.reply.send(outcome.clone());
        }
        self.events.changed(&pending);
        Ok(outcome)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn requests(queue: &[Pending]) -> Vec<ApprovalRequest> {
    queue.iter().map(|p| p.request.clone()).collect()
}

fn error_line(error: &str) -> String {
    protocol::line(&Reply::Error {
        error: error.to_string(),
    })
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

impl Engine {
    /// Gives the engine the app's broker, for the approval commands.
    pub fn attach_broker(&self, broker: Arc<Broker>) {
        let _ = self.broker.set(broker);
    }

    fn broker(&self) -> Result<&Arc<Broker>> {
        self.broker
            .get()
            .ok_or_else(|| Error::InvalidSpec("approvals are served by the Gatehouse app".into()))
    }

    /// The calls waiting for the person, oldest first.
    pub fn approvals_pending(&self) -> Result<Vec<ApprovalRequest>> {
        Ok(self.broker()?.pending())
    }

    /// The person's answer to one of them, from the app.
    pub fn approvals_decide(&self, id: String, answer: Answer) -> Result<ApprovalOutcome> {
        self.broker()?.decide(&id, answer, Decider::App)
    }
}
