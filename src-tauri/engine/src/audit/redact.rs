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
