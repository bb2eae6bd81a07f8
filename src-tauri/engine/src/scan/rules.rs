//! The phrase rules: what is matched in each folded string, and how the
//! sentence around a match decides whether it counts.
//!
//! Patterns are matched on [`Folded`] text (lowercase, look-alikes folded,
//! whitespace collapsed). One Aho-Corasick pass over the prefixes of all
//! patterns tells which can match; only those run. Each pattern has a [`Kind`] that
//! says how its context is weighed (see [`super`] for the overview).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::ScanSeverity::High;
use super::normalize::Folded;
use super::patterns::{self, CONTEXT, Kind, PATTERNS};
use super::{ScanRule, ScanSeverity, hidden, visible};

/// One match before the tool as a whole is weighed.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The rule it counts for.
    pub rule: ScanRule,
    /// Its severity from its own context; `None` for a cue (an instruction
    /// addressed to the model), which only strengthens other evidence.
    pub severity: Option<ScanSeverity>,
    /// Whether the tool-level weighing may raise it (weak evidence).
    pub weak: bool,
    /// The one-line reason.
    pub message: String,
    /// The JSON pointer of the string.
    pub field: String,
    /// Byte range in the original string.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
    /// The original text of the range, made visible.
    pub text: String,
    /// A tool name the match refers to, if any: a reference to the tool
    /// itself, a sibling or a parameter is not shadowing.
    pub refers_to: Option<String>,
}

impl Hit {
    /// A hit on `original[start..end]`.
    pub fn new(
        rule: ScanRule,
        severity: Option<ScanSeverity>,
        message: impl Into<String>,
        field: &str,
        original: &str,
        (start, end): (usize, usize),
    ) -> Hit {
        Hit {
            rule,
            severity,
            weak: false,
            message: message.into(),
            field: field.to_string(),
            start,
            end,
            text: visible(&original[start..end]),
            refers_to: None,
        }
    }
}

/// The patterns, compiled once, with a gate: every match of a pattern starts
/// with one of its prefix literals, so one Aho-Corasick pass over a string
/// tells which patterns can match at all. Patterns whose prefixes are not a
/// small finite set always run.
struct Compiled {
    each: Vec<Regex>,
    gate: AhoCorasick,
    /// The pattern each gate literal belongs to.
    gate_of: Vec<usize>,
    /// Patterns that run on every string.
    always: Vec<usize>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let ascii: Vec<String> = PATTERNS.iter().map(|p| ascii_classes(p.regex)).collect();
    let mut literals: Vec<Vec<u8>> = Vec::new();
    let mut gate_of = Vec::new();
    let mut always = Vec::new();
    for (i, pattern) in ascii.iter().enumerate() {
        match prefixes(pattern) {
            Some(set) => {
                for literal in set {
                    literals.push(literal);
                    gate_of.push(i);
                }
            }
            None => always.push(i),
        }
    }
    Compiled {
        each: ascii
            .iter()
            .map(|r| Regex::new(r).expect("scanner pattern compiles"))
            .collect(),
        gate: AhoCorasick::new(&literals).expect("gate compiles"),
        gate_of,
        always,
    }
});

/// The gate literals of pattern `i` (`None`: it always runs).
#[cfg(test)]
pub fn prefixes_of(i: usize) -> Option<Vec<Vec<u8>>> {
    prefixes(&ascii_classes(PATTERNS[i].regex))
}

/// The literals every match of `pattern` starts with, if they are a finite
/// set of non-empty strings.
fn prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_total(400);
    let seq = extractor.extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// Rewrites `\b`, `\w`, `\s`, `\S` and `\d` to their ASCII forms. The
/// patterns are English and run on folded text, whose only whitespace is a
/// space or a newline; Unicode classes would only make the automata large
/// and keep the fast DFA from running on non-ASCII text.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let replacement = match (next, in_class) {
                    ('b', false) => "(?-u:\\b)",
                    ('w', false) => "[0-9A-Za-z_]",
                    ('s', false) => "[\\t\\n\\r ]",
                    ('S', false) => "[^\\t\\n\\r ]",
                    ('d', false) => "[0-9]",
                    ('w', true) => "0-9A-Za-z_",
                    ('s', true) => "\\t\\n\\r ",
                    ('d', true) => "0-9",
                    _ => {
                        out.push(c);
                        out.push(next);
                        continue;
                    }
                };
                out.push_str(replacement);
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` or `^]` right after the opening bracket is literal.
                if let Some(next) = chars.clone().next()
                    && next == '^'
                {
                    out.push(chars.next().expect("peeked"));
                }
                if let Some(next) = chars.clone().next()
                    && next == ']'
                {
                    out.push(chars.next().expect("peeked"));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The context regexes, compiled once.
static CONTEXT_RE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    CONTEXT
        .iter()
        .map(|r| Regex::new(&ascii_classes(r)).expect("context pattern compiles"))
        .collect()
});

/// Which context a sentence has.
#[derive(Debug, Clone, Copy, Default)]
struct Context {
    /// "send", "forward", "upload", "BCC"…
    send: bool,
    /// "read", "include", "pass", "contents of"…
    read: bool,
    /// "all", "every", "full", "the user's"…
    broad: bool,
    /// Addressed to the model: "you must", "make sure", "before using this tool"…
    cue: bool,
    /// "silently", "secretly", "without telling the user"…
    sneaky: bool,
    /// A URL, an email address or a parameter reference.
    target: bool,
}

fn context(sentence: &str) -> Context {
    let re = &*CONTEXT_RE;
    Context {
        send: re[patterns::SEND].is_match(sentence),
        read: re[patterns::READ].is_match(sentence),
        broad: re[patterns::BROAD].is_match(sentence),
        cue: re[patterns::CUE].is_match(sentence),
        sneaky: re[patterns::SNEAKY].is_match(sentence),
        target: re[patterns::TARGET].is_match(sentence),
    }
}

/// The sentence of `text` around `start..end`: bounded by `.`, `!`, `?` or
/// `;` followed by a space, or by a line break.
fn sentence(text: &str, start: usize, end: usize) -> &str {
    let bytes = text.as_bytes();
    let boundary = |i: usize| {
        bytes[i] == b'\n'
            || (matches!(bytes[i], b'.' | b'!' | b'?' | b';')
                && bytes.get(i + 1).is_none_or(|&b| b == b' ' || b == b'\n'))
    };
    let mut s = start;
    while s > 0 && !boundary(s - 1) {
        s -= 1;
    }
    let mut e = end;
    while e < bytes.len() && !boundary(e) {
        e += 1;
    }
    // Byte positions next to ASCII boundaries are char boundaries.
    &text[s..e]
}

/// Scans one string of a definition: invisible characters, comments and
/// blobs on the original text, then the phrase rules on the folded text.
pub fn scan_string(field: &str, original: &str, hits: &mut Vec<Hit>) {
    hidden::scan_invisible(field, original, hits);
    hidden::scan_structure(field, original, hits);
    let folded = Folded::new(original);
    scan_folded(field, original, &folded, hits);
    if is_value_field(field) {
        value_prose(field, original, &folded, hits);
    }
}

/// Scans text that was hidden inside `original[span]` (tag characters,
/// a base64 payload, a comment): its hits point at the carrier's span.
pub fn scan_hidden_text(
    field: &str,
    original: &str,
    span: (usize, usize),
    decoded: &str,
    hits: &mut Vec<Hit>,
) {
    let mut inner = Vec::new();
    let folded = Folded::new(decoded);
    scan_folded("", decoded, &folded, &mut inner);
    for hit in inner {
        let mut h = Hit::new(
            hit.rule,
            hit.severity,
            format!("in hidden text: {}", hit.message),
            field,
            original,
            span,
        );
        h.weak = hit.weak;
        h.refers_to = hit.refers_to;
        hits.push(h);
    }
}

fn scan_folded(field: &str, original: &str, folded: &Folded, hits: &mut Vec<Hit>) {
    let text = folded.text.as_str();
    if text.is_empty() {
        return;
    }
    let compiled = &*COMPILED;
    let mut run = vec![false; PATTERNS.len()];
    for &i in &compiled.always {
        run[i] = true;
    }
    for m in compiled.gate.find_overlapping_iter(text) {
        run[compiled.gate_of[m.pattern().as_usize()]] = true;
    }
    for ((pattern, regex), _) in PATTERNS
        .iter()
        .zip(&compiled.each)
        .zip(&run)
        .filter(|(_, run)| **run)
    {
        // Most patterns have no groups: a plain search is cheaper than
        // resolving captures.
        let matches: Vec<(usize, usize, Option<String>)> = if regex.captures_len() == 1 {
            regex
                .find_iter(text)
                .map(|m| (m.start(), m.end(), None))
                .collect()
        } else {
            regex
                .captures_iter(text)
                .map(|caps| {
                    // A pattern may mark the offending part with an `at` group.
                    let m = caps.name("at").or_else(|| caps.get(0)).expect("group 0");
                    let named = caps.name("name").or_else(|| caps.name("name2"));
                    (m.start(), m.end(), named.map(|n| n.as_str().to_string()))
                })
                .collect()
        };
        for (start, end, named) in matches {
            let (ms, me) = trim_match(text, start, end);
            if ms >= me {
                continue;
            }
            let span = folded.original(ms, me);
            let Some((severity, weak)) = judge(
                pattern.kind,
                pattern.severity,
                text,
                (ms, me),
                original,
                span,
                named.as_deref(),
            ) else {
                continue;
            };
            let message = match (pattern.kind, severity) {
                (Kind::Path, Some(High)) => "tells the model to read or pass a sensitive file",
                (Kind::Secret, Some(High)) => {
                    "tells the model to send secrets, credentials or the conversation"
                }
                (Kind::Target, Some(High)) => {
                    "tells the model to send data to an address in the description"
                }
                _ => pattern.message,
            };
            let mut hit = Hit::new(pattern.rule, severity, message, field, original, span);
            hit.weak = weak;
            hit.refers_to = named;
            hits.push(hit);
        }
    }
}

/// Drops separators and quotes a pattern consumed at its edges.
fn trim_match(text: &str, mut s: usize, mut e: usize) -> (usize, usize) {
    let b = text.as_bytes();
    while s < e
        && matches!(
            b[s],
            b' ' | b'\n' | b'\'' | b'"' | b'`' | b'(' | b':' | b','
        )
    {
        s += 1;
    }
    while e > s
        && matches!(
            b[e - 1],
            b' ' | b'\n' | b'\'' | b'"' | b'`' | b')' | b',' | b'.' | b';'
        )
    {
        e -= 1;
    }
    (s, e)
}

/// Decides a match's severity from its kind and its sentence; `None` drops it.
/// The second value says whether the tool-level weighing may raise it.
fn judge(
    kind: Kind,
    severity: ScanSeverity,
    text: &str,
    (ms, me): (usize, usize),
    original: &str,
    span: (usize, usize),
    named: Option<&str>,
) -> Option<(Option<ScanSeverity>, bool)> {
    use ScanSeverity::*;
    let ctx = || context(sentence(text, ms, me));
    Some(match kind {
        Kind::Fixed => (Some(severity), false),
        Kind::Weak => (Some(severity), true),
        Kind::Cue => (None, false),
        Kind::Shout => {
            let s = &original[span.0..span.1];
            let shouting = s.chars().any(char::is_alphabetic)
                && s.chars()
                    .filter(|c| c.is_alphabetic())
                    .all(|c| !c.is_lowercase());
            if shouting {
                (Some(severity), false)
            } else {
                (None, false)
            }
        }
        Kind::ShoutOrLow => {
            let s = &original[span.0..span.1];
            let shouting = s
                .chars()
                .filter(|c| c.is_alphabetic())
                .all(|c| !c.is_lowercase());
            if shouting {
                (Some(severity), false)
            } else {
                (Some(Low), true)
            }
        }
        Kind::Path => {
            let rest = &text[me..];
            if text[ms..me].ends_with("env")
                && [".example", ".sample", ".template", ".dist", ".defaults"]
                    .iter()
                    .any(|x| rest.starts_with(x))
            {
                return None;
            }
            let c = ctx();
            if c.read && (c.cue || c.send || c.target || c.sneaky) {
                (Some(High), false)
            } else {
                (Some(Low), c.read || c.send)
            }
        }
        Kind::Secret => {
            let sent = sentence(text, ms, me);
            if sent.contains("password reset") || sent.contains("reset password") {
                return None;
            }
            let c = context(sent);
            if (c.send && (c.target || c.broad)) || (c.sneaky && (c.send || c.read)) {
                (Some(High), false)
            } else if c.send || (c.read && c.broad && (c.cue || c.target)) {
                (Some(Medium), false)
            } else if c.read && (c.cue || c.broad) {
                (Some(Low), true)
            } else {
                return None;
            }
        }
        Kind::Target => {
            let host = &text[ms..me];
            if patterns::is_placeholder(host) {
                return None;
            }
            let c = ctx();
            if c.send {
                (Some(High), false)
            } else if c.cue {
                (Some(Medium), true)
            } else {
                (Some(Low), true)
            }
        }
        Kind::Redirect => {
            let c = ctx();
            if c.cue || c.send {
                (Some(High), false)
            } else {
                (Some(Low), true)
            }
        }
        Kind::OtherTool => {
            // "when X is used, …": not shadowing if X is the tool itself.
            if named.is_some_and(|n| matches!(n, "this" | "it" | "that" | "the" | "a" | "tool")) {
                return None;
            }
            (Some(severity), false)
        }
    })
}

/// Whether `field` is a value slot of a schema (enum, default, const,
/// examples): these hold data, not prose for the model.
fn is_value_field(field: &str) -> bool {
    ["/enum/", "/default", "/const", "/examples/", "/example"]
        .iter()
        .any(|k| field.contains(k))
}

/// A value slot written as an instruction to the model.
fn value_prose(field: &str, original: &str, folded: &Folded, hits: &mut Vec<Hit>) {
    let text = folded.text.as_str();
    let words = text.split(' ').count();
    if words >= 6 && context(text).cue {
        hits.push(Hit::new(
            ScanRule::SchemaInjection,
            Some(ScanSeverity::Medium),
            "a schema value written as an instruction to the model",
            field,
            original,
            (0, original.len()),
        ));
    }
}

/// Parameter names: a side channel (`sidenote` described as "the contents
/// of ~/.ssh/…") or a name that asks for safety to be switched off.
pub fn scan_param_name(
    pointer: &str,
    name: &str,
    definition: &serde_json::Value,
    hits: &mut Vec<Hit>,
) {
    let lower = name.to_ascii_lowercase();
    let description = definition
        .get("description")
        .and_then(|d| d.as_str())
        .unwrap_or("");
    let (severity, message) = if patterns::SIDE_CHANNEL.is_match(&lower)
        && patterns::ASKS_FOR_PRIVATE.is_match(&Folded::new(description).text)
    {
        (
            ScanSeverity::High,
            "a parameter that asks the model for private data or the conversation",
        )
    } else if patterns::BYPASS_PARAM.is_match(&lower) {
        (
            ScanSeverity::Medium,
            "a parameter named to switch off safety or inject instructions",
        )
    } else {
        return;
    };
    let mut hit = Hit::new(
        ScanRule::SchemaInjection,
        Some(severity),
        message,
        pointer,
        name,
        (0, name.len()),
    );
    hit.weak = true;
    hits.push(hit);
}
