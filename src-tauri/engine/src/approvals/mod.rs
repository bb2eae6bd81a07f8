//! Approvals: a call the policy says to ask about waits for the person.
//!
//! The desktop app runs the [`Broker`]: a Unix socket in the data
//! directory (`approvals.sock`, mode 0600, peers checked to be the same
//! user). A proxy that needs an answer connects, sends an
//! [`ApprovalRequest`] as one JSON line and waits, up to its timeout, for
//! the [`ApprovalOutcome`] line ([`ask`]). The app shows the pending requests in a
//! popup; `gatehouse approvals list|allow|deny` speaks the same protocol
//! ([`list`], [`decide`]). "Always allow" is written to the store by the
//! broker before the proxy hears of it, so the next call passes without
//! asking.
//!
//! Nothing here waits without a deadline: a proxy whose broker is not
//! there is told at once ([`AskError::Unavailable`]), and one whose person
//! does not answer in time is told that ([`AskError::TimedOut`]).

mod broker;
mod protocol;

pub use broker::{Broker, BrokerEvents};
pub use protocol::{Answer, ApprovalOutcome, ApprovalRequest, Decider};

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use protocol::{Reply, Request};

/// How long a call waits for the person by default: below the request
/// timeouts of common clients (60 s and more), so the agent hears "timed
/// out" from Gatehouse rather than its own error.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(45);

/// The settings key of the approval timeout, in seconds.
pub const TIMEOUT_SETTING: &str = "approvals.timeout_secs";

/// The broker's socket for the data directory `root`.
pub fn socket_path(root: &Path) -> PathBuf {
    root.join("approvals.sock")
}

/// Why a proxy got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// No broker is listening (the app is not running), or it could not be
    /// reached.
    #[error("the Gatehouse app is not running to ask you ({0})")]
    Unavailable(String),
    /// The person did not answer in time.
    #[error("no answer within {} s", .0.as_secs())]
    TimedOut(Duration),
    /// The broker answered something this proxy does not understand, or
    /// went away mid-question.
    #[error("the Gatehouse app did not answer properly ({0})")]
    Broken(String),
}

/// Asks the broker at `socket` about `request`, waiting at most `timeout`
/// for the person.
#[cfg(unix)]
pub async fn ask(
    socket: &Path,
    request: &ApprovalRequest,
    timeout: Duration,
) -> Result<ApprovalOutcome, AskError> {
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| AskError::Unavailable(format!("{}: {e}", socket.display())))?;
    let line = protocol::line(&Request::Ask(request.clone()));
    stream
        .write_all(line.as_bytes())
        .await
        .map_err(|e| AskError::Unavailable(e.to_string()))?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    match tokio::time::timeout(timeout, reader.read_line(&mut answer)).await {
        Err(_) => Err(AskError::TimedOut(timeout)),
        Ok(Err(e)) => Err(AskError::Broken(e.to_string())),
        Ok(Ok(0)) => Err(AskError::Broken("it closed the connection".into())),
        Ok(Ok(_)) => match serde_json::from_str::<Reply>(&answer) {
            Ok(Reply::Decided(outcome)) => Ok(outcome),
            Ok(Reply::Error { error }) => Err(AskError::Broken(error)),
            Ok(other) => Err(AskError::Broken(format!("unexpected reply {other:?}"))),
            Err(e) => Err(AskError::Broken(e.to_string())),
        },
    }
}

/// Approvals need a Unix socket; elsewhere every ask is unavailable.
#[cfg(not(unix))]
pub async fn ask(
    _socket: &Path,
    _request: &ApprovalRequest,
    _timeout: Duration,
) -> Result<ApprovalOutcome, AskError> {
    Err(AskError::Unavailable(
        "approvals are not supported on this platform yet".into(),
    ))
}

/// The requests waiting for an answer, from the broker at `socket`.
pub fn list(socket: &Path) -> crate::Result<Vec<ApprovalRequest>> {
    match round_trip(socket, &Request::List)? {
        Reply::Pending { pending } => Ok(pending),
        other => Err(unexpected(other)),
    }
}

/// Answers the pending request `id`, as the command line.
pub fn decide(socket: &Path, id: &str, answer: Answer) -> crate::Result<ApprovalOutcome> {
    let request = Request::Decide {
        id: id.to_string(),
        answer,
    };
    match round_trip(socket, &request)? {
        Reply::Decided(outcome) => Ok(outcome),
        other => Err(unexpected(other)),
    }
}

fn unexpected(reply: Reply) -> crate::Error {
    match reply {
        Reply::Error { error } => crate::Error::InvalidSpec(error),
        other => crate::Error::InvalidSpec(format!(
            "the Gatehouse app answered something unexpected: {other:?}"
        )),
    }
}

/// One request and its reply over a blocking connection (the CLI).
#[cfg(unix)]
fn round_trip(socket: &Path, request: &Request) -> crate::Result<Reply> {
    use std::io::{BufRead, Write};
    let not_running = |e: std::io::Error| {
        crate::Error::InvalidSpec(format!(
            "the Gatehouse app is not running ({}: {e}), so nothing is waiting for approval",
            socket.display()
        ))
    };
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(not_running)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(not_running)?;
    stream
        .write_all(protocol::line(request).as_bytes())
        .map_err(not_running)?;
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .map_err(not_running)?;
    serde_json::from_str(&line).map_err(|e| {
        crate::Error::InvalidSpec(format!("the Gatehouse app's answer is unreadable: {e}"))
    })
}

#[cfg(not(unix))]
fn round_trip(_socket: &Path, _request: &Request) -> crate::Result<Reply> {
    Err(crate::Error::InvalidSpec(
        "approvals are not supported on this platform yet".into(),
    ))
}

#[cfg(all(test, unix))]
mod tests;
