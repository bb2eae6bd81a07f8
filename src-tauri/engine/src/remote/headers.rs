//! The request metadata headers of the 2026-07-28 revision: `Mcp-Method`
//! and `Mcp-Name` mirror the body, and a value a header cannot carry as it
//! is goes in the Base64 sentinel form `=?base64?…?=`.

use std::borrow::Cow;

use base64::Engine as _;
use hyper::header::HeaderValue;

/// The header value carrying `value`: as it is when it is plain visible
/// ASCII without surrounding spaces and not itself shaped like the
/// sentinel; Base64 in the sentinel otherwise.
pub(super) fn mirrored(value: &str) -> HeaderValue {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) || b == b'\t')
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && !is_sentinel(value);
    if plain && let Ok(header) = HeaderValue::from_str(value) {
        return header;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(value);
    HeaderValue::from_str(&format!("=?base64?{encoded}?=")).expect("Base64 is a valid header value")
}

/// A header value in the sentinel form decoded; any other as it is. `Err`
/// says what is wrong with a sentinel.
pub(crate) fn unmirrored(value: &str) -> Result<Cow<'_, str>, &'static str> {
    let Some(encoded) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    else {
        return Ok(Cow::Borrowed(value));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| "is not valid base64")?;
    String::from_utf8(bytes)
        .map(Cow::Owned)
        .map_err(|_| "does not decode to UTF-8")
}

/// Shaped like the sentinel, so a plain value like it must be encoded.
fn is_sentinel(value: &str) -> bool {
    value.starts_with("=?base64?") && value.ends_with("?=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_as_the_spec_shows() {
        let cases = [
            ("us-west1", "us-west1"),
            ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            (" padded ", "=?base64?IHBhZGRlZCA=?="),
            ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
            ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
        ];
        for (value, header) in cases {
            assert_eq!(mirrored(value).to_str().unwrap(), header, "{value:?}");
            assert_eq!(unmirrored(header).unwrap(), value, "back from {header:?}");
        }
        assert!(unmirrored("=?base64?not base64!?=").is_err());
        assert!(unmirrored("=?base64?/w==?=").is_err(), "not UTF-8");
    }
}
