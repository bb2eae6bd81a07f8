//! The HTTP+SSE transport of 2024-11-05, for servers that predate
//! Streamable HTTP: a GET opens the event stream, whose first `endpoint`
//! event names where to POST; every answer comes back on that stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use url::Url;

use super::MAX_MESSAGE_BYTES;
use super::bridge::{
    Bridge, EVENT_STREAM, answers, http_error, is_event_stream, one_line, read_body, unreachable,
    with_own_id,
};
use super::http::Response;
use super::sse::{self, Event};
use crate::proxy::message::{IdKey, Kind, Message};

/// How long the server may take to name its endpoint.
const ENDPOINT_WAIT: Duration = Duration::from_secs(10);

/// An open HTTP+SSE connection.
pub(super) struct Channel {
    endpoint: Url,
    /// Requests waiting for their answer on the stream.
    pending: Mutex<HashMap<IdKey, oneshot::Sender<Vec<u8>>>>,
    reader: Mutex<Option<AbortHandle>>,
    closed: AtomicBool,
}

/// The client's `initialize` on a server that is not Streamable HTTP:
/// opens the stream, sends it there, and makes HTTP+SSE the era.
pub(super) async fn start(
    bridge: &Arc<Bridge>,
    initialize: Bytes,
    id: &IdKey,
) -> Result<Vec<u8>, String> {
    let channel = open(bridge).await?;
    bridge.set_legacy(channel.clone());
    let answer = channel.request(bridge, initialize.clone(), id).await?;
    bridge.begin_session(None, &answer, Some(initialize));
    Ok(answer)
}

/// A new stream after the old one closed, with the client's `initialize`
/// sent again (the server forgot it with the stream).
pub(super) async fn reopen(bridge: &Arc<Bridge>, initialize: &[u8]) -> Result<(), String> {
    let channel = open(bridge).await?;
    let (body, id) = with_own_id(initialize, bridge.next_own_id())?;
    let answer = channel.request(bridge, body.into(), &id).await?;
    if Message::parse(&answer).is_ok_and(|(_, m)| m.error().is_some()) {
        channel.close();
        return Err("the server refused the new session".into());
    }
    let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    channel
        .post(bridge, Bytes::from_static(initialized))
        .await?;
    bridge.set_legacy(channel);
    Ok(())
}

async fn open(bridge: &Arc<Bridge>) -> Result<Arc<Channel>, String> {
    let cfg = &bridge.cfg;
    let request = cfg
        .http
        .get(cfg.url.clone())
        .headers(&cfg.headers)
        .header(header::ACCEPT, EVENT_STREAM);
    let mut response = bridge
        .authorize(request)
        .await?
        .send()
        .await
        .map_err(|e| unreachable(&e))?;
    if response.status() != StatusCode::OK || !is_event_stream(&response) {
        let status = response.status();
        let body = read_body(response).await.unwrap_or_default();
        return Err(format!(
            "a GET for its event stream answered {}",
            http_error(status, &body)
        ));
    }
    let mut parser = sse::Parser::new(MAX_MESSAGE_BYTES);
    let mut events = Vec::new();
    let endpoint = tokio::time::timeout(ENDPOINT_WAIT, async {
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| format!("the event stream broke: {e}"))?
                .ok_or("the event stream ended before naming its endpoint")?;
            parser
                .feed(&chunk, &mut events)
                .map_err(|_| "an event over the limit")?;
            if let Some(at) = events
                .iter()
                .position(|e| e.event.as_deref() == Some("endpoint"))
            {
                let event = events.remove(at);
                return Ok::<_, String>(String::from_utf8_lossy(&event.data).trim().to_string());
            }
        }
    })
    .await
    .map_err(|_| "the server named no endpoint on its event stream".to_string())??;
    let endpoint = cfg
        .url
        .join(&endpoint)
        .map_err(|e| format!("the endpoint {endpoint:?} is not a URL: {e}"))?;
    // Headers carry credentials: they go nowhere but the server's origin.
    if endpoint.origin() != cfg.url.origin() {
        return Err(format!(
            "the server named an endpoint on another origin ({endpoint}); Gatehouse sends nothing there"
        ));
    }
    let channel = Arc::new(Channel {
        endpoint,
        pending: Mutex::new(HashMap::new()),
        reader: Mutex::new(None),
        closed: AtomicBool::new(false),
    });
    let reader = tokio::spawn(read_stream(
        bridge.clone(),
        channel.clone(),
        response,
        parser,
        events,
    ));
    *channel.reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(reader.abort_handle());
    Ok(channel)
}

/// Every message on the stream: an answer to a waiting request goes to it,
/// anything else to the client.
async fn read_stream(
    bridge: Arc<Bridge>,
    channel: Arc<Channel>,
    mut response: Response,
    mut parser: sse::Parser,
    mut events: Vec<Event>,
) {
    loop {
        for event in events.drain(..) {
            if !matches!(event.event.as_deref(), None | Some("message")) || event.data.is_empty() {
                continue;
            }
            let line = one_line(event.data);
            match channel.waiting_for(&line) {
                Some(waiting) => {
                    let _ = waiting.send(line);
                }
                None => bridge.send(line),
            }
        }
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if parser.feed(&chunk, &mut events).is_err() {
                    break;
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    channel.closed.store(true, Ordering::Release);
    // Dropping the senders tells every waiting request.
    channel.pending().clear();
}

impl Channel {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<IdKey, oneshot::Sender<Vec<u8>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn waiting_for(&self, line: &[u8]) -> Option<oneshot::Sender<Vec<u8>>> {
        let Ok((Kind::Response, msg)) = Message::parse(line) else {
            return None;
        };
        let id = IdKey::of(msg.id()?);
        let waiting = self.pending().remove(&id)?;
        debug_assert!(answers(line, &id));
        Some(waiting)
    }

    /// Whether the stream has ended: the server forgot the session.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Sends a request and waits for its answer on the stream.
    pub(super) async fn request(
        &self,
        bridge: &Bridge,
        line: Bytes,
        id: &IdKey,
    ) -> Result<Vec<u8>, String> {
        let (answer, waiting) = oneshot::channel();
        self.pending().insert(id.clone(), answer);
        if let Err(e) = self.post(bridge, line).await {
            self.pending().remove(id);
            return Err(e);
        }
        waiting
            .await
            .map_err(|_| "the server's event stream closed before the answer".to_string())
    }

    /// POSTs a message to the endpoint.
    pub(super) async fn post(&self, bridge: &Bridge, line: Bytes) -> Result<(), String> {
        let cfg = &bridge.cfg;
        let request = cfg
            .http
            .post(self.endpoint.clone())
            .headers(&cfg.headers)
            .header(header::CONTENT_TYPE, "application/json")
            .body(line);
        let response = bridge
            .authorize(request)
            .await?
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_body(response).await.unwrap_or_default();
        Err(http_error(status, &body))
    }

    /// Stops reading the stream.
    pub(super) fn close(&self) {
        if let Some(reader) = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take() {
            reader.abort();
        }
    }
}
