//! POST in the session style: a message read whole, checked, and carried
//! into its session (`initialize` opens one); a request waits for its
//! answer as JSON or as an event stream. A POST in the 2026-07-28 style
//! goes on to `stateless`.

use std::sync::Arc;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Response, StatusCode};

use super::Shared;
use super::body::{Body, Events, Source};
use super::headers::{self, Accept, Params, SESSION_ID, SESSION_VERSIONS, STATELESS_VERSIONS};
use super::link::{Link, Routed, WaitError};
use super::reply::{
    INVALID_REQUEST, Refused, TRANSPORT_ERROR, error, events, json, open_refused,
    session_not_found, status,
};
use super::session::unsupported_session_version;
use super::stateless::{stateless_post, status_of};
use crate::proxy::{IdKey, Invalid, Kind, Message, scan_id};

/// JSON-RPC: not JSON.
const PARSE_ERROR: i64 = -32700;

/// A POSTed message.
pub(super) async fn post(
    shared: &Arc<Shared>,
    client: Arc<str>,
    server: &str,
    parts: &Parts,
    body: Incoming,
) -> Response<Body> {
    let headers = &parts.headers;
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            TRANSPORT_ERROR,
            "Unsupported media type: POST one JSON-RPC message as application/json",
        );
    }
    let accept = Accept::of(headers);
    if !accept.json && !accept.events {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            TRANSPORT_ERROR,
            "Not acceptable: the client must accept application/json or text/event-stream",
        );
    }
    let body = match read_body(body, headers, shared.options.max_message_bytes).await {
        Ok(body) => one_line(body),
        Err(refused) => return *refused,
    };
    let (kind, msg) = match Message::parse(&body) {
        Ok(parsed) => parsed,
        Err(invalid) => {
            let id = scan_id(&body);
            let (code, message) = match invalid {
                Invalid::Batch => (
                    INVALID_REQUEST,
                    "Invalid request: JSON-RPC batches are not supported; POST one message".into(),
                ),
                Invalid::NotJsonRpc => (
                    INVALID_REQUEST,
                    "Invalid request: the body is neither a request, a notification nor a response"
                        .into(),
                ),
                Invalid::Malformed(e) => (PARSE_ERROR, format!("Parse error: {e}")),
            };
            return error(
                StatusCode::BAD_REQUEST,
                id.as_ref().map(|id| id.to_json()).as_deref(),
                code,
                &message,
            );
        }
    };
    let method = msg.method().unwrap_or_default();
    let version = match headers::protocol_version(headers) {
        Ok(version) => version,
        Err(why) => return error(StatusCode::BAD_REQUEST, None, TRANSPORT_ERROR, &why),
    };
    let session_id = headers.get(SESSION_ID).and_then(|v| v.to_str().ok());
    let needs_params = kind == Kind::Request
        && (session_id.is_none() || memchr::memmem::find(&body, b"\"progressToken\"").is_some());
    let params = if needs_params {
        Params::of(msg.params())
    } else {
        Params::default()
    };
    // A 2026-07-28 request stands alone, whatever session id it carries; so
    // does one without a session in a version the gateway does not know
    // (it is told which it speaks).
    let stateless = match version {
        Some(v) if STATELESS_VERSIONS.contains(&v) => true,
        Some(v) if SESSION_VERSIONS.contains(&v) => false,
        Some(_) => session_id.is_none(),
        None => {
            session_id.is_none() && method != "initialize" && params.protocol_version().is_some()
        }
    };
    if stateless {
        return stateless_post(
            shared, client, server, headers, accept, kind, &msg, &params, &body,
        )
        .await;
    }
    let id_json = msg.id().map(|id| id.get());
    let Some(session_id) = session_id else {
        if kind == Kind::Request && method == "initialize" {
            return initialize(shared, client, server, accept, &msg, &body).await;
        }
        return error(
            StatusCode::BAD_REQUEST,
            id_json,
            TRANSPORT_ERROR,
            "Bad request: no Mcp-Session-Id; send initialize first (or a 2026-07-28 request with MCP-Protocol-Version)",
        );
    };
    let Some(link) = shared.sessions.get(session_id, server, &client) else {
        return session_not_found(id_json);
    };
    if let Some(refused) = unsupported_session_version(headers) {
        return refused;
    }
    if kind == Kind::Request && method == "initialize" {
        return error(
            StatusCode::BAD_REQUEST,
            id_json,
            INVALID_REQUEST,
            "Invalid request: this session is initialized already; start another without Mcp-Session-Id",
        );
    }
    link.touch();
    if kind != Kind::Request {
        return accepted(&link, &body).await;
    }
    let key = IdKey::of(msg.id().expect("a request has an id"));
    let progress = params.progress_token().map(Box::from);
    exchange(&link, key, &body, accept, progress, None, None).await
}

/// A notification or a response: on its way, nothing to wait for.
pub(super) async fn accepted(link: &Link, line: &[u8]) -> Response<Body> {
    if link.send(line).await {
        status(StatusCode::ACCEPTED)
    } else {
        session_not_found(None)
    }
}

/// Sends a request into the session and answers with what comes back: its
/// response as JSON when that comes first, else an event stream of the
/// messages related to it, ending with the response.
pub(super) async fn exchange(
    link: &Arc<Link>,
    key: IdKey,
    line: &[u8],
    accept: Accept,
    progress: Option<Box<str>>,
    original: Option<Box<str>>,
    session_header: Option<&str>,
) -> Response<Body> {
    let waiting = match link.wait(key, accept.events, progress, original.clone()) {
        Ok(waiting) => waiting,
        Err(WaitError::IdInUse) => {
            return error(
                StatusCode::BAD_REQUEST,
                original.as_deref(),
                INVALID_REQUEST,
                "Invalid request: another request of this session is waiting under the same id",
            );
        }
    };
    if !link.send(line).await {
        return session_not_found(original.as_deref());
    }
    let mut rx = waiting.rx;
    let first = rx.recv().await;
    let mut response = match first {
        Some(Routed::Final { line, error }) if accept.json => {
            let status = if link.stateless {
                status_of(error)
            } else {
                StatusCode::OK
            };
            json(status, line)
        }
        Some(first) => events(Events::new(
            Some(first),
            Source::Request {
                rx,
                _guard: waiting.guard,
            },
        )),
        None => return session_not_found(original.as_deref()),
    };
    if let Some(id) = session_header
        && let Ok(value) = HeaderValue::from_str(id)
    {
        response.headers_mut().insert(SESSION_ID, value);
    }
    response
}

/// `initialize` without a session: a new session, kept if the server
/// accepts.
async fn initialize(
    shared: &Arc<Shared>,
    client: Arc<str>,
    server: &str,
    accept: Accept,
    msg: &Message<'_>,
    line: &[u8],
) -> Response<Body> {
    let id_json = msg.id().map(|id| id.get());
    let link = match shared.sessions.open(shared, server, client).await {
        Ok(link) => link,
        Err(refused) => return open_refused(refused, id_json),
    };
    let key = IdKey::of(msg.id().expect("a request has an id"));
    let waiting = match link.wait(key, accept.events, None, None) {
        Ok(waiting) => waiting,
        Err(WaitError::IdInUse) => unreachable!("a new session has no requests"),
    };
    if !link.send(line).await {
        shared.sessions.end(&link.id).await;
        return session_not_found(id_json);
    }
    let mut rx = waiting.rx;
    let mut response = match rx.recv().await {
        Some(Routed::Final { line, error }) => {
            if error.is_some() {
                // Refused: no session to keep.
                shared.sessions.end(&link.id).await;
                return json(StatusCode::OK, line);
            }
            if accept.json {
                json(StatusCode::OK, line)
            } else {
                events(Events::new(
                    Some(Routed::Final { line, error }),
                    Source::Request {
                        rx,
                        _guard: waiting.guard,
                    },
                ))
            }
        }
        Some(first) => events(Events::new(
            Some(first),
            Source::Request {
                rx,
                _guard: waiting.guard,
            },
        )),
        None => {
            shared.sessions.end(&link.id).await;
            return session_not_found(id_json);
        }
    };
    if let Ok(value) = HeaderValue::from_str(&link.id) {
        response.headers_mut().insert(SESSION_ID, value);
    }
    response
}

/// Reads the whole body, refusing one over `max` bytes.
async fn read_body(body: Incoming, headers: &HeaderMap, max: usize) -> Result<Bytes, Refused> {
    let too_large = || {
        Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            INVALID_REQUEST,
            &format!("Payload too large: the limit is {max} bytes"),
        ))
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            None,
            TRANSPORT_ERROR,
            &format!("Bad request: the body could not be read ({e})"),
        ))),
    }
}

/// The body as one line: a newline can only be whitespace between JSON
/// tokens (in strings it is escaped), so it becomes a space. Most bodies
/// have none and pass untouched.
fn one_line(body: Bytes) -> Bytes {
    if memchr::memchr(b'\n', &body).is_none() {
        return body;
    }
    let mut line = body.to_vec();
    for b in &mut line {
        if *b == b'\n' {
            *b = b' ';
        }
    }
    Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_in_a_body_become_spaces() {
        let body = Bytes::from_static(b"{\n  \"id\": 1,\n  \"a\": \"x\\ny\"\n}");
        assert_eq!(&one_line(body)[..], b"{   \"id\": 1,   \"a\": \"x\\ny\" }");
    }
}
