//! Tool pinning: rug-pull detection.
//!
//! What the person approved of a server is pinned: the SHA-256 of each
//! tool's canonical definition ([`canonical`]) and of the server's
//! `instructions`, in the store's `pins` table. A proxy checks every
//! `tools/list` result and `initialize` result against those pins
//! ([`PinSet`], loaded with the policy snapshot): a tool that is new or
//! whose definition changed is **quarantined**. It is removed from the list
//! the client sees, a call to it is refused with JSON-RPC `-32602`, and the
//! new definition waits in `pin_reviews` for the person, who approves it
//! (it is pinned) or rejects it (it stays hidden until it changes again or
//! is approved). Changed instructions are replaced by the pinned ones, or
//! removed when none were pinned.
//!
//! When the first pins are made depends on the server's [`PinMode`]:
//! trust on first use (the default: the first listing a server gives is
//! pinned as it is, as registering the server was the person's choice to
//! trust it; later changes are quarantined) or review first (nothing is
//! shown until the person approved it). A tool the scanner finds critical
//! is quarantined even on first use.

pub mod canonical;
mod check;
mod store;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use canonical::{Canonical, Hash};
pub use check::{Check, ListingCheck, PinChecker, PinSet, Quarantine, check_listing};
pub use store::{MIGRATION, MODE_SETTING, PendingReview, Recorded};

/// When a server's definitions are first pinned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum PinMode {
    /// The first listing is pinned as it comes; later changes are
    /// quarantined until reviewed.
    #[default]
    TrustOnFirstUse,
    /// Nothing is shown to clients until the person approved it.
    ReviewFirst,
}

impl PinMode {
    /// The mode's name, as stored and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PinMode::TrustOnFirstUse => "trust-on-first-use",
            PinMode::ReviewFirst => "review-first",
        }
    }

    /// Reads a mode's name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "trust-on-first-use" => Some(PinMode::TrustOnFirstUse),
            "review-first" => Some(PinMode::ReviewFirst),
            _ => None,
        }
    }
}

/// What is pinned: a tool, or the server's instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PinKind {
    /// A tool, by name.
    Tool,
    /// The `instructions` of the server's `initialize` result.
    Instructions,
}

impl PinKind {
    fn as_str(self) -> &'static str {
        match self {
            PinKind::Tool => "tool",
            PinKind::Instructions => "instructions",
        }
    }
}

/// Where a tool (or the instructions) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PinState {
    /// Approved: clients see it as pinned.
    Pinned,
    /// Pinned, but the server now offers a different definition, which
    /// waits for review; the tool is hidden meanwhile.
    Changed,
    /// Never approved; hidden until reviewed.
    New,
    /// The person rejected the definition the server offers: hidden until
    /// it changes again or is approved.
    Rejected,
}

/// One pinned item of a server and what waits for review, for the app and
/// `gatehouse tools`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PinItem {
    /// A tool, or the instructions.
    pub kind: PinKind,
    /// The tool's name (empty for the instructions).
    pub name: String,
    /// Its state.
    pub state: PinState,
    /// The approved definition, pretty-printed JSON (for the instructions:
    /// the text); `None` if nothing was approved.
    pub pinned: Option<String>,
    /// When it was approved, microseconds since the epoch.
    #[ts(type = "number | null")]
    pub pinned_at: Option<i64>,
    /// The definition waiting for review (or rejected), pretty-printed like
    /// `pinned`.
    pub proposed: Option<String>,
    /// When the proposed definition was first seen.
    #[ts(type = "number | null")]
    pub first_seen: Option<i64>,
    /// Why it was quarantined, for the person.
    pub reason: Option<String>,
    /// What the scanner finds in the proposed definition (empty when
    /// nothing is proposed).
    pub findings: Vec<crate::scan::Finding>,
}

/// A server's pins, as the app and `gatehouse tools` show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ServerPins {
    /// The server.
    pub server: String,
    /// The mode in effect.
    pub mode: PinMode,
    /// Whether the server has its own mode (else the global default).
    pub own_mode: bool,
    /// Every tool pinned or waiting, and the instructions if any, the
    /// waiting ones first, then by name.
    pub items: Vec<PinItem>,
}

impl ServerPins {
    /// How many items wait for review (rejected ones excluded).
    pub fn pending(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.state, PinState::Changed | PinState::New))
            .count()
    }
}

/// The audit method of a quarantine record (the alerts raise an alert on
/// it).
pub use crate::alerts::TOOL_CHANGED_METHOD;

/// The sentence that tells where to review `what` of `server`.
pub fn review_hint(server: &str, kind: PinKind, name: &str) -> String {
    let target = match kind {
        PinKind::Tool => name.to_string(),
        PinKind::Instructions => "--instructions".to_string(),
    };
    format!(
        "review it on the server's page in the Gatehouse app, or run `gatehouse pins approve {server} {target}`"
    )
}
