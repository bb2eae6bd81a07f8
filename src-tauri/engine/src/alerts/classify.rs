//! What the rules read from a record: whether its tool destroys, writes or
//! reads, the domains its URL arguments target, and whether the upstream
//! said "rate limited".

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::policy::risk::{RiskSignal, ScanFindings, ToolDefinition, assess};

/// What a tool does, as far as the streak rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Kind {
    /// Deletes or destroys data.
    pub destructive: bool,
    /// Changes something (destructive tools too).
    pub write: bool,
    /// Only reads or computes: ends a run of writes.
    pub read: bool,
}

/// Classifies a tool from its stored definition (the `tools/list` entry as
/// JSON), or from its name alone when the definition is unknown or
/// unreadable, with the same risk assessment the policy uses. Only the
/// first sentence of the description counts: later ones often mention
/// other tools ("use delete_file to remove one").
pub(super) fn classify(tool: &str, definition: Option<&str>) -> Kind {
    let mut def = definition
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|v| ToolDefinition::from_json(&v))
        .unwrap_or_else(|| ToolDefinition {
            name: tool.to_string(),
            ..ToolDefinition::default()
        });
    if let Some(description) = &mut def.description {
        let first = first_sentence(description).len();
        description.truncate(first);
    }
    let assessment = assess(&def, ScanFindings::NONE);
    let has = |s: RiskSignal| assessment.reasons.iter().any(|r| r.signal == s);
    let destructive = has(RiskSignal::Destroys) || has(RiskSignal::HintDestructive);
    let write = destructive
        || has(RiskSignal::Writes)
        || has(RiskSignal::Changes)
        || has(RiskSignal::Deploys)
        || has(RiskSignal::HintNotReadOnly);
    let other = has(RiskSignal::Executes)
        || has(RiskSignal::MovesMoney)
        || has(RiskSignal::Disrupts)
        || has(RiskSignal::Sends);
    Kind {
        destructive,
        write,
        read: !write && !other,
    }
}

/// The text up to the end of its first sentence (`.`, `!` or `?` before
/// whitespace, or a line break).
fn first_sentence(text: &str) -> &str {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let next_is_space = bytes.get(i + 1).is_none_or(|c| c.is_ascii_whitespace());
        if b == b'\n' || (matches!(b, b'.' | b'!' | b'?') && next_is_space) {
            return &text[..=i];
        }
    }
    text
}

/// The domains (lowercase hosts) of the URLs among the string values of
/// `arguments` (redacted JSON), each once, in order of appearance. A
/// stored preview of long arguments is a JSON string, not an object, and
/// yields none.
pub(super) fn domains(arguments: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(arguments) else {
        return Vec::new();
    };
    if value.is_string() {
        return Vec::new();
    }
    let mut out = Vec::new();
    collect(&value, &mut out, 0);
    out
}

fn collect(value: &Value, out: &mut Vec<String>, depth: usize) {
    // Arguments are bounded by the preview size; depth is bounded too.
    if depth > 32 {
        return;
    }
    match value {
        Value::String(s) => {
            if let Some(host) = host_of(s)
                && !out.contains(&host)
            {
                out.push(host);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out, depth + 1)),
        Value::Object(map) => map.values().for_each(|v| collect(v, out, depth + 1)),
        _ => {}
    }
}

/// The host of `text` if it is a web URL.
fn host_of(text: &str) -> Option<String> {
    let text = text.trim();
    let scheme_end = text.find("://")?;
    let scheme = text[..scheme_end].to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp") {
        return None;
    }
    let url = url::Url::parse(text).ok()?;
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// Words that say "rate limited": an HTTP status 429 named as such, "rate
/// limit" or "too many requests". A bare 429 is not enough (an issue or
/// line number).
fn rate_limit_words() -> &'static Regex {
    static WORDS: OnceLock<Regex> = OnceLock::new();
    WORDS.get_or_init(|| {
        Regex::new(
            r"(?i)\b(?:http|status|code|error)\W{0,3}429\b|\b429\W{0,3}too many|rate[ _-]?limit|too many requests",
        )
        .expect("a valid pattern")
    })
}

/// Whether a JSON-RPC error object says the upstream rate-limited the call:
/// code 429, or the words in its message or data.
pub(super) fn is_rate_limit(rpc_error: &str) -> bool {
    let words = rate_limit_words();
    let Ok(error) = serde_json::from_str::<Value>(rpc_error) else {
        return words.is_match(rpc_error);
    };
    if error.get("code").and_then(Value::as_i64) == Some(429) {
        return true;
    }
    let text = |key: &str| match error.get(key) {
        Some(Value::String(s)) => words.is_match(s),
        Some(Value::Null) | None => false,
        Some(other) => words.is_match(&other.to_string()),
    };
    text("message") || text("data")
}

/// Whether a tool result that is an error (`isError: true`; stored
/// redacted, maybe as a preview) says the upstream rate-limited the call.
pub(super) fn result_is_rate_limit(result: &str) -> bool {
    rate_limit_words().is_match(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_definitions_classify_tools() {
        let k = classify("delete_file", None);
        assert!(k.destructive && k.write && !k.read, "{k:?}");
        let k = classify("write_file", None);
        assert!(!k.destructive && k.write && !k.read, "{k:?}");
        let k = classify("read_file", None);
        assert!(!k.write && k.read, "{k:?}");
        // The stored definition wins over a harmless-looking name.
        let def = r#"{"name":"tidy","annotations":{"destructiveHint":true}}"#;
        assert!(classify("tidy", Some(def)).destructive);
        // A read tool whose description mentions deleting is still a read.
        let def =
            r#"{"name":"list_files","description":"Lists files. Use delete_file to remove one."}"#;
        let k = classify("list_files", Some(def));
        assert!(!k.destructive && k.read, "{k:?}");
    }

    #[test]
    fn finds_the_domains_of_url_arguments() {
        let args = r#"{"url":"https://API.github.com./repos","opts":{"mirrors":["http://evil.example:8080/x","https://api.github.com/z"]},"note":"see example.org","n":3}"#;
        let mut found = domains(args);
        found.sort();
        assert_eq!(found, ["api.github.com", "evil.example"]);
        assert!(domains(r#"{"path":"/tmp/x","cmd":"file:///etc/passwd"}"#).is_empty());
        assert!(domains(r#""{\"url\":\"https://evil.example\"""#).is_empty());
        assert!(domains("not json").is_empty());
    }

    #[test]
    fn recognises_rate_limit_errors() {
        assert!(is_rate_limit(r#"{"code":429,"message":"slow down"}"#));
        assert!(is_rate_limit(
            r#"{"code":-32603,"message":"upstream said HTTP 429"}"#
        ));
        assert!(!is_rate_limit(
            r#"{"code":-32603,"message":"issue 429 is closed"}"#
        ));
        assert!(is_rate_limit(
            r#"{"code":-32000,"message":"x","data":{"status":"Too Many Requests"}}"#
        ));
        assert!(is_rate_limit(
            r#"{"code":-32000,"message":"Rate limit exceeded"}"#
        ));
        assert!(!is_rate_limit(
            r#"{"code":-32000,"message":"item 14290 not found"}"#
        ));
        assert!(!is_rate_limit(
            r#"{"code":-32601,"message":"Method not found"}"#
        ));
    }
}
