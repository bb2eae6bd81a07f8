//! A request in the stateless style of the 2026-07-28 revision: checked
//! against its headers, then carried by the client's shared session for
//! the server under an id of the session's own.

use std::sync::Arc;

use hyper::{HeaderMap, Response, StatusCode};

use super::Shared;
use super::body::Body;
use super::headers::{
    self, Accept, HEADER_MISMATCH, METHOD_NOT_FOUND, Params, Refusal, SESSION_VERSIONS,
    STATELESS_VERSIONS, UNSUPPORTED_VERSION,
};
use super::link::splice;
use super::post::{accepted, exchange};
use super::reply::{INVALID_REQUEST, error, json, open_refused};
use crate::proxy::{IdKey, Kind, Message};

/// A request in the stateless style (2026-07-28): checked against its
/// headers, then carried by the client's shared session for the server.
#[allow(clippy::too_many_arguments)]
pub(super) async fn stateless_post(
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
    if msg.method() == Some("tools/call")
        && let Some((tool, arguments)) = params.tool_call()
        && let Err(why) = link.check_mirrored(tool, arguments, headers)
    {
        return error(StatusCode::BAD_REQUEST, id_json, HEADER_MISMATCH, &why);
    }
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

/// The HTTP status of a stateless answer (2026-07-28): the errors that
/// name their status get it.
pub(super) fn status_of(error: Option<i64>) -> StatusCode {
    match error {
        Some(METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(HEADER_MISMATCH | UNSUPPORTED_VERSION) => StatusCode::BAD_REQUEST,
        // MissingRequiredClientCapability.
        Some(-32021) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stateless_errors_get_their_status() {
        assert_eq!(status_of(None), StatusCode::OK);
        assert_eq!(status_of(Some(-32602)), StatusCode::OK);
        assert_eq!(status_of(Some(METHOD_NOT_FOUND)), StatusCode::NOT_FOUND);
        assert_eq!(status_of(Some(HEADER_MISMATCH)), StatusCode::BAD_REQUEST);
    }
}
