//! Restore and plain-text secrets.
//!
//! `clients import` moved the secret values of a client's entries into the
//! keychain, and `connect` left them out of the file. A byte-exact restore
//! would write them back in plain text, which the person may not want: they
//! are asked first. [`returning`] names the secrets a restore would put back
//! (those in the restored text and not in the current one); [`leave_out`]
//! gives the restored text with those values emptied instead. The values
//! stay in the keychain either way.

use serde::Serialize;
use ts_rs::TS;

use super::{Client, FindingRule, findings};

/// A plain-text secret in a client's config, by place, never by value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[ts(export)]
pub struct PlainSecret {
    /// The entry holding it.
    pub entry: String,
    /// Where in the entry: `env.KEY`, `headers.NAME`, `args.N` or `url`.
    pub field: String,
}

impl std::fmt::Display for PlainSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.entry, self.field)
    }
}

/// Every plain-text secret in `client`'s config `text`, with its value.
/// Empty when the text does not parse.
pub(super) fn plain_secrets(client: Client, text: &str) -> Vec<(PlainSecret, String)> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for entry in super::parse(client, body).unwrap_or_default() {
        for finding in findings::entry_findings(&entry) {
            if finding.rule != FindingRule::PlaintextSecret {
                continue;
            }
            let Some(field) = finding.field else {
                continue;
            };
            let value = if let Some(k) = field.strip_prefix("env.") {
                entry.env.get(k).cloned()
            } else if let Some(k) = field.strip_prefix("headers.") {
                entry.headers.get(k).cloned()
            } else if let Some(i) = field.strip_prefix("args.") {
                i.parse::<usize>()
                    .ok()
                    .and_then(|i| entry.args.get(i).cloned())
            } else if field == "url" {
                entry.url.clone()
            } else {
                None
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                let place = PlainSecret {
                    entry: entry.name.clone(),
                    field,
                };
                out.push((place, value));
            }
        }
    }
    out
}

/// The secrets that going from `before` to `after` would write into the
/// file in plain text: values `after` holds that `before` does not.
pub fn returning(client: Client, before: &str, after: &str) -> Vec<PlainSecret> {
    let mut out: Vec<PlainSecret> = new_values(client, before, after)
        .into_iter()
        .map(|(place, _)| place)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn new_values(client: Client, before: &str, after: &str) -> Vec<(PlainSecret, String)> {
    let old: Vec<String> = plain_secrets(client, before)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    plain_secrets(client, after)
        .into_iter()
        .filter(|(_, v)| !old.contains(v))
        .collect()
}

/// `after` with the values of the secrets [`returning`] names emptied: a
/// quoted value becomes `""`, a bare (YAML) one too, and a secret inside a
/// longer string is cut out of it. Fails, writing nothing, when a value
/// cannot be found as written (escaped in the file, say) or is still there
/// afterwards: the caller then offers the exact restore or nothing.
pub fn leave_out(client: Client, before: &str, after: &str) -> Result<String, String> {
    let mut values: Vec<String> = new_values(client, before, after)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    let mut text = after.to_string();
    for value in &values {
        text = empty_occurrences(&text, value);
    }
    let left = returning(client, before, &text);
    let reparses = super::parse(client, text.strip_prefix('\u{feff}').unwrap_or(&text)).is_ok();
    if !left.is_empty() || !reparses {
        let names: Vec<String> = left.iter().map(ToString::to_string).collect();
        return Err(format!(
            "cannot leave the secrets out of the restored file ({}); restore it with the secrets, or not at all",
            if names.is_empty() {
                "the result would not parse".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    Ok(text)
}

/// `text` with every occurrence of `value` emptied: with its quotes when it
/// is a whole quoted string, else just the value.
fn empty_occurrences(text: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(value) {
        let before = &rest[..at];
        let after = &rest[at + value.len()..];
        let quote = before
            .chars()
            .next_back()
            .filter(|q| matches!(q, '"' | '\'') && after.starts_with(*q));
        match quote {
            Some(q) => {
                out.push_str(&before[..before.len() - q.len_utf8()]);
                out.push_str("\"\"");
                rest = &after[q.len_utf8()..];
            }
            None => {
                out.push_str(before);
                if bare_scalar(before, after) {
                    out.push_str("\"\"");
                }
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether the value between `before` and `after` is a whole unquoted YAML
/// scalar (`KEY: value` up to the end of the line or a comment).
fn bare_scalar(before: &str, after: &str) -> bool {
    let line_start = before.rsplit('\n').next().unwrap_or(before);
    let rest_of_line = after.split('\n').next().unwrap_or(after);
    let rest = rest_of_line.trim_end_matches('\r').trim_start();
    line_start.trim_end().ends_with(':') && (rest.is_empty() || rest.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "ghp_CANARYrestore0000000000000000000000";

    #[test]
    fn returning_names_only_secrets_the_restore_adds() {
        let after = format!(
            r#"{{"mcpServers": {{
  "gh": {{"command": "npx", "env": {{"GITHUB_TOKEN": "{CANARY}"}}}},
  "old": {{"command": "x", "env": {{"API_KEY": "sk-live-aaaaaaaaaaaaaaaaaaaaaaaa"}}}}
}}}}"#
        );
        let before = r#"{"mcpServers": {
  "gh": {"command": "/bin/gatehouse", "args": ["run", "gh"]},
  "old": {"command": "x", "env": {"API_KEY": "sk-live-aaaaaaaaaaaaaaaaaaaaaaaa"}}
}}"#;
        assert_eq!(
            returning(Client::Cursor, before, &after),
            vec![PlainSecret {
                entry: "gh".into(),
                field: "env.GITHUB_TOKEN".into()
            }]
        );
        assert!(returning(Client::Cursor, &after, &after).is_empty());
    }

    #[test]
    fn leave_out_empties_json_toml_and_yaml_values() {
        let cases = [
            (
                Client::Cursor,
                "{\"mcpServers\": {\"gh\": {\"command\": \"npx\", \"env\": {\"GITHUB_TOKEN\": \"VALUE\", \"LOG\": \"debug\"}}}}\n",
                "{\"mcpServers\": {\"gh\": {\"command\": \"npx\", \"env\": {\"GITHUB_TOKEN\": \"\", \"LOG\": \"debug\"}}}}\n",
            ),
            (
                Client::Codex,
                "[mcp_servers.gh]\ncommand = \"npx\"\nenv = { GITHUB_TOKEN = 'VALUE' }\n",
                "[mcp_servers.gh]\ncommand = \"npx\"\nenv = { GITHUB_TOKEN = \"\" }\n",
            ),
            (
                Client::Goose,
                "extensions:\n  gh:\n    type: stdio\n    cmd: npx\n    envs:\n      GITHUB_TOKEN: VALUE # the token\n",
                "extensions:\n  gh:\n    type: stdio\n    cmd: npx\n    envs:\n      GITHUB_TOKEN: \"\" # the token\n",
            ),
        ];
        for (client, template, expected) in cases {
            let after = template.replace("VALUE", CANARY);
            assert_eq!(returning(client, "", &after).len(), 1, "{client}");
            let out = leave_out(client, "", &after).unwrap();
            assert_eq!(out, expected, "{client}");
            assert!(returning(client, "", &out).is_empty());
        }
    }

    #[test]
    fn every_copy_of_a_value_goes_comments_included() {
        let after = format!(
            "{{\n  // old token: {CANARY}\n  \"servers\": {{\"gh\": {{\"command\": \"npx\", \"env\": {{\"GITHUB_TOKEN\": \"{CANARY}\"}}}}}}\n}}\n"
        );
        let out = leave_out(Client::VsCode, "", &after).unwrap();
        assert!(!out.contains(CANARY), "{out}");
        assert!(out.contains(r#""GITHUB_TOKEN": """#), "{out}");
    }

    #[test]
    fn an_escaped_value_fails_closed() {
        // The value holds a quote, written escaped: it cannot be found as
        // written, so leaving it out is refused rather than half done.
        let after = r#"{"mcpServers": {"gh": {"command": "npx", "env": {"API_KEY": "sk-live-\"aaaaaaaaaaaaaaaaaaaaaaaa"}}}}"#;
        let err = leave_out(Client::Cursor, "", after).unwrap_err();
        assert!(err.contains("gh env.API_KEY"), "{err}");
    }
}
