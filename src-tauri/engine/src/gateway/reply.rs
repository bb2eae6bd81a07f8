//! The answers the request handlers build: empty, JSON, an event stream,
//! or a JSON-RPC error, and the refusals they share.

use hyper::body::Bytes;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::body::{Body, Events};
use super::registry::OpenError;

/// JSON-RPC: not a valid request.
pub(super) const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC (implementation-defined): what the transport refused.
pub(super) const TRANSPORT_ERROR: i64 = -32000;

/// A refusal, answered instead of going on (boxed: errors are the rare path).
pub(super) type Refused = Box<Response<Body>>;

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

/// 404: the session the request names is not (or no longer) open.
pub(super) fn session_not_found(id: Option<&str>) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        id,
        TRANSPORT_ERROR,
        "Session not found: it ended or expired; initialize a new one",
    )
}

/// A session that could not be opened: no such server (404) or no room (503).
pub(super) fn open_refused(refused: OpenError, id: Option<&str>) -> Response<Body> {
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

/// An empty answer.
pub(super) fn status(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// A JSON answer.
pub(super) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Body::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON);
    response
}

/// An event-stream answer.
pub(super) fn events(events: Box<Events>) -> Response<Body> {
    let mut response = Response::new(Body::Events(events));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, EVENT_STREAM);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A JSON-RPC error response as the body of `status`.
pub(super) fn error(
    status: StatusCode,
    id: Option<&str>,
    code: i64,
    message: &str,
) -> Response<Body> {
    let error = serde_json::json!({ "code": code, "message": message });
    json(
        status,
        format!(
            r#"{{"jsonrpc":"2.0","id":{},"error":{error}}}"#,
            id.unwrap_or("null")
        ),
    )
}
