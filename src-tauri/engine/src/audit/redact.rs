//! Keeping secrets out of the audit log.
//!
//! Two rules, applied by the audit writer thread before anything is stored:
//! values under keys that look secret (`password`, `api_key`, `token`, ...)
//! are replaced, and any occurrence of a secret Gatehouse injected into the
//! server (a known value) is replaced wherever it appears, keys or text.

use serde_json::Value;

use crate::SecretValue;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Key fragments (lowercase, without `-` and `_`) that mark a secret value.
const SECRET_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "privatekey",
    "accesskey",
    "cookie",
    "sessionid",
    "bearer",
];

/// Removes secrets from text bound for the audit log.
#[derive(Debug, Default)]
pub struct Redactor {
    known: Vec<SecretValue>,
}

impl Redactor {
    /// A redactor that also replaces each of `known` values.
    pub fn new(known: impl IntoIterator<Item = SecretValue>) -> Self {
        // Very short values would mangle ordinary text; they are still
        // covered when they sit under a secret-looking key.
        let known = known
            .into_iter()
            .filter(|v| v.expose().len() >= 4)
            .collect();
        Self { known }
    }

    /// Redacts a JSON document given as text. Text that is not JSON is
    /// treated as plain text.
    pub fn json(&self, text: &str) -> String {
        match serde_json::from_str::<Value>(text) {
            Ok(mut value) => {
                self.value(&mut value);
                value.to_string()
            }
            Err(_) => self.text(text),
        }
    }

    /// Replaces known secret values in plain text.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.known {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), REDACTED);
            }
        }
        out
    }

    /// Redacts a piece of JSON cut off at some byte (a preview of a longer
    /// document): known values everywhere, and every string value under a
    /// secret-looking key, including one the cut leaves unterminated.
    pub fn fragment(&self, text: &str) -> String {
        let text = self.text(text);
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some((key, value_start)) = next_string_member(rest) {
            let (head, tail) = rest.split_at(value_start);
            out.push_str(head);
            let value_len = string_len(tail);
            if key_looks_secret(key) {
                out.push_str(REDACTED);
                // Keep the closing quote, if the cut left one.
                if tail[..value_len].ends_with('"') {
                    out.push('"');
                }
            } else {
                out.push_str(&tail[..value_len]);
            }
            rest = &tail[value_len..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, value: &mut Value) {
        match value {
            Value::String(s) if self.known.iter().any(|k| s.contains(k.expose())) => {
                *s = self.text(s);
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => {
                let renamed: Vec<String> = map
                    .keys()
                    .filter(|k| self.known.iter().any(|s| k.contains(s.expose())))
                    .cloned()
                    .collect();
                for key in renamed {
                    if let Some(v) = map.remove(&key) {
                        map.insert(self.text(&key), v);
                    }
                }
                for (key, v) in map.iter_mut() {
                    if key_looks_secret(key) && !v.is_null() {
                        *v = Value::String(REDACTED.into());
                    } else {
                        self.value(v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The next `"key": "` in `text`: the key, and the offset just after the
/// value's opening quote.
fn next_string_member(text: &str) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(open) = text[from..].find('"').map(|i| from + i) {
        let len = string_len(&text[open + 1..]);
        let close = open + 1 + len;
        if !text[open + 1..close].ends_with('"') {
            return None; // an unterminated string ends the text
        }
        let key = &text[open + 1..close - 1];
        let mut at = close;
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        if bytes.get(at) == Some(&b':') {
            at += 1;
            while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
                at += 1;
            }
            if bytes.get(at) == Some(&b'"') {
                return Some((key, at + 1));
            }
        }
        from = close;
    }
    None
}

/// The length of a JSON string's body and closing quote at the start of
/// `text` (just after its opening quote): all of `text` if it never closes.
fn string_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// Whether a key names a secret: `apiKey`, `X-Api-Key`, `db_password`, ...
pub fn key_looks_secret(key: &str) -> bool {
    let normal: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    normal == "auth" || normal == "pat" || SECRET_KEY_PARTS.iter().any(|p| normal.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_document_loses_its_secret_values_even_unterminated() {
        let r = Redactor::new([SecretValue::new("known-secret-value")]);
        let cut = r#"{"note": "known-secret-value here", "items": [{"api_key": "sk-1\"2", "name": "a"}], "password": "hunt"#;
        let out = r.fragment(cut);
        assert_eq!(
            out,
            r#"{"note": "[REDACTED] here", "items": [{"api_key": "[REDACTED]", "name": "a"}], "password": "[REDACTED]"#
        );
        // A key cut off in the middle is left as it is: there is no value.
        assert_eq!(r.fragment(r#"{"a": "b", "tok"#), r#"{"a": "b", "tok"#);
        // Escaped quotes inside an ordinary value do not end it early.
        assert_eq!(
            r.fragment(r#"{"q": "say \"token\": \"x\"", "b": 1}"#),
            r#"{"q": "say \"token\": \"x\"", "b": 1}"#
        );
    }

    #[test]
    fn secret_looking_keys_are_redacted_at_any_depth() {
        let r = Redactor::default();
        let out = r.json(r#"{"query":"weather","auth":{"apiKey":"sk-1","user":"ann"},"headers":[{"Authorization":"Bearer x"}],"author":"Kim","max_tokens":5}"#);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["query"], "weather");
        assert_eq!(v["auth"], REDACTED);
        assert_eq!(v["headers"][0]["Authorization"], REDACTED);
        assert_eq!(v["author"], "Kim", "ordinary words are left alone");
        // `max_tokens` holds a number, but the key matches: redaction errs on the safe side.
        assert_eq!(v["max_tokens"], REDACTED);
    }

    #[test]
    fn known_secret_values_are_replaced_everywhere() {
        let r = Redactor::new([SecretValue::new("canary-1234")]);
        let out =
            r.json(r#"{"note":"use canary-1234 please","list":["canary-1234"],"canary-1234":1}"#);
        assert!(!out.contains("canary-1234"), "{out}");
        assert_eq!(
            r.text("error: bad key canary-1234"),
            "error: bad key [REDACTED]"
        );
        assert_eq!(r.json("not json canary-1234"), "not json [REDACTED]");
    }
}
