//! GET and DELETE, which only the session style has: a session's stream
//! of server messages, and its end.

use hyper::header::{ALLOW, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};

use super::Shared;
use super::body::{Body, Events, Source};
use super::headers::{self, Accept, SESSION_ID, SESSION_VERSIONS, STATELESS_VERSIONS};
use super::reply::{TRANSPORT_ERROR, error, events, session_not_found, status};

/// GET: the session's stream of server messages.
pub(super) fn get(
    shared: &Shared,
    client: &str,
    server: &str,
    headers: &HeaderMap,
) -> Response<Body> {
    if !Accept::of(headers).events {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            TRANSPORT_ERROR,
            "Not acceptable: a GET stream is text/event-stream",
        );
    }
    let Some(session_id) = session_of(headers) else {
        return no_session_here();
    };
    let Some(link) = shared.sessions.get(session_id, server, client) else {
        return session_not_found(None);
    };
    if let Some(refused) = unsupported_session_version(headers) {
        return refused;
    }
    link.touch();
    match link.listen() {
        Some(rx) => events(Events::new(None, Source::Listen(rx))),
        None => error(
            StatusCode::CONFLICT,
            None,
            TRANSPORT_ERROR,
            "Conflict: this session's GET stream is open already",
        ),
    }
}

/// DELETE: ends the session.
pub(super) async fn delete(
    shared: &Shared,
    client: &str,
    server: &str,
    headers: &HeaderMap,
) -> Response<Body> {
    let Some(session_id) = session_of(headers) else {
        return no_session_here();
    };
    if shared.sessions.get(session_id, server, client).is_none() {
        return session_not_found(None);
    }
    shared.sessions.end(session_id).await;
    status(StatusCode::OK)
}

/// The session id, unless the request is in the stateless style.
fn session_of(headers: &HeaderMap) -> Option<&str> {
    let stateless = headers
        .get(headers::PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| STATELESS_VERSIONS.contains(&v.trim()));
    if stateless {
        return None;
    }
    headers.get(SESSION_ID).and_then(|v| v.to_str().ok())
}

/// A session request's `MCP-Protocol-Version`, if sent, must be one the
/// gateway speaks: the refusal if it is not.
pub(super) fn unsupported_session_version(headers: &HeaderMap) -> Option<Response<Body>> {
    match headers::protocol_version(headers) {
        Ok(None) => None,
        Ok(Some(v)) if SESSION_VERSIONS.contains(&v) => None,
        Ok(Some(v)) => Some(error(
            StatusCode::BAD_REQUEST,
            None,
            TRANSPORT_ERROR,
            &format!(
                "Bad request: unsupported MCP-Protocol-Version '{v}' (supported: {})",
                SESSION_VERSIONS.join(", ")
            ),
        )),
        Err(why) => Some(error(StatusCode::BAD_REQUEST, None, TRANSPORT_ERROR, &why)),
    }
}

/// GET or DELETE without a session: the stateless revision has neither.
fn no_session_here() -> Response<Body> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        TRANSPORT_ERROR,
        "Method not allowed: GET and DELETE need an Mcp-Session-Id",
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    response
}
