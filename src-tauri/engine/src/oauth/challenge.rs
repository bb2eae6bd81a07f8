//! The `WWW-Authenticate` header of a 401 or 403 (RFC 9110 §11.6.1): its
//! `Bearer` challenge's parameters (RFC 6750 §3, RFC 9728 §5.1).

/// What a resource server's `Bearer` challenge says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// Where the resource's protected resource metadata is (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// The scopes the request needs, space-separated (RFC 6750 §3).
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, `invalid_request`...
    pub error: Option<String>,
    /// The server's explanation of `error`, for people.
    pub error_description: Option<String>,
}

impl Challenge {
    /// The `Bearer` challenge in a `WWW-Authenticate` header value, which may
    /// hold several challenges (`Basic realm="x", Bearer scope="y"`). `None`
    /// when there is no `Bearer` challenge.
    pub fn parse(header: &str) -> Option<Self> {
        let mut bearer = None;
        for (scheme, params) in challenges(header) {
            if scheme.eq_ignore_ascii_case("bearer") {
                bearer = Some(params);
                break;
            }
        }
        let mut challenge = Challenge::default();
        for (name, value) in bearer? {
            let slot = match name.to_ascii_lowercase().as_str() {
                "resource_metadata" => &mut challenge.resource_metadata,
                "scope" => &mut challenge.scope,
                "error" => &mut challenge.error,
                "error_description" => &mut challenge.error_description,
                _ => continue,
            };
            // The first occurrence wins; a repeated parameter is malformed.
            slot.get_or_insert(value);
        }
        Some(challenge)
    }

    /// Whether the server asks for more scopes than the token has (a 403).
    pub fn insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// Each challenge's scheme and its `name=value` parameters (values
/// unquoted). A token68 credential (`Negotiate abc==`) is skipped.
fn challenges(header: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return out;
        }
        let (token, after) = split_token(rest);
        if token.is_empty() {
            // Not a token: skip one character and carry on rather than give up.
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
            continue;
        }
        let after_ws = after.trim_start_matches([' ', '\t']);
        if let Some(value_part) = after_ws.strip_prefix('=') {
            let value_part = value_part.trim_start_matches([' ', '\t']);
            // `token=` followed by more `=` or a separator is a token68, not a
            // parameter.
            if value_part.is_empty() || value_part.starts_with([',', '=']) {
                rest = value_part.trim_start_matches('=');
                continue;
            }
            let (value, after_value) = if let Some(quoted) = value_part.strip_prefix('"') {
                unquote(quoted)
            } else {
                let (v, a) = split_token(value_part);
                (v.to_string(), a)
            };
            if let Some((_, params)) = out.last_mut() {
                params.push((token.to_string(), value));
            }
            rest = after_value;
        } else {
            // A token not followed by `=`: a new challenge's scheme.
            out.push((token.to_string(), Vec::new()));
            rest = after_ws;
        }
    }
}

/// An RFC 9110 token at the start of `s`, and what follows it.
fn split_token(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/:".contains(c)))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// A quoted string whose opening quote is gone: its value with `\x`
/// escapes undone, and what follows the closing quote.
fn unquote(s: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &s[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    (value, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_parse() {
        let c = Challenge::parse(
            r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource",
                         scope="files:read""#,
        )
        .unwrap();
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(c.scope.as_deref(), Some("files:read"));
        assert!(!c.insufficient_scope());

        let c = Challenge::parse(
            r#"Bearer error="insufficient_scope", scope="files:read files:write user:profile", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", error_description="Additional file write permission required""#,
        )
        .unwrap();
        assert!(c.insufficient_scope());
        assert_eq!(
            c.scope.as_deref(),
            Some("files:read files:write user:profile")
        );
        assert_eq!(
            c.error_description.as_deref(),
            Some("Additional file write permission required")
        );
    }

    #[test]
    fn the_bearer_challenge_is_found_among_others() {
        let c = Challenge::parse(
            r#"Negotiate abc==, Basic realm="a, b", Bearer realm="x", error=invalid_token, scope="s\"q""#,
        )
        .unwrap();
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.scope.as_deref(), Some("s\"q"));
        assert_eq!(c.resource_metadata, None);
        assert!(Challenge::parse(r#"Basic realm="Bearer""#).is_none());
        assert!(Challenge::parse("").is_none());
        assert_eq!(Challenge::parse("bearer"), Some(Challenge::default()));
    }

    #[test]
    fn a_repeated_parameter_keeps_its_first_value() {
        let c = Challenge::parse(r#"Bearer scope="a", scope="b""#).unwrap();
        assert_eq!(c.scope.as_deref(), Some("a"));
    }
}
