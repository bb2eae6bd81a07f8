//! Risk tiers: how much harm a tool can do, read from its MCP definition.
//!
//! [`assess`] reads a tool's name, title, description, input schema and
//! annotations, plus what the scanner found, and returns a [`RiskAssessment`]:
//! a [`RiskTier`], the default [`Decision`] that tier implies, every reason
//! that contributed (each with a sentence for the person), and suggested
//! flow marks (`reads_private`, `sends_out`) for the flow rule.
//!
//! # How evidence is weighed
//!
//! - **Name and title** are split into words ([`super::words`]), so
//!   `deleteFile`, `delete_file` and `files.delete` say "delete", while
//!   `undelete`, `dropdown` and `executive_summary` say nothing. Inflections
//!   count (`deletes`, `deleting`, `sent`). Words that are often nouns
//!   (`post`, `email`, `update`, `run`...) do not count when a reading verb
//!   is present: `get_posts` lists posts, `send_post` sends one.
//! - **The description's first sentence** counts like the name; the other
//!   sentences count at most [`RiskTier::High`], since they often mention
//!   other tools or caveats. A word shortly after a negation ("does not
//!   delete", "without sending") does not count.
//! - **The input schema**: a `command`/`script` argument suggests running
//!   commands, recipients suggest sending, an amount with a currency
//!   suggests payments, a URL argument suggests network access. These count
//!   at most [`RiskTier::High`].
//! - **Annotations** (`readOnlyHint`, `destructiveHint`, `idempotentHint`,
//!   `openWorldHint`) come from the server, which is not trusted: an
//!   explicit hint can raise the tier, never lower it. A reassuring hint
//!   that the rest of the definition contradicts is reported as overruled.
//!   Absent hints count for nothing (the MCP defaults describe the worst
//!   case and would make every tool critical).
//! - **Scanner findings**: a finding of medium severity or more flags the
//!   tool, which makes it critical; low-severity findings make it medium.
//!
//! The tier is the highest tier any reason supports. Low and medium tiers
//! default to allow, high and critical to ask; critical tools also need a
//! confirmation before the person can set them to always allow.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::Decision;
use super::args::{ArgKind, infer_kind};
use super::lexicon::{
    Cap, EXEC_OBJECTS, Entry, MAX_DESCRIPTION, NEGATION_SPAN, NEGATIONS, RUN_VERBS,
    is_private_noun, lookup,
};
use super::words::words;

/// How much harm a tool can do, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RiskTier {
    /// Reads or computes; nothing suggests it changes or sends anything.
    Low,
    /// Changes little, or reaches the network.
    Medium,
    /// Writes, sends data out, or deploys.
    High,
    /// Destroys data, runs commands, moves money, or was flagged by the scanner.
    Critical,
}

impl RiskTier {
    /// The lowercase name, as in `gatehouse scan --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskTier::Low => "low",
            RiskTier::Medium => "medium",
            RiskTier::High => "high",
            RiskTier::Critical => "critical",
        }
    }

    /// The decision a tool of this tier gets when the person has set none.
    pub fn default_decision(self) -> Decision {
        match self {
            RiskTier::Low | RiskTier::Medium => Decision::Allow,
            RiskTier::High | RiskTier::Critical => Decision::Ask,
        }
    }
}

/// What a server says about one of its tools in `tools/list`: the fields
#[path = "risk_types.rs"]
mod types;
pub use types::*;

/// Assesses one tool. Pure: reads nothing but its arguments.
pub fn assess(tool: &ToolDefinition, scan: ScanFindings) -> RiskAssessment {
    let mut a = Assessor::default();
    a.text(&tool.name, Evidence::Name, None);
    if let Some(title) = &tool.title {
        a.text(title, Evidence::Title, None);
    }
    if let Some(desc) = &tool.description {
        a.description(desc);
    }
    a.schema(&tool.input_schema);
    a.reads_private_from_schema();
    a.annotations(tool.annotations);
    a.scanner(scan);
    a.finish()
}

/// A word of a text, lowercased, with its lexicon entry.
struct Word {
    text: String,
    entry: Option<Entry>,
    negated: bool,
}

fn analyse(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut negate_left = 0usize;
    for w in words(text) {
        let text = w.to_lowercase();
        let negated = negate_left > 0;
        negate_left = negate_left.saturating_sub(1);
        if NEGATIONS.contains(&text.as_str()) {
            negate_left = NEGATION_SPAN;
        }
        out.push(Word {
            entry: lookup(&text),
            text,
            negated,
        });
    }
    out
}

/// The description's sentences: split at `.`, `!` or `?` followed by
/// whitespace, and at line breaks.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let rest_trimmed = rest.trim_start();
        if rest_trimmed.is_empty() {
            return None;
        }
        let bytes = rest_trimmed.as_bytes();
        let mut end = bytes.len();
        for i in 0..bytes.len() {
            let c = bytes[i];
            let next_is_space = bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace());
            if c == b'\n' || (matches!(c, b'.' | b'!' | b'?') && next_is_space) {
                end = i + 1;
                break;
            }
        }
        let (sentence, tail) = rest_trimmed.split_at(end);
        rest = tail;
        Some(sentence)
    })
}

#[derive(Default)]
struct Assessor {
    reasons: Vec<RiskReason>,
    flow: Vec<FlowReason>,
    /// A reading verb was seen in the name, title or first sentence.
    reads: bool,
    /// A private noun was seen there, or a path argument in the schema.
    private_noun: Option<(String, Evidence)>,
    path_argument: Option<String>,
    /// The capabilities seen, with the tier each supported, for
    /// overruling reassuring hints.
    caps: Vec<(Cap, RiskTier)>,
}

impl Assessor {
    fn reason(
        &mut self,
        signal: RiskSignal,
        tier: RiskTier,
        evidence: Evidence,
        word: Option<&str>,
        message: String,
    ) {
        // One reason per signal and place; overruled hints each say which.
        if self.reasons.iter().any(|r| {
            r.signal == signal
                && r.evidence == evidence
                && (signal != RiskSignal::HintOverruled || r.word.as_deref() == word)
        }) {
            return;
        }
        self.reasons.push(RiskReason {
            signal,
            tier,
            evidence,
            word: word.map(str::to_owned),
            message,
        });
    }

    fn flow(&mut self, mark: FlowMark, evidence: Evidence, message: String) {
        if self.flow.iter().any(|f| f.mark == mark) {
            return;
        }
        self.flow.push(FlowReason {
            mark,
            evidence,
            message,
        });
    }

    fn capability(&mut self, cap: Cap, evidence: Evidence, word: &str, cap_at: Option<RiskTier>) {
        let tier = cap_at.map_or(cap.tier(), |c| cap.tier().min(c));
        let place = match evidence {
            Evidence::Name => "Its name says",
            Evidence::Title => "Its title says",
            Evidence::Description => "Its description says",
            _ => "Its definition says",
        };
        let message = format!("{place} \"{word}\": {}.", cap.consequence());
        self.reason(cap.signal(), tier, evidence, Some(word), message);
        self.caps.push((cap, tier));
        if matches!(cap, Cap::Send | Cap::Network) {
            self.flow(
                FlowMark::SendsOut,
                evidence,
                format!("{place} \"{word}\": data can leave the machine."),
            );
        }
    }

    /// The name, the title, or one sentence of the description. `cap_at`
    /// limits the tier its words can support; `primary` texts also feed the
    /// flow marks.
    fn text(&mut self, text: &str, evidence: Evidence, cap_at: Option<RiskTier>) {
        let primary = cap_at.is_none();
        let words = analyse(text);
        let has_read = words
            .iter()
            .any(|w| !w.negated && w.entry.is_some_and(|e| e.cap == Cap::Read));
        let mut run_verb = None;
        for (i, w) in words.iter().enumerate() {
            if w.negated {
                continue;
            }
            if primary && is_private_noun(&w.text) && self.private_noun.is_none() {
                self.private_noun = Some((w.text.clone(), evidence));
            }
            let Some(entry) = w.entry else { continue };
            if entry.cap == Cap::Read {
                if primary {
                    self.reads = true;
                }
                continue;
            }
            if entry.noun && !self.noun_counts(&words, i, has_read, evidence) {
                continue;
            }
            if RUN_VERBS.contains(&entry.word) {
                run_verb = Some(i);
            }
            self.capability(entry.cap, evidence, &w.text, cap_at);
        }
        // "run_command", "execute the given script", "startProcess".
        if let Some(v) = run_verb
            && let Some(obj) = words.iter().skip(v + 1).take(4).find(|w| {
                EXEC_OBJECTS.contains(&w.text.as_str())
                    || w.text
                        .strip_suffix('s')
                        .is_some_and(|s| EXEC_OBJECTS.contains(&s))
            })
        {
            let phrase = format!("{} {}", words[v].text, obj.text);
            self.capability(Cap::Execute, evidence, &phrase, cap_at);
        }
        // A name with only a private noun ("inbox", "filesystem") reads it.
        if primary && !has_read && words.iter().all(|w| w.entry.is_none()) {
            self.reads |= self.private_noun.is_some();
        }
    }

    /// Whether a word that is often a noun (`post`, `payment`) counts as a
    /// verb here. Never beside a reading verb (`get_posts`). In a name, only
    /// in verb position: first (`post_message`), or right after another
    /// known verb (`create_payment`, `postMessage`), not after an unknown
    /// word (`undelete_message`).
    fn noun_counts(&self, words: &[Word], i: usize, has_read: bool, evidence: Evidence) -> bool {
        if has_read {
            return false;
        }
        if !matches!(evidence, Evidence::Name | Evidence::Title) || i == 0 {
            return true;
        }
        words[i - 1].entry.is_some_and(|e| e.cap != Cap::Read)
    }

    fn description(&mut self, desc: &str) {
        let desc = match desc.char_indices().nth(MAX_DESCRIPTION) {
            Some((i, _)) => &desc[..i],
            None => desc,
        };
        for (i, sentence) in sentences(desc).enumerate() {
            let cap = if i == 0 { None } else { Some(RiskTier::High) };
            self.text(sentence, Evidence::Description, cap);
        }
    }

    fn schema(&mut self, schema: &Value) {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let has = |names: &[&str]| {
            props
                .keys()
                .any(|k| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        };
        let money = has(&["amount"]) && has(&["currency"]);
        let mail = has(&["subject", "body"]);
        for (key, prop) in props {
            let last = words(key).last().unwrap_or("").to_lowercase();
            let arg = format!("It takes a \"{key}\" argument");
            if matches!(
                last.as_str(),
                "command" | "commands" | "cmd" | "cmdline" | "script" | "shell"
            ) {
                self.reason(
                    RiskSignal::Executes,
                    RiskTier::High,
                    Evidence::Schema,
                    Some(key),
                    format!("{arg}: it may run commands."),
                );
                self.caps.push((Cap::Execute, RiskTier::High));
            }
            let recipient = matches!(last.as_str(), "recipient" | "recipients" | "cc" | "bcc")
                || (mail && key.eq_ignore_ascii_case("to"));
            if recipient {
                self.reason(
                    RiskSignal::Sends,
                    RiskTier::High,
                    Evidence::Schema,
                    Some(key),
                    format!("{arg}: it sends to whoever is named."),
                );
                self.caps.push((Cap::Send, RiskTier::High));
                self.flow(
                    FlowMark::SendsOut,
                    Evidence::Schema,
                    format!("{arg}: it sends to whoever is named."),
                );
            }
            if money && key.eq_ignore_ascii_case("amount") {
                self.reason(
                    RiskSignal::MovesMoney,
                    RiskTier::High,
                    Evidence::Schema,
                    Some(key),
                    "It takes an amount and a currency: it may move money.".into(),
                );
                self.caps.push((Cap::Money, RiskTier::High));
            }
            match infer_kind(key, prop) {
                Some(ArgKind::Url) => {
                    self.reason(
                        RiskSignal::Network,
                        RiskTier::Medium,
                        Evidence::Schema,
                        Some(key),
                        format!("{arg} (a URL): it can reach any address it is given."),
                    );
                    self.caps.push((Cap::Network, RiskTier::Medium));
                    self.flow(
                        FlowMark::SendsOut,
                        Evidence::Schema,
                        format!("{arg} (a URL): what it puts in the address leaves the machine."),
                    );
                }
                Some(ArgKind::Path) if self.path_argument.is_none() => {
                    self.path_argument = Some(key.clone());
                }
                _ => {}
            }
        }
    }

    fn reads_private_from_schema(&mut self) {
        let write_like = self.caps.iter().any(|(c, _)| {
            matches!(
                c,
                Cap::Destroy | Cap::Write | Cap::Send | Cap::Execute | Cap::Money
            )
        });
        if let Some((noun, evidence)) = self.private_noun.clone()
            && self.reads
        {
            let place = match evidence {
                Evidence::Title => "Its title",
                Evidence::Description => "Its description",
                _ => "Its name",
            };
            self.flow(
                FlowMark::ReadsPrivate,
                evidence,
                format!("{place} says it reads \"{noun}\": that can be private data."),
            );
        } else if let Some(arg) = self.path_argument.clone()
            && self.reads
            && !write_like
        {
            self.flow(
                FlowMark::ReadsPrivate,
                Evidence::Schema,
                format!("It reads the path given in \"{arg}\": files can be private."),
            );
        }
    }

    fn annotations(&mut self, hints: ToolAnnotations) {
        let ev = Evidence::Annotations;
        if hints.destructive_hint == Some(true) {
            self.reason(
                RiskSignal::HintDestructive,
                RiskTier::Critical,
                ev,
                Some("destructiveHint"),
                "The server marks it as destructive.".into(),
            );
        }
        if hints.read_only_hint == Some(false) {
            self.reason(
                RiskSignal::HintNotReadOnly,
                RiskTier::Medium,
                ev,
                Some("readOnlyHint"),
                "The server says it changes things (not read-only).".into(),
            );
        }
        if hints.idempotent_hint == Some(false) {
            self.reason(
                RiskSignal::HintNotIdempotent,
                RiskTier::Medium,
                ev,
                Some("idempotentHint"),
                "The server says repeating a call has further effects.".into(),
            );
        }
        if hints.open_world_hint == Some(true) {
            self.reason(
                RiskSignal::HintOpenWorld,
                RiskTier::Medium,
                ev,
                Some("openWorldHint"),
                "The server says it reaches systems outside this machine.".into(),
            );
            self.flow(
                FlowMark::SendsOut,
                ev,
                "The server says it reaches systems outside this machine.".into(),
            );
        }
        // Reassuring hints the rest of the definition contradicts.
        let strongest = |caps: &[(Cap, RiskTier)], pred: fn(Cap) -> bool| {
            caps.iter()
                .copied()
                .filter(|&(c, _)| pred(c))
                .max_by_key(|&(_, t)| t)
        };
        let caps = std::mem::take(&mut self.caps);
        let mut overrule = |hint: &str, claim: &str, found: Option<(Cap, RiskTier)>| {
            if let Some((cap, tier)) = found {
                let says = cap.consequence().trim_start_matches("it ");
                self.reason(
                    RiskSignal::HintOverruled,
                    tier,
                    ev,
                    Some(hint),
                    format!(
                        "The server says {claim}, but its definition says it {says}; the hint is not trusted."
                    ),
                );
            }
        };
        if hints.read_only_hint == Some(true) {
            let found = strongest(&caps, |c| !matches!(c, Cap::Read | Cap::Network));
            overrule("readOnlyHint", "it only reads", found);
        }
        if hints.destructive_hint == Some(false) {
            let found = strongest(&caps, |c| matches!(c, Cap::Destroy | Cap::Disrupt));
            overrule("destructiveHint", "it is not destructive", found);
        }
        if hints.open_world_hint == Some(false) {
            let found = strongest(&caps, |c| matches!(c, Cap::Send | Cap::Network));
            overrule("openWorldHint", "it stays on this machine", found);
        }
        self.caps = caps;
    }

    fn scanner(&mut self, scan: ScanFindings) {
        if scan.count == 0 {
            return;
        }
        let issues = if scan.count == 1 { "issue" } else { "issues" };
        if scan.flagged() {
            self.reason(
                RiskSignal::ScannerFlagged,
                RiskTier::Critical,
                Evidence::Scanner,
                None,
                format!(
                    "The scanner flagged {} {issues} in its definition.",
                    scan.count
                ),
            );
        } else {
            self.reason(
                RiskSignal::ScannerNoted,
                RiskTier::Medium,
                Evidence::Scanner,
                None,
                format!(
                    "The scanner noted {} minor {issues} in its definition.",
                    scan.count
                ),
            );
        }
    }

    fn finish(mut self) -> RiskAssessment {
        if self.reasons.is_empty() {
            self.reasons.push(RiskReason {
                signal: RiskSignal::NothingFound,
                tier: RiskTier::Low,
                evidence: Evidence::Definition,
                word: None,
                message: "Nothing in its name, description, arguments or annotations suggests it changes or sends anything.".into(),
            });
        }
        // Highest tier first; the order found is kept within a tier.
        self.reasons.sort_by_key(|r| std::cmp::Reverse(r.tier));
        let tier = self.reasons[0].tier;
        RiskAssessment {
            tier,
            default_decision: tier.default_decision(),
            needs_confirmation_to_always_allow: tier == RiskTier::Critical,
            reasons: self.reasons,
            reads_private: self.flow.iter().any(|f| f.mark == FlowMark::ReadsPrivate),
            sends_out: self.flow.iter().any(|f| f.mark == FlowMark::SendsOut),
            flow_reasons: self.flow,
        }
    }
}

#[cfg(test)]
#[path = "risk_tests.rs"]
mod tests;
