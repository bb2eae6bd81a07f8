//! Who may ask: the `Host` and `Origin` of a request must be the gateway's
//! own loopback address (against DNS rebinding), and its bearer token a
//! client's.

use std::sync::Arc;

use hyper::HeaderMap;
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HOST, HeaderValue, ORIGIN, WWW_AUTHENTICATE};

use super::Shared;
use super::reply::{Refused, TRANSPORT_ERROR, error};

/// The `Host` is one of the loopback names of the gateway's port.
pub(super) fn host_is_ours(headers: &HeaderMap, port: u16) -> bool {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| is_loopback_authority(h, port))
}

/// No `Origin` (not a browser), or one of the gateway's own.
pub(super) fn origin_is_ours(headers: &HeaderMap, port: u16) -> bool {
    match headers.get(ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|a| is_loopback_authority(a, port)),
    }
}

/// `127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT`.
pub(super) fn is_loopback_authority(authority: &str, port: u16) -> bool {
    let Some((host, p)) = authority.rsplit_once(':') else {
        return false;
    };
    p.parse::<u16>() == Ok(port)
        && (host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost"))
}

/// The client whose bearer token the request carries.
pub(super) async fn authenticate(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
) -> Result<Arc<str>, Refused> {
    let presented = headers.get(AUTHORIZATION).and_then(|v| {
        let v = v.as_bytes();
        (v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer ")).then(|| v[7..].trim_ascii())
    });
    let Some(presented) = presented else {
        return Err(unauthorized(
            "Bearer realm=\"gatehouse\"",
            "Unauthorized: send the token Gatehouse made for this client as `Authorization: Bearer TOKEN` (`gatehouse gateway token CLIENT` prints it)",
        ));
    };
    if let Some(client) = shared.tokens.find(presented) {
        return Ok(client);
    }
    // A token made a moment ago may not have reached the table yet.
    let tokens = shared.tokens.clone();
    let changed = tokio::task::spawn_blocking(move || tokens.refresh_after_miss())
        .await
        .unwrap_or(false);
    match changed.then(|| shared.tokens.find(presented)).flatten() {
        Some(client) => Ok(client),
        None => Err(unauthorized(
            "Bearer realm=\"gatehouse\", error=\"invalid_token\"",
            "Unauthorized: the bearer token is not one Gatehouse made, or it was rotated or revoked",
        )),
    }
}

fn unauthorized(challenge: &'static str, message: &str) -> Refused {
    let mut response = error(StatusCode::UNAUTHORIZED, None, TRANSPORT_ERROR, message);
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    Box::new(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_loopback_names_of_the_port_are_ours() {
        for ok in [
            "127.0.0.1:4710",
            "localhost:4710",
            "LOCALHOST:4710",
            "[::1]:4710",
        ] {
            assert!(is_loopback_authority(ok, 4710), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:4711",
            "evil.example.com:4710",
            "localhost.evil.example.com:4710",
            "127.0.0.2:4710",
            "[::2]:4710",
            "0.0.0.0:4710",
            "localhost:4710:4710",
        ] {
            assert!(!is_loopback_authority(bad, 4710), "{bad}");
        }
    }
}
