//! The audit log: one record per request/response pair a proxy sees.
//!
//! A proxy records through an [`AuditLog`]: each record is redacted, then
//! appended with one `write` to the proxy's spool file, and only then is the
//! answer it belongs to sent. The spool survives a crash of the proxy, so
//! nothing the client was told is lost, and the hot path never waits for
//! SQLite. An [`AuditWriter`] thread moves the records into the database in
//! batches (group commit). When the proxy ends, its spool is removed once
//! everything in it is committed; the spool of a proxy that died is
//! imported by the next `gatehouse run` or `audit list`
//! ([`recover_spools`]). Each record carries a per-session number, so one
//! imported twice is stored once.

pub(crate) mod chain;
mod export;
mod history;
mod journal;
mod query;
pub mod redact;
pub(crate) mod writer;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use chain::{
    ChainBreak, ChainReport, DEFAULT_PREVIEW_BYTES, DEFAULT_RETENTION_DAYS, PruneReport, Retention,
};
pub use export::{CSV_HEADER, ExportError, ExportFormat};
pub use history::{
    AuditExported, AuditSummary, HOUR_US, MAX_BUCKETS, TOP_TOOLS, Timeline, TimelineBucket,
    ToolCount,
};
pub use journal::{AuditLog, recover_spools};
pub use query::{AuditEntry, AuditFilter, AuditPage, MAX_PAGE};
pub use writer::{AuditError, AuditWriter, Receipt};

/// How a request was decided, as the audit log and its readers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum AuditDecision {
    /// Forwarded to the server without asking.
    Allowed,
    /// Refused by Gatehouse.
    Denied,
    /// Forwarded after the person approved it.
    Asked,
    /// Gatehouse or the server failed to answer it.
    Error,
}

impl AuditDecision {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditDecision::Allowed => "allowed",
            AuditDecision::Denied => "denied",
            AuditDecision::Asked => "asked",
            AuditDecision::Error => "error",
        }
    }

    /// Parses a stored or user-given name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allowed" => Some(AuditDecision::Allowed),
            "denied" => Some(AuditDecision::Denied),
            "asked" => Some(AuditDecision::Asked),
            "error" => Some(AuditDecision::Error),
            _ => None,
        }
    }
}

/// One record, as a proxy builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// When the request arrived (microseconds since the epoch).
    pub time: i64,
    /// The proxy process (session) that saw it.
    pub session: std::sync::Arc<str>,
    /// The client's name, once known.
    pub client: Option<std::sync::Arc<str>>,
    /// The server's registered name.
    pub server: std::sync::Arc<str>,
    /// The JSON-RPC method, if the message had one.
    pub method: Option<String>,
    /// The tool, for `tools/call`.
    pub tool: Option<String>,
    /// The arguments, redacted, as JSON text.
    pub arguments: Option<String>,
    /// What happened.
    pub decision: AuditDecision,
    /// Why, in words, when Gatehouse refused or failed.
    pub reason: Option<String>,
    /// Size in bytes of the response message.
    pub result_size: Option<i64>,
    /// `result.isError` of a tool result.
    pub is_error: Option<bool>,
    /// The JSON-RPC error object, as JSON text.
    pub rpc_error: Option<String>,
    /// A tool call's result, as JSON text: whole, or, when `result_hash` is
    /// set, only its first bytes. A proxy gives it unredacted;
    /// [`AuditLog::record`] redacts it (and turns a preview into a JSON
    /// string) before it is written anywhere.
    pub result: Option<String>,
    /// SHA-256 of the whole result, when `result` holds only a preview.
    pub result_hash: Option<[u8; 32]>,
    /// From request received to response forwarded.
    pub latency_us: i64,
    /// The record's number within its session, given by the session's
    /// spool ([`AuditLog`]); `None` for records written without one.
    pub seq: Option<i64>,
}

#[cfg(test)]
impl AuditRecord {
    /// A test's allowed `tools/call` of `tool` on `server` in `session`,
    /// at time 0, with no arguments or result: tests set what they need
    /// with struct update syntax.
    pub(crate) fn call(session: &str, server: &str, tool: &str) -> Self {
        AuditRecord {
            time: 0,
            session: session.into(),
            client: Some("test-client".into()),
            server: server.into(),
            method: Some("tools/call".into()),
            tool: Some(tool.into()),
            arguments: None,
            decision: AuditDecision::Allowed,
            reason: None,
            result_size: Some(10),
            is_error: Some(false),
            rpc_error: None,
            result: None,
            result_hash: None,
            latency_us: 5,
            seq: None,
        }
    }
}
