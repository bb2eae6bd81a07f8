//! One HTTP request, from its checks to its answer.
//!
//! In order: the `Host` and `Origin` must be this gateway's loopback
//! address (else 403: a web page reached through DNS rebinding gets no
//! further), the bearer token must be a client's (else 401), and the path
//! must be `/mcp/NAME`. Then POST carries a message into a session, GET
//! opens a session's stream of server messages, DELETE ends a session.

use std::sync::Arc;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, ORIGIN,
    WWW_AUTHENTICATE,
};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

use super::Shared;
use super::body::{Body, Events, Source};
use super::headers::{
    self, Accept, HEADER_MISMATCH, METHOD_NOT_FOUND, Params, Refusal, SESSION_ID, SESSION_VERSIONS,
    STATELESS_VERSIONS, UNSUPPORTED_VERSION,
};
use super::link::{Link, Routed, WaitError, splice};
use super::registry::OpenError;
use crate::proxy::{IdKey, Invalid, Kind, Message, scan_id};

/// JSON-RPC: not JSON.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: not a valid request.
const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC (implementation-defined): what the transport refused.
const TRANSPORT_ERROR: i64 = -32000;

/// A refusal, answered instead of going on (boxed: errors are the rare path).
type Refused = Box<Response<Body>>;

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

/// Answers one request.
pub(super) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    if !host_is_ours(&parts.headers, shared.port) {
        return error(
            StatusCode::FORBIDDEN,
            None,
            TRANSPORT_ERROR,
            "Forbidden: the Host header is not this gateway's loopback address",
        );
    }
    if !origin_is_ours(&parts.headers, shared.port) {
        return error(
            StatusCode::FORBIDDEN,
            None,
            TRANSPORT_ERROR,
            "Forbidden: requests from web pages of other origins are refused",
        );
    }
    let client = match authenticate(&shared, &parts.headers).await {
        Ok(client) => client,
        Err(denied) => return *denied,
    };
    let Some(server) = parts
        .uri
        .path()
        .strip_prefix("/mcp/")
        .filter(|name| crate::validate_server_name(name).is_ok())
    else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            TRANSPORT_ERROR,
            "Not found: the gateway serves each server at /mcp/NAME",
        );
    };
    match parts.method {
        Method::POST => post(&shared, client, server, &parts, body).await,
        Method::GET => get(&shared, &client, server, &parts.headers),
        Method::DELETE => delete(&shared, &client, server, &parts.headers).await,
        _ => {
            let mut response = error(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                TRANSPORT_ERROR,
                "Method not allowed: use POST, GET or DELETE",
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            response
        }
    }
}

/// The `Host` is one of the loopback names of the gateway's port.
fn host_is_ours(headers: &HeaderMap, port: u16) -> bool {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| is_loopback_authority(h, port))
}

/// No `Origin` (not a browser), or one of the gateway's own.
fn origin_is_ours(headers: &HeaderMap, port: u16) -> bool {
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
async fn authenticate(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<Arc<str>, Refused> {
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

/// A POSTed message.
async fn post(
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
async fn accepted(link: &Link, line: &[u8]) -> Response<Body> {
    if link.send(line).await {
        status(StatusCode::ACCEPTED)
    } else {
        session_not_found(None)
    }
}

/// Sends a request into the session and answers with what comes back: its
/// response as JSON when that comes first, else an event stream of the
/// messages related to it, ending with the response.
async fn exchange(
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

/// The HTTP status of a stateless answer (2026-07-28): the errors that
/// name their status get it.
fn status_of(error: Option<i64>) -> StatusCode {
    match error {
        Some(METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(HEADER_MISMATCH | UNSUPPORTED_VERSION) => StatusCode::BAD_REQUEST,
        // MissingRequiredClientCapability.
        Some(-32021) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
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

/// A request in the stateless style (2026-07-28): checked against its
/// headers, then carried by the client's shared session for the server.
#[allow(clippy::too_many_arguments)]
async fn stateless_post(
    shared: &Arc<Shared>,
    client: Arc<str>,
    server: &str,
    headers: &HeaderMap,
    accept: Accept,
    kind: Kind,
    msg: &Message<'_>,
    params: &Params<'_>,
    line: &[u8],
) -> Response<Body> {
    let id_json = msg.id().map(|id| id.get());
    match kind {
        Kind::Request => {}
        Kind::Response => {
            return error(
                StatusCode::BAD_REQUEST,
                id_json,
                INVALID_REQUEST,
                "Invalid request: in the 2026-07-28 revision clients send no responses",
            );
        }
        Kind::Notification => {}
    }
    if kind == Kind::Request {
        let method = msg.method().unwrap_or_default();
        match headers::check_stateless(headers, method, params) {
            Ok(()) => {}
            Err(Refusal::Mismatch(message)) => {
                return error(StatusCode::BAD_REQUEST, id_json, HEADER_MISMATCH, &message);
            }
            Err(Refusal::Unsupported(requested)) => {
                return unsupported_version(id_json, &requested);
            }
        }
        // Not forwarded: the shared session is not the client's to
        // re-initialize, subscribe or set the log level of.
        if REMOVED_IN_STATELESS.contains(&method) {
            return error(
                StatusCode::NOT_FOUND,
                id_json,
                METHOD_NOT_FOUND,
                &format!("Method not found: the 2026-07-28 revision has no {method}"),
            );
        }
    }
    let link = match shared.sessions.shared(shared, server, client).await {
        Ok(link) => link,
        Err(refused) => return open_refused(refused, id_json),
    };
    link.touch();
    let Some(id) = msg.id() else {
        return accepted(&link, line).await;
    };
    let ours = link.next_id();
    let rewritten = splice(line, id.get(), ours.to_string().as_bytes());
    let progress = params.progress_token().map(Box::from);
    exchange(
        &link,
        IdKey::Num(ours),
        &rewritten,
        accept,
        progress,
        Some(id.get().into()),
        None,
    )
    .await
}

/// The methods the 2026-07-28 revision removed: a stateless request for
/// one is answered 404, Method not found.
const REMOVED_IN_STATELESS: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// 400 with `UnsupportedProtocolVersionError`, naming what the gateway
/// speaks.
fn unsupported_version(id: Option<&str>, requested: &str) -> Response<Body> {
    let supported: Vec<&str> = STATELESS_VERSIONS
        .iter()
        .chain(SESSION_VERSIONS.iter().rev())
        .copied()
        .collect();
    let body = serde_json::json!({
        "code": UNSUPPORTED_VERSION,
        "message": "Unsupported protocol version",
        "data": { "supported": supported, "requested": requested },
    });
    json(
        StatusCode::BAD_REQUEST,
        format!(
            r#"{{"jsonrpc":"2.0","id":{},"error":{body}}}"#,
            id.unwrap_or("null")
        ),
    )
}

/// GET: the session's stream of server messages.
fn get(shared: &Shared, client: &str, server: &str, headers: &HeaderMap) -> Response<Body> {
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
async fn delete(
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
fn unsupported_session_version(headers: &HeaderMap) -> Option<Response<Body>> {
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

fn session_not_found(id: Option<&str>) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        id,
        TRANSPORT_ERROR,
        "Session not found: it ended or expired; initialize a new one",
    )
}

fn open_refused(refused: OpenError, id: Option<&str>) -> Response<Body> {
    match refused {
        OpenError::NoServer(name) => error(
            StatusCode::NOT_FOUND,
            id,
            TRANSPORT_ERROR,
            &format!(
                "Not found: no server named '{name}' is registered with Gatehouse; `gatehouse server list` shows them"
            ),
        ),
        OpenError::Busy(why) => error(StatusCode::SERVICE_UNAVAILABLE, id, TRANSPORT_ERROR, &why),
    }
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

fn status(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Body::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON);
    response
}

fn events(events: Box<Events>) -> Response<Body> {
    let mut response = Response::new(Body::Events(events));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, EVENT_STREAM);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A JSON-RPC error response as the body of `status`.
fn error(status: StatusCode, id: Option<&str>, code: i64, message: &str) -> Response<Body> {
    let error = serde_json::json!({ "code": code, "message": message });
    json(
        status,
        format!(
            r#"{{"jsonrpc":"2.0","id":{},"error":{error}}}"#,
            id.unwrap_or("null")
        ),
    )
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

    #[test]
    fn newlines_in_a_body_become_spaces() {
        let body = Bytes::from_static(b"{\n  \"id\": 1,\n  \"a\": \"x\\ny\"\n}");
        assert_eq!(&one_line(body)[..], b"{   \"id\": 1,   \"a\": \"x\\ny\" }");
    }

    #[test]
    fn stateless_errors_get_their_status() {
        assert_eq!(status_of(None), StatusCode::OK);
        assert_eq!(status_of(Some(-32602)), StatusCode::OK);
        assert_eq!(status_of(Some(METHOD_NOT_FOUND)), StatusCode::NOT_FOUND);
        assert_eq!(status_of(Some(HEADER_MISMATCH)), StatusCode::BAD_REQUEST);
    }
}
