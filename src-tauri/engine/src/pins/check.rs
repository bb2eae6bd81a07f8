//! The check a proxy makes of each listing: pure, in memory, against the
//! pins loaded with its policy snapshot.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::canonical::{self, Canonical, Hash};
use super::{PinKind, PinMode};

/// A server's pins and what waits for review, in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PinSet {
    pub(super) mode: PinMode,
    /// Approved tools: name → hash.
    pub(super) tools: HashMap<String, Hash>,
    /// Approved instructions: hash and canonical JSON (a string or `null`).
    pub(super) instructions: Option<(Hash, String)>,
    /// Definitions waiting (or rejected), by tool name.
    pub(super) tool_reviews: HashMap<String, Review>,
    /// Instructions waiting (or rejected).
    pub(super) instructions_review: Option<Review>,
}

/// A definition the person has not approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Review {
    pub hash: Hash,
    pub rejected: bool,
}

/// What becomes of one listed definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// It is the pinned one: shown.
    Pinned,
    /// It already waits for review, or was rejected: hidden, and nothing
    /// new to record.
    Waiting {
        /// The person rejected it.
        rejected: bool,
    },
    /// First use, trusted: pin it as it is, and show it.
    Trust,
    /// New or changed: hidden, and recorded for review.
    Quarantine {
        /// A different definition is pinned (else none is).
        changed: bool,
    },
}

impl Check {
    /// Whether the client must not see it.
    pub fn hidden(self) -> bool {
        matches!(self, Check::Waiting { .. } | Check::Quarantine { .. })
    }
}

impl PinSet {
    /// A set with the given mode and nothing pinned (for tests and
    /// benchmarks; proxies load theirs from the store).
    pub fn empty(mode: PinMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    /// Pins `name` at `hash` (for tests and benchmarks).
    pub fn with_tool(mut self, name: &str, hash: Hash) -> Self {
        self.tools.insert(name.to_string(), hash);
        self
    }

    /// The mode in effect.
    pub fn mode(&self) -> PinMode {
        self.mode
    }

    /// Whether nothing of the server's tools was pinned or reviewed yet.
    fn tools_first_use(&self) -> bool {
        self.tools.is_empty() && self.tool_reviews.is_empty()
    }

    /// What becomes of tool `name` listed with `hash`. `first_use` makes
    /// it count as the server's first listing (a later page of it).
    pub fn check_tool(&self, name: &str, hash: &Hash, first_use: bool) -> Check {
        if self.tools.get(name) == Some(hash) {
            return Check::Pinned;
        }
        if let Some(review) = self.tool_reviews.get(name)
            && review.hash == *hash
        {
            return Check::Waiting {
                rejected: review.rejected,
            };
        }
        let changed = self.tools.contains_key(name);
        if !changed
            && self.mode == PinMode::TrustOnFirstUse
            && (first_use || self.tools_first_use())
        {
            Check::Trust
        } else {
            Check::Quarantine { changed }
        }
    }

    /// What becomes of the instructions an `initialize` result carries
    /// (canonical: a JSON string, or `null` for none).
    pub fn check_instructions(&self, canon: &Canonical) -> Check {
        if let Some((hash, _)) = &self.instructions {
            if *hash == canon.hash {
                return Check::Pinned;
            }
        } else if self.mode == PinMode::TrustOnFirstUse && self.instructions_review.is_none() {
            return Check::Trust;
        }
        if let Some(review) = self.instructions_review
            && review.hash == canon.hash
        {
            return Check::Waiting {
                rejected: review.rejected,
            };
        }
        Check::Quarantine {
            changed: self.instructions.is_some(),
        }
    }

    /// The approved instructions: `Some(None)` when the server was pinned
    /// without any; `None` when nothing is pinned.
    pub fn pinned_instructions(&self) -> Option<Option<String>> {
        let (_, json) = self.instructions.as_ref()?;
        Some(serde_json::from_str::<Option<String>>(json).ok().flatten())
    }

    /// Whether a call to `name`, which this session has not seen listed,
    /// must be refused: the server offered a definition of it that was not
    /// approved, or nothing is shown before review and it was never
    /// approved.
    pub fn unlisted_hidden(&self, name: &str) -> bool {
        self.tool_reviews.contains_key(name)
            || (self.mode == PinMode::ReviewFirst && !self.tools.contains_key(name))
    }
}

/// A new or changed definition to record for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    /// A tool or the instructions.
    pub kind: PinKind,
    /// The tool's name (empty for the instructions).
    pub name: String,
    /// The definition offered.
    pub canonical: Canonical,
    /// A different definition is pinned.
    pub changed: bool,
    /// Why, in words: what the audit record and the app say.
    pub reason: String,
}

/// What the pins make of one `tools/list` result.
#[derive(Debug, Default, PartialEq)]
pub struct ListingCheck {
    /// Per entry, in order: whether the client must not see it.
    pub hidden: Vec<bool>,
    /// Each listed tool's hash, to judge calls by what was listed.
    pub listed: HashMap<String, Hash>,
    /// First-use definitions to pin.
    pub trust: Vec<(String, Canonical)>,
    /// Definitions to record for review.
    pub quarantine: Vec<Quarantine>,
    /// The result has a `nextCursor`: more pages follow.
    pub paged: bool,
}

impl ListingCheck {
    /// Whether any entry is hidden.
    pub fn hides_any(&self) -> bool {
        self.hidden.contains(&true)
    }

    /// Whether a call to `name` must be refused, judged by this listing
    /// when it had the tool.
    pub fn call_hidden(&self, pins: &PinSet, name: &str) -> bool {
        match self.listed.get(name) {
            Some(hash) => pins.check_tool(name, hash, false).hidden(),
            None => pins.unlisted_hidden(name),
        }
    }
}

/// Finds what makes a definition critical (the scanner), or `None`.
pub type CriticalCheck = fn(&RawValue) -> Option<String>;

/// Checks each tool of a `tools/list` result (its `result` JSON) against
/// `pins`. `first_use`: an earlier page of this listing was the server's
/// first. `critical` names what makes a new definition unsafe to trust
/// even on first use. `Err` if the result is not a tool list.
pub fn check_listing(
    pins: &PinSet,
    result: &str,
    first_use: bool,
    critical: CriticalCheck,
) -> Result<ListingCheck, String> {
    #[derive(Deserialize)]
    struct Tools<'a> {
        #[serde(borrow)]
        tools: Vec<&'a RawValue>,
        #[serde(default, rename = "nextCursor")]
        next_cursor: Option<&'a RawValue>,
    }
    let listed: Tools = serde_json::from_str(result)
        .map_err(|e| format!("Gatehouse could not read the server's tool list ({e})"))?;
    let mut check = ListingCheck {
        hidden: Vec::with_capacity(listed.tools.len()),
        listed: HashMap::with_capacity(listed.tools.len()),
        paged: listed.next_cursor.is_some_and(|c| c.get() != "null"),
        ..ListingCheck::default()
    };
    for entry in &listed.tools {
        let Ok((name, canon)) = canonical::tool(entry) else {
            // Nothing can call a tool without a name; it is not shown.
            check.hidden.push(true);
            continue;
        };
        let mut verdict = pins.check_tool(&name, &canon.hash, first_use);
        let mut reason = None;
        if matches!(verdict, Check::Trust | Check::Quarantine { .. })
            && let Some(finding) = critical(entry)
        {
            verdict = Check::Quarantine {
                changed: pins.tools.contains_key(&name),
            };
            reason = Some(finding);
        }
        check.hidden.push(verdict.hidden());
        check.listed.insert(name.clone(), canon.hash);
        match verdict {
            Check::Pinned | Check::Waiting { .. } => {}
            Check::Trust => check.trust.push((name, canon)),
            Check::Quarantine { changed } => {
                let reason = reason.unwrap_or_else(|| {
                    if changed {
                        format!("the definition of tool '{name}' changed since it was approved")
                    } else {
                        format!("tool '{name}' is new and was never approved")
                    }
                });
                check.quarantine.push(Quarantine {
                    kind: PinKind::Tool,
                    name,
                    canonical: canon,
                    changed,
                    reason,
                });
            }
        }
    }
    Ok(check)
}

/// A proxy's pin check of `tools/list` results, remembering the last one:
/// a listing with the same bytes, checked against the same pins, costs a
/// hash of its bytes and no per-tool work.
pub struct PinChecker {
    keys: RandomState,
    last: Option<(u64, Arc<PinSet>, Arc<ListingCheck>)>,
    /// The server's first listing came in pages and this session is
    /// reading them.
    first_use_pages: bool,
}

impl Default for PinChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl PinChecker {
    /// A checker with fresh, random hash keys (a server cannot make two
    /// listings collide without knowing them).
    pub fn new() -> Self {
        Self {
            keys: RandomState::new(),
            last: None,
            first_use_pages: false,
        }
    }

    /// The hash of a listing's bytes: equal bytes, equal hash.
    pub fn bytes_hash(&self, result: &str) -> u64 {
        self.keys.hash_one(result)
    }

    /// The check of `result` (whose [`PinChecker::bytes_hash`] is `bytes`)
    /// against `pins`, and whether it is fresh (its `trust` and
    /// `quarantine` are still to be recorded) rather than remembered.
    pub fn check(
        &mut self,
        pins: &Arc<PinSet>,
        bytes: u64,
        result: &str,
        critical: CriticalCheck,
    ) -> Result<(Arc<ListingCheck>, bool), String> {
        if let Some((last_bytes, last_pins, last_check)) = &self.last
            && *last_bytes == bytes
            && (Arc::ptr_eq(last_pins, pins) || **last_pins == **pins)
        {
            return Ok((last_check.clone(), false));
        }
        let check = Arc::new(check_listing(pins, result, self.first_use_pages, critical)?);
        // A first listing in pages: its later pages are first use too.
        self.first_use_pages = check.paged && (self.first_use_pages || !check.trust.is_empty());
        self.last = Some((bytes, pins.clone(), check.clone()));
        Ok((check, true))
    }

    /// Forgets the remembered check (after recording it changed the pins).
    pub fn forget(&mut self) {
        self.last = None;
    }
}
