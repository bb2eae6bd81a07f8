//! What the bridge reads from HTTP exchanges and JSON-RPC messages: bodies
//! and their limits, statuses and challenges, ids and answers, and the
//! texts of failures.

use super::*;

/// Why a request got no answer.
pub(super) enum Failure {
    /// What went wrong, for the client.
    Reason(String),
    /// An HTTP exchange took longer than the timeout.
    TimedOut,
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::Reason(reason)
    }
}

/// `work` within `limit`, if there is one.
pub(super) async fn within<T>(
    limit: Option<Duration>,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, Failure> {
    match limit {
        None => Ok(work.await?),
        Some(limit) => match tokio::time::timeout(limit, work).await {
            Ok(done) => Ok(done?),
            Err(_) => Err(Failure::TimedOut),
        },
    }
}

/// `params.requestId` of `notifications/cancelled`.
pub(super) fn cancelled_request(params: Option<&serde_json::value::RawValue>) -> Option<IdKey> {
    #[derive(serde::Deserialize)]
    struct Cancelled<'a> {
        #[serde(rename = "requestId", borrow)]
        request_id: &'a serde_json::value::RawValue,
    }
    let params = serde_json::from_str::<Cancelled<'_>>(params?.get()).ok()?;
    Some(IdKey::of(params.request_id))
}

/// Whether `line` is the response to `id`.
pub(in crate::remote) fn answers(line: &[u8], id: &IdKey) -> bool {
    matches!(Message::parse(line), Ok((Kind::Response, m)) if m.id().map(IdKey::of).as_ref() == Some(id))
}

/// The negotiated version in an `initialize` answer.
pub(super) fn protocol_of(answer: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Answer<'a> {
        #[serde(borrow)]
        result: Option<InitializeResult<'a>>,
    }
    let answer: Answer<'_> = serde_json::from_slice(answer).ok()?;
    answer.result?.protocol_version.map(|v| v.into_owned())
}

/// A message of the server's as one line: JSON text holds line breaks only
/// between tokens, where a space does as well.
pub(in crate::remote) fn one_line(mut body: Vec<u8>) -> Vec<u8> {
    for b in &mut body {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    while body.last().is_some_and(u8::is_ascii_whitespace) {
        body.pop();
    }
    body
}

/// The body, at most the message limit.
pub(in crate::remote) async fn read_body(mut response: Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the answer failed ({e})"))?
    {
        if body.len() + chunk.len() > MAX_MESSAGE_BYTES {
            return Err(format!(
                "the answer is over Gatehouse's limit of {MAX_MESSAGE_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(in crate::remote) fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(EVENT_STREAM))
}

/// A 401, or a 403 asking for more scope.
pub(super) fn is_challenge(response: &Response) -> bool {
    match response.status() {
        StatusCode::UNAUTHORIZED => true,
        StatusCode::FORBIDDEN => response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("insufficient_scope")),
        _ => false,
    }
}

/// An error body that answers `id` as JSON-RPC: passed on as the answer.
pub(super) fn answer_in_body(body: &[u8], id: &IdKey) -> Option<Vec<u8>> {
    let line = one_line(body.to_vec());
    answers(&line, id).then_some(line)
}

/// A 400 from a server of the stateless revision carries a JSON-RPC error
/// of its own (unsupported version, header mismatch, a missing
/// capability); an older server's does not.
pub(super) fn is_modern_error(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Option<ErrorObject>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorObject {
        code: i64,
        #[serde(default)]
        data: Option<serde_json::Value>,
    }
    let Ok(Body { error: Some(error) }) = serde_json::from_slice::<Body>(body) else {
        return false;
    };
    (-32029..=-32020).contains(&error.code)
        || error.data.as_ref().is_some_and(|d| {
            d.get("supported").is_some() || d.get("requiredCapabilities").is_some()
        })
}

/// A failed status as text, with the start of the body.
pub(in crate::remote) fn http_error(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

/// A request that could not be sent, with its causes.
pub(in crate::remote) fn unreachable(e: &http::Error) -> String {
    if e.is_timeout() {
        return "connecting timed out".into();
    }
    format!("cannot reach the server ({e})")
}

/// `initialize` with the id replaced by `n` (as a string Gatehouse owns).
pub(in crate::remote) fn with_own_id(
    initialize: &[u8],
    n: u64,
) -> Result<(Vec<u8>, IdKey), String> {
    let mut value: serde_json::Value = serde_json::from_slice(initialize)
        .map_err(|e| format!("the client's initialize cannot be sent again: {e}"))?;
    let id = format!("gatehouse-initialize-{n}");
    value["id"] = serde_json::Value::String(id.clone());
    let body = serde_json::to_vec(&value).expect("JSON serialises");
    Ok((body, IdKey::Text(format!("\"{id}\"").into())))
}
