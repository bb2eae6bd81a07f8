//! What the gateway reads from request headers and bodies: the protocol
//! versions it speaks, the stateless revision's mirrored headers
//! (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) checked against the
//! body, and the `Accept` header.

use std::borrow::Cow;

use hyper::HeaderMap;
use hyper::header::{ACCEPT, HeaderName};
use serde::Deserialize;
use serde_json::value::RawValue;

/// `MCP-Protocol-Version`.
pub(super) const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Mcp-Session-Id`.
pub(super) const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `Mcp-Method` (2026-07-28).
const METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name` (2026-07-28).
const NAME: HeaderName = HeaderName::from_static("mcp-name");

/// Revisions that open a session with `initialize`.
pub(super) const SESSION_VERSIONS: &[&str] =
    &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// Revisions where each request stands alone.
pub(super) const STATELESS_VERSIONS: &[&str] = &["2026-07-28"];

/// JSON-RPC: the headers do not match the body (2026-07-28).
pub(super) const HEADER_MISMATCH: i64 = -32020;
/// JSON-RPC: the protocol version is not one the server speaks (2026-07-28).
pub(super) const UNSUPPORTED_VERSION: i64 = -32022;
/// JSON-RPC: a method the server does not have.
pub(super) const METHOD_NOT_FOUND: i64 = -32601;

/// The parts of a request's params the gateway reads.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Params<'a> {
    /// `tools/call`, `prompts/get`: the `Mcp-Name` source.
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    /// `resources/read`: the `Mcp-Name` source.
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
    /// `tools/call`: the `Mcp-Param-*` source.
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<Meta<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct Meta<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    protocol_version: Option<Cow<'a, str>>,
    #[serde(rename = "progressToken", borrow, default)]
    progress_token: Option<&'a RawValue>,
}

impl<'a> Params<'a> {
    /// Reads `params`; params that cannot be read read as empty (the
    /// server will say what is wrong with them).
    pub(super) fn of(params: Option<&'a RawValue>) -> Self {
        params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default()
    }

    /// `_meta`'s protocol version: the request is in the stateless style.
    pub(super) fn protocol_version(&self) -> Option<&str> {
        self.meta.as_ref()?.protocol_version.as_deref()
    }

    /// `tools/call`: the tool's name and its arguments, as JSON text.
    pub(super) fn tool_call(&self) -> Option<(&str, Option<&'a str>)> {
        Some((self.name.as_deref()?, self.arguments.map(RawValue::get)))
    }

    /// `_meta.progressToken`, as JSON text.
    pub(super) fn progress_token(&self) -> Option<&'a str> {
        Some(self.meta.as_ref()?.progress_token?.get())
    }
}

/// What the client takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Accept {
    pub json: bool,
    pub events: bool,
}

impl Accept {
    /// From the `Accept` header; none at all takes both.
    pub(super) fn of(headers: &HeaderMap) -> Self {
        let mut accept = Accept {
            json: false,
            events: false,
        };
        let mut any = false;
        for value in headers.get_all(ACCEPT) {
            any = true;
            let Ok(value) = value.to_str() else { continue };
            for range in value.split(',') {
                let media = range.split(';').next().unwrap_or_default().trim();
                let is = |m: &str| media.eq_ignore_ascii_case(m);
                accept.json |= is("application/json") || is("application/*") || is("*/*");
                accept.events |= is("text/event-stream") || is("text/*") || is("*/*");
            }
        }
        if !any {
            return Accept {
                json: true,
                events: true,
            };
        }
        accept
    }
}

/// A header's value without surrounding whitespace; `Err` if it has
/// characters a header value may not (only visible ASCII, space and tab).
fn header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, String> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim_matches([' ', '\t'])))
            .map_err(|_| format!("Header mismatch: {name} has characters a header may not carry")),
    }
}

/// The `MCP-Protocol-Version` header, trimmed; `Err` if unreadable.
pub(super) fn protocol_version(headers: &HeaderMap) -> Result<Option<&str>, String> {
    header(headers, &PROTOCOL_VERSION)
}

/// A header value in the `=?base64?…?=` form, decoded; others as they are.
fn decode(value: &str) -> Result<Cow<'_, str>, String> {
    crate::remote::unmirrored(value).map_err(|why| format!("Header mismatch: Mcp-Name {why}"))
}

/// Why a stateless request is refused: its JSON-RPC code and message, and
/// for an unsupported version, the version asked for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The headers do not match the body, or are missing or malformed.
    Mismatch(String),
    /// A protocol version the gateway does not speak.
    Unsupported(String),
}

/// Checks a stateless request's headers against its body: the protocol
/// version (which must be one the gateway speaks), `Mcp-Method`, and
/// `Mcp-Name` for the methods that name something.
pub(super) fn check_stateless(
    headers: &HeaderMap,
    method: &str,
    params: &Params<'_>,
) -> Result<(), Refusal> {
    let version = protocol_version(headers)
        .map_err(Refusal::Mismatch)?
        .ok_or_else(|| {
            Refusal::Mismatch("Header mismatch: the MCP-Protocol-Version header is missing".into())
        })?;
    match params.protocol_version() {
        Some(body) if body == version => {}
        Some(body) => {
            return Err(Refusal::Mismatch(format!(
                "Header mismatch: MCP-Protocol-Version header value '{version}' does not match body value '{body}'"
            )));
        }
        None => {
            return Err(Refusal::Mismatch(format!(
                "Header mismatch: the body's _meta has no io.modelcontextprotocol/protocolVersion to match MCP-Protocol-Version '{version}'"
            )));
        }
    }
    if !STATELESS_VERSIONS.contains(&version) {
        return Err(Refusal::Unsupported(version.to_string()));
    }
    match header(headers, &METHOD).map_err(Refusal::Mismatch)? {
        None => {
            return Err(Refusal::Mismatch(
                "Header mismatch: the Mcp-Method header is missing".into(),
            ));
        }
        Some(m) if m != method => {
            return Err(Refusal::Mismatch(format!(
                "Header mismatch: Mcp-Method header value '{m}' does not match body value '{method}'"
            )));
        }
        Some(_) => {}
    }
    let named = match method {
        "tools/call" | "prompts/get" => Some(params.name.as_deref()),
        "resources/read" => Some(params.uri.as_deref()),
        _ => None,
    };
    if let Some(body) = named {
        let sent = header(headers, &NAME).map_err(Refusal::Mismatch)?;
        let sent = sent.map(decode).transpose().map_err(Refusal::Mismatch)?;
        match (sent.as_deref(), body) {
            (Some(h), Some(b)) if h == b => {}
            (None, _) => {
                return Err(Refusal::Mismatch(
                    "Header mismatch: the Mcp-Name header is missing".into(),
                ));
            }
            (Some(h), b) => {
                return Err(Refusal::Mismatch(format!(
                    "Header mismatch: Mcp-Name header value '{h}' does not match body value '{}'",
                    b.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_static(k),
                HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
        map
    }

    fn params(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.into()).unwrap()
    }

    const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#;

    #[test]
    fn matching_headers_pass_and_whitespace_around_them_is_ignored() {
        let raw = params(&format!(r#"{{"name":"get_weather",{META}}}"#));
        let p = Params::of(Some(&raw));
        let h = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "  get_weather \t"),
        ]);
        assert_eq!(check_stateless(&h, "tools/call", &p), Ok(()));
    }

    #[test]
    fn a_name_in_the_base64_form_is_decoded_before_comparing() {
        let raw = params(&format!(r#"{{"name":"Hello, 世界",{META}}}"#));
        let p = Params::of(Some(&raw));
        let ok = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "prompts/get"),
            ("mcp-name", "=?base64?SGVsbG8sIOS4lueVjA==?="),
        ]);
        assert_eq!(check_stateless(&ok, "prompts/get", &p), Ok(()));
        let bad = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "prompts/get"),
            ("mcp-name", "=?base64?not base64!?="),
        ]);
        assert!(matches!(
            check_stateless(&bad, "prompts/get", &p),
            Err(Refusal::Mismatch(_))
        ));
    }

    #[test]
    fn mismatches_and_missing_headers_are_refused() {
        let raw = params(&format!(r#"{{"uri":"file:///a",{META}}}"#));
        let p = Params::of(Some(&raw));
        let cases: &[&[(&'static str, &str)]] = &[
            &[("mcp-method", "resources/read"), ("mcp-name", "file:///a")],
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-name", "file:///a"),
            ],
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "RESOURCES/READ"),
                ("mcp-name", "file:///a"),
            ],
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "resources/read"),
            ],
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "resources/read"),
                ("mcp-name", "file:///b"),
            ],
            &[
                ("mcp-protocol-version", "2025-11-25"),
                ("mcp-method", "resources/read"),
                ("mcp-name", "file:///a"),
            ],
        ];
        for case in cases {
            let refused = check_stateless(&headers(case), "resources/read", &p);
            assert!(matches!(refused, Err(Refusal::Mismatch(_))), "{case:?}");
        }
        // Non-ASCII bytes in a header value.
        let mut h = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "resources/read"),
        ]);
        h.insert(NAME, HeaderValue::from_bytes(b"file:///\xe9").unwrap());
        assert!(matches!(
            check_stateless(&h, "resources/read", &p),
            Err(Refusal::Mismatch(_))
        ));
    }

    #[test]
    fn an_unknown_version_is_unsupported_once_header_and_body_agree() {
        let raw = params(r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"1900-01-01"}}"#);
        let p = Params::of(Some(&raw));
        let h = headers(&[
            ("mcp-protocol-version", "1900-01-01"),
            ("mcp-method", "tools/list"),
        ]);
        assert_eq!(
            check_stateless(&h, "tools/list", &p),
            Err(Refusal::Unsupported("1900-01-01".into()))
        );
    }

    #[test]
    fn accept_headers_are_read_by_media_range() {
        let both = headers(&[("accept", "application/json, text/event-stream;q=0.9")]);
        assert_eq!(
            Accept::of(&both),
            Accept {
                json: true,
                events: true
            }
        );
        let json = headers(&[("accept", "application/json")]);
        assert!(!Accept::of(&json).events);
        let any = headers(&[("accept", "*/*")]);
        assert!(Accept::of(&any).json && Accept::of(&any).events);
        let none = headers(&[("accept", "text/html")]);
        assert!(!Accept::of(&none).json && !Accept::of(&none).events);
        assert!(Accept::of(&HeaderMap::new()).json);
    }
}
