//! What goes over the approval socket: one JSON line each way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A call waiting for the person, as the popup shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ApprovalRequest {
    /// Unique while it waits; `gatehouse approvals allow ID` names it.
    pub id: String,
    /// The registered server.
    pub server: String,
    /// The tool called.
    pub tool: String,
    /// The client, as it named itself.
    pub client: Option<String>,
    /// The proxy session asking.
    pub session: String,
    /// The call's arguments, pretty-printed, secrets redacted.
    pub arguments: String,
    /// Which rule asked ("the tool's risk tier", "the flow rule"...).
    pub rule: String,
    /// Why, in a sentence, when the rule says more (the flow rule, an
    /// argument rule).
    pub detail: Option<String>,
    /// The tool's risk tier.
    pub risk: String,
    /// The reasons behind the tier, one sentence each.
    pub reasons: Vec<String>,
    /// When the proxy asked, microseconds since the epoch.
    #[ts(type = "number")]
    pub requested_at: i64,
    /// How long the proxy waits before it denies, in seconds.
    pub timeout_secs: u32,
}

/// The person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Answer {
    /// This call only.
    AllowOnce,
    /// This call and the tool's later calls in the same session.
    AllowSession,
    /// Now and later: writes an "always allow" rule (for arguments
    /// matching `pattern`, argument → glob, or any).
    AlwaysAllow {
        /// Argument → glob; `None`: any arguments.
        #[serde(default)]
        pattern: Option<BTreeMap<String, String>>,
    },
    /// Refuse the call.
    Deny,
}

impl Answer {
    /// Whether the call goes on.
    pub fn allows(&self) -> bool {
        !matches!(self, Answer::Deny)
    }

    /// A few words for the audit record: "allowed once".
    pub fn describe(&self) -> &'static str {
        match self {
            Answer::AllowOnce => "allowed once",
            Answer::AllowSession => "allowed for this session",
            Answer::AlwaysAllow { pattern: None } => "always allowed",
            Answer::AlwaysAllow { pattern: Some(_) } => "always allowed for these arguments",
            Answer::Deny => "denied",
        }
    }
}

/// Who answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Decider {
    /// The person, in the app's popup.
    App,
    /// The person, with `gatehouse approvals`.
    Cli,
}

impl Decider {
    /// "in the app", "from the command line".
    pub fn describe(self) -> &'static str {
        match self {
            Decider::App => "in the Gatehouse app",
            Decider::Cli => "from the command line",
        }
    }
}

/// The answer to one request, as the proxy gets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ApprovalOutcome {
    /// The request answered.
    pub id: String,
    /// The answer.
    pub answer: Answer,
    /// Who gave it.
    pub by: Decider,
    /// When, microseconds since the epoch.
    #[ts(type = "number")]
    pub decided_at: i64,
}

/// From a proxy or the CLI to the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Request {
    /// A proxy's question; the reply comes once the person answers.
    Ask(ApprovalRequest),
    /// What is pending.
    List,
    /// The CLI's answer to a pending request.
    Decide {
        /// The request.
        id: String,
        /// The answer.
        answer: Answer,
    },
}

/// From the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub(super) enum Reply {
    /// A request was answered.
    Decided(ApprovalOutcome),
    /// The pending requests.
    Pending {
        /// Oldest first.
        pending: Vec<ApprovalRequest>,
    },
    /// The request could not be served.
    Error {
        /// Why.
        error: String,
    },
}

/// `value` as one line of JSON, newline included.
pub(super) fn line<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string(value).expect("protocol types serialise");
    s.push('\n');
    s
}
