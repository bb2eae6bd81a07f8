//! The bridge's loop: each line from the proxy becomes an HTTP request, and
//! every message the server sends back becomes a line to the proxy.
//!
//! Requests run on tasks of their own, so a slow tool call does not hold up
//! the next message; `initialize` and notifications are sent in order,
//! before anything after them is read. The era (session-style Streamable
//! HTTP, stateless 2026-07-28, or the legacy HTTP+SSE transport) is learnt
//! from the first exchange and kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{self, HeaderMap, HeaderValue};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use url::Url;

use super::auth::Authorizer;
use super::headers::mirrored;
use super::http::{self, Client, Response};
use super::{MAX_MESSAGE_BYTES, legacy, params, sse};
use crate::brisk::Brisk;
use crate::proxy::message::{
    self, INTERNAL_ERROR, IdKey, InitializeResult, Kind, Message, RequestParams,
};
use crate::proxy::{Frame, LineReader};

pub(super) const SESSION_ID: &str = "mcp-session-id";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";
const LAST_EVENT_ID: &str = "last-event-id";
pub(super) const EVENT_STREAM: &str = "text/event-stream";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// The version Gatehouse asks for when it initializes for a client that
/// speaks the stateless revision to a server that does not.
const FALLBACK_PROTOCOL: &str = "2025-11-25";

/// How often a broken stream is resumed before the request fails.
const RESUME_ATTEMPTS: u32 = 3;

/// How long the client's last requests may take once it has gone, and how
/// long the closing DELETE may take.
const CLOSING_GRACE: Duration = Duration::from_secs(2);

/// What a bridge is given.
pub(super) struct Config {
    pub server: Arc<str>,
    pub url: Url,
    pub http: Client,
    pub headers: HeaderMap,
    pub timeout: Duration,
    pub auth: Arc<dyn Authorizer>,
    /// How long to poll for a quick server's answer ([`Brisk`]).
    pub poll: Duration,
}

/// Which transport the server speaks, once known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Era {
    /// Nothing exchanged yet.
    #[default]
    Unknown,
    /// Streamable HTTP with `initialize` (2025-03-26 to 2025-11-25).
    Session,
    /// The client speaks the 2026-07-28 revision: no session.
    Stateless,
    /// HTTP+SSE (2024-11-05).
    Legacy,
}

pub(super) struct Bridge {
    pub(super) cfg: Config,
    out: mpsc::UnboundedSender<Vec<u8>>,
    state: Mutex<State>,
    /// Held while the session is (re-)initialized.
    init: tokio::sync::Mutex<()>,
    /// Whether to poll for answers rather than block (a server that
    /// answers within microseconds).
    brisk: Arc<Brisk>,
}

#[derive(Default)]
struct State {
    era: Era,
    session: Option<HeaderValue>,
    protocol: Option<HeaderValue>,
    /// The client's `initialize`, sent again when the session expired.
    initialize: Option<Bytes>,
    /// Bumped by every (re-)initialization.
    generation: u64,
    /// The GET stream of server-initiated messages.
    listening: Option<AbortHandle>,
    /// The HTTP+SSE channel, in the legacy era.
    legacy: Option<Arc<legacy::Channel>>,
    /// Requests in flight, by id, with a number telling reuses apart.
    inflight: HashMap<IdKey, (u64, AbortHandle)>,
    requests: u64,
    /// Tools' parameters mirrored into headers (stateless era).
    tool_headers: params::ToolHeaders,
}

/// The request metadata mirrored into headers.
struct Head {
    method: HeaderValue,
    name: Option<HeaderValue>,
    protocol: Option<HeaderValue>,
    /// `Mcp-Param-*` of a `tools/call` whose tool marks parameters.
    params: Vec<(header::HeaderName, HeaderValue)>,
}

impl Head {
    fn of(method: &str, params: &RequestParams<'_>) -> Self {
        let name = match method {
            "tools/call" | "prompts/get" => params.name.as_deref(),
            "resources/read" => params.uri.as_deref(),
            _ => None,
        };
        Head {
            method: mirrored(method),
            name: name.map(mirrored),
            protocol: params
                .meta
                .as_ref()
                .and_then(|m| m.protocol_version.as_deref())
                .and_then(|v| HeaderValue::from_str(v).ok()),
            params: Vec::new(),
        }
    }
}

/// Runs a bridge until `input` closes and its session is ended.
pub(super) async fn run(cfg: Config, input: DuplexStream, output: DuplexStream) {
    let (out, lines_out) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_lines(lines_out, output));
    let bridge = Arc::new(Bridge {
        brisk: Arc::new(Brisk::with_budget(cfg.poll)),
        cfg,
        out,
        state: Mutex::new(State::default()),
        init: tokio::sync::Mutex::new(()),
    });
    let mut lines = LineReader::new(input, MAX_MESSAGE_BYTES);
    // Oversized and unusable lines were answered by the proxy already.
    while let Ok(Some((frame, _))) = lines.next().await {
        if let Frame::Line(line) = frame {
            bridge.dispatch(line).await;
        }
    }
    bridge.close().await;
    drop(bridge);
    // Every sender is gone once the aborted tasks have unwound.
    let _ = tokio::time::timeout(CLOSING_GRACE, writer).await;
}

async fn write_lines(mut lines: mpsc::UnboundedReceiver<Vec<u8>>, mut output: DuplexStream) {
    while let Some(line) = lines.recv().await {
        if output.write_all(&line).await.is_err() || output.write_all(b"\n").await.is_err() {
            return;
        }
    }
    let _ = output.shutdown().await;
}

impl Bridge {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn era(&self) -> Era {
        self.state().era
    }

    /// Sends a line to the proxy.
    pub(super) fn send(&self, line: Vec<u8>) {
        let _ = self.out.send(line);
    }

    /// Answers the request `id` with an error naming the server.
    fn answer_error(&self, id: &IdKey, reason: &str) {
        let text = format!(
            "Gatehouse could not get an answer from the remote server '{}' ({}): {reason}",
            self.cfg.server, self.cfg.url
        );
        self.send(message::error_response(
            Some(&id.to_json()),
            INTERNAL_ERROR,
            &text,
        ));
    }

    async fn dispatch(self: &Arc<Self>, line: &[u8]) {
        let Ok((kind, msg)) = Message::parse(line) else {
            return;
        };
        let method = msg.method().unwrap_or_default();
        match kind {
            Kind::Request => {
                let id = IdKey::of(msg.id().expect("a request has an id"));
                if method == "initialize" {
                    let line = Bytes::copy_from_slice(line);
                    let _init = self.init.lock().await;
                    match self.initialize(line, &id).await {
                        Ok(answer) => self.send(answer),
                        Err(reason) => self.answer_error(&id, &reason),
                    }
                    return;
                }
                let params = RequestParams::of(msg.params());
                let mut head = Head::of(method, &params);
                {
                    let mut state = self.state();
                    if state.era == Era::Unknown {
                        state.era = Era::Stateless;
                    }
                    if method == "tools/call"
                        && let Some(marked) = params
                            .name
                            .as_deref()
                            .and_then(|tool| state.tool_headers.get(tool))
                    {
                        head.params =
                            params::headers_for(marked, params.arguments.map(|a| a.get()));
                    }
                }
                let listen = method == "subscriptions/listen";
                let line = Bytes::copy_from_slice(line);
                let mut state = self.state();
                state.requests += 1;
                let seq = state.requests;
                let task = tokio::spawn(self.clone().request(line, id.clone(), head, listen, seq));
                state.inflight.insert(id, (seq, task.abort_handle()));
            }
            Kind::Notification => {
                if method == "notifications/cancelled"
                    && let Some(id) = cancelled_request(msg.params())
                {
                    let aborted = self.state().inflight.remove(&id);
                    if let Some((_, task)) = aborted {
                        task.abort();
                    }
                    // On Streamable HTTP without sessions, closing the
                    // request's stream is the cancellation.
                    if self.era() == Era::Stateless {
                        return;
                    }
                }
                let line = Bytes::copy_from_slice(line);
                self.deliver(line).await;
                if method == "notifications/initialized" && self.era() == Era::Session {
                    self.listen();
                }
            }
            Kind::Response => self.deliver(Bytes::copy_from_slice(line)).await,
        }
    }

    /// A request on its own task: the exchange, each of its HTTP exchanges
    /// within the timeout (a `subscriptions/listen` stream has none; asking
    /// the person to sign in again has its own), then its answer or error.
    async fn request(self: Arc<Self>, line: Bytes, id: IdKey, head: Head, listen: bool, seq: u64) {
        let limit = (!listen).then_some(self.cfg.timeout);
        match self.exchange(line, &id, &head, limit).await {
            Ok(answer) => {
                let mut state = self.state();
                let learnt = (head.method == "tools/list" && state.era == Era::Stateless)
                    .then(|| params::learn(&answer, &mut state.tool_headers))
                    .flatten();
                drop(state);
                self.send(learnt.unwrap_or(answer));
            }
            Err(Failure::Reason(reason)) => self.answer_error(&id, &reason),
            Err(Failure::TimedOut) => {
                let secs = self.cfg.timeout.as_secs_f32();
                self.answer_error(&id, &format!("no answer within {secs} s"));
                self.cancel_upstream(&id).await;
            }
        }
        let mut state = self.state();
        if state.inflight.get(&id).is_some_and(|(s, _)| *s == seq) {
            state.inflight.remove(&id);
        }
    }

    /// Sends a request until it has an answer, re-authorizing once,
    /// re-initializing an expired session once, and falling back from the
    /// stateless revision to `initialize` once.
    async fn exchange(
        self: &Arc<Self>,
        line: Bytes,
        id: &IdKey,
        head: &Head,
        limit: Option<Duration>,
    ) -> Result<Vec<u8>, Failure> {
        let (mut reauthorized, mut reinitialized, mut fell_back) = (false, false, false);
        loop {
            let (era, generation) = {
                let state = self.state();
                (state.era, state.generation)
            };
            if era == Era::Legacy {
                return within(limit, self.legacy_request(line, id)).await;
            }
            let response = within(limit, self.post(line.clone(), Some(head))).await?;
            let status = response.status();
            if status.is_success() && status != StatusCode::ACCEPTED {
                return within(limit, self.read_answer(response, id)).await;
            }
            if !reauthorized && is_challenge(&response) {
                reauthorized = true;
                self.reauthorize(&response).await?;
                continue;
            }
            if status == StatusCode::NOT_FOUND && era == Era::Session && !reinitialized {
                reinitialized = true;
                drop(response);
                within(limit, self.reinitialize(generation)).await?;
                continue;
            }
            let body = read_body(response).await.unwrap_or_default();
            if status == StatusCode::BAD_REQUEST
                && era == Era::Stateless
                && !fell_back
                && !is_modern_error(&body)
            {
                fell_back = true;
                let _init = self.init.lock().await;
                if self.era() == Era::Stateless {
                    within(limit, self.initialize_for_stateless(&line)).await?;
                }
                continue;
            }
            return answer_in_body(&body, id)
                .ok_or_else(|| Failure::Reason(http_error(status, &body)));
        }
    }

    /// POSTs one message with the headers its era needs.
    async fn post(&self, body: Bytes, head: Option<&Head>) -> Result<Response, String> {
        let mut request = self
            .cfg
            .http
            .post(self.cfg.url.clone())
            .headers(&self.cfg.headers)
            .header(header::ACCEPT, ACCEPT_BOTH)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        {
            let state = self.state();
            if let Some(session) = &state.session {
                request = request.header(SESSION_ID, session.clone());
            }
            let protocol = state
                .protocol
                .as_ref()
                .or(head.and_then(|h| h.protocol.as_ref()));
            if let Some(protocol) = protocol {
                request = request.header(PROTOCOL_VERSION, protocol.clone());
            }
        }
        if let Some(head) = head {
            request = request.header(MCP_METHOD, head.method.clone());
            if let Some(name) = &head.name {
                request = request.header(MCP_NAME, name.clone());
            }
            for (name, value) in &head.params {
                request = request.header(name, value.clone());
            }
        }
        request = self.authorize(request).await?;
        let exchange = self.brisk.begin();
        let response = request.send().await.map_err(|e| unreachable(&e))?;
        exchange.answered();
        Ok(response)
    }

    /// Adds the authorizer's `Authorization` header, if it has one.
    pub(super) async fn authorize(
        &self,
        request: http::RequestBuilder,
    ) -> Result<http::RequestBuilder, String> {
        match self.cfg.auth.authorization().await {
            Ok(Some(value)) => {
                let mut header = HeaderValue::from_str(value.expose())
                    .map_err(|_| "the authorization is not a valid header value".to_string())?;
                header.set_sensitive(true);
                Ok(request.header(header::AUTHORIZATION, header))
            }
            Ok(None) => Ok(request),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Asks the authorizer for new credentials after a 401 (or a 403
    /// `insufficient_scope`).
    async fn reauthorize(&self, response: &Response) -> Result<(), String> {
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok());
        match self.cfg.auth.unauthorized(challenge).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(format!(
                "the server refused Gatehouse's credentials (HTTP {}); sign in with `gatehouse server login {}` or check its headers",
                response.status().as_u16(),
                self.cfg.server
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The answer to `id` in a successful response: its JSON body, or the
    /// SSE stream's messages (each forwarded) up to the one answering it.
    async fn read_answer(&self, response: Response, id: &IdKey) -> Result<Vec<u8>, String> {
        if !is_event_stream(&response) {
            let body = read_body(response).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err("the server answered with an empty body".into());
            }
            return Ok(one_line(body));
        }
        let mut response = response;
        let mut parser = sse::Parser::new(MAX_MESSAGE_BYTES);
        let mut events = Vec::new();
        let mut last_event = None;
        let mut retry = Duration::from_millis(500);
        let mut resumed = 0;
        loop {
            let broke = match response.chunk().await {
                Ok(Some(chunk)) => {
                    parser
                        .feed(&chunk, &mut events)
                        .map_err(|e| format!("an event of {} bytes is over the limit", e.0))?;
                    for event in events.drain(..) {
                        if let Some(at) = event.id {
                            last_event = Some(at);
                        }
                        if let Some(ms) = event.retry {
                            retry = Duration::from_millis(ms.min(10_000));
                        }
                        if event.data.is_empty() {
                            continue;
                        }
                        let line = one_line(event.data);
                        if answers(&line, id) {
                            return Ok(line);
                        }
                        self.send(line);
                    }
                    continue;
                }
                Ok(None) => "the stream ended".to_string(),
                Err(e) => format!("the stream broke ({e})"),
            };
            // Streams of the session era can be resumed where they broke.
            let resumable = self.era() == Era::Session && last_event.is_some();
            if !resumable || resumed == RESUME_ATTEMPTS {
                return Err(format!("{broke} before the answer"));
            }
            resumed += 1;
            tokio::time::sleep(retry).await;
            response = self
                .resume(last_event.as_deref().unwrap_or_default())
                .await
                .map_err(|e| format!("{broke} before the answer, and resuming it failed: {e}"))?;
            parser = sse::Parser::new(MAX_MESSAGE_BYTES);
        }
    }

    /// GET with `Last-Event-ID`: the rest of a broken stream.
    async fn resume(&self, last_event: &str) -> Result<Response, String> {
        let request = self.get_request().header(LAST_EVENT_ID, last_event);
        let response = self
            .authorize(request)
            .await?
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        if response.status() == StatusCode::OK && is_event_stream(&response) {
            Ok(response)
        } else {
            Err(format!("HTTP {}", response.status().as_u16()))
        }
    }

    /// A GET of the event stream, with the session's headers.
    fn get_request(&self) -> http::RequestBuilder {
        let mut request = self
            .cfg
            .http
            .get(self.cfg.url.clone())
            .headers(&self.cfg.headers)
            .header(header::ACCEPT, EVENT_STREAM);
        let state = self.state();
        if let Some(session) = &state.session {
            request = request.header(SESSION_ID, session.clone());
        }
        if let Some(protocol) = &state.protocol {
            request = request.header(PROTOCOL_VERSION, protocol.clone());
        }
        request
    }

    /// Sends a notification or a response to the server.
    async fn deliver(&self, line: Bytes) {
        if self.era() == Era::Legacy {
            let channel = self.state().legacy.clone();
            if let Some(channel) = channel {
                let _ = channel.post(self, line).await;
            }
            return;
        }
        let mut reauthorized = false;
        loop {
            let response = match self.post(line.clone(), None).await {
                Ok(response) => response,
                Err(e) => {
                    eprintln!("gatehouse: {}: {e}", self.cfg.server);
                    return;
                }
            };
            if !reauthorized && is_challenge(&response) {
                reauthorized = true;
                if self.reauthorize(&response).await.is_ok() {
                    continue;
                }
            }
            if !response.status().is_success() {
                eprintln!(
                    "gatehouse: {}: the server refused a notification (HTTP {})",
                    self.cfg.server,
                    response.status().as_u16()
                );
            }
            return;
        }
    }

    /// The client's `initialize`: the first exchange, which tells the era.
    /// Runs with `init` held.
    async fn initialize(self: &Arc<Self>, line: Bytes, id: &IdKey) -> Result<Vec<u8>, String> {
        let mut reauthorized = false;
        loop {
            let head = Head {
                method: HeaderValue::from_static("initialize"),
                name: None,
                protocol: None,
                params: Vec::new(),
            };
            let response = self.post(line.clone(), Some(&head)).await?;
            let status = response.status();
            if status.is_success() && status != StatusCode::ACCEPTED {
                let session = response.headers().get(SESSION_ID).cloned();
                let answer = self.read_answer(response, id).await?;
                self.begin_session(session, &answer, Some(line));
                return Ok(answer);
            }
            if !reauthorized && is_challenge(&response) {
                reauthorized = true;
                self.reauthorize(&response).await?;
                continue;
            }
            let body = read_body(response).await.unwrap_or_default();
            if matches!(status.as_u16(), 400 | 404 | 405) && answer_in_body(&body, id).is_none() {
                // Not a Streamable HTTP endpoint: perhaps HTTP+SSE.
                return legacy::start(self, line, id).await.map_err(|legacy| {
                    format!(
                        "{}; trying the older HTTP+SSE transport: {legacy}",
                        http_error(status, &body)
                    )
                });
            }
            return answer_in_body(&body, id).ok_or_else(|| http_error(status, &body));
        }
    }

    /// Records a new session from an `initialize` answer.
    pub(super) fn begin_session(
        &self,
        session: Option<HeaderValue>,
        answer: &[u8],
        initialize: Option<Bytes>,
    ) {
        let protocol = protocol_of(answer).and_then(|v| HeaderValue::from_str(&v).ok());
        let mut state = self.state();
        if state.era != Era::Legacy {
            state.era = Era::Session;
        }
        state.session = session;
        state.protocol = protocol;
        if initialize.is_some() {
            state.initialize = initialize;
        }
        state.generation += 1;
    }

    /// The session expired (404): initialize again with the client's own
    /// `initialize`, under an id of Gatehouse's, and swallow the answer.
    async fn reinitialize(&self, failed: u64) -> Result<(), String> {
        let _init = self.init.lock().await;
        let initialize = {
            let state = self.state();
            if state.generation != failed {
                return Ok(());
            }
            state.initialize.clone()
        };
        let Some(initialize) = initialize else {
            return Err("the server ended the session".into());
        };
        self.state().session = None;
        self.handshake(&initialize).await
    }

    /// `initialize` (an earlier one, with a fresh id) and `initialized`,
    /// answered to nobody: the client already had its answer.
    pub(super) async fn handshake(&self, initialize: &[u8]) -> Result<(), String> {
        let (body, id) = with_own_id(initialize, self.next_own_id())?;
        let head = Head {
            method: HeaderValue::from_static("initialize"),
            name: None,
            protocol: None,
            params: Vec::new(),
        };
        let response = self.post(body.into(), Some(&head)).await?;
        let status = response.status();
        if !status.is_success() {
            let body = read_body(response).await.unwrap_or_default();
            return Err(format!(
                "starting a new session failed: {}",
                http_error(status, &body)
            ));
        }
        let session = response.headers().get(SESSION_ID).cloned();
        let answer = self.read_answer(response, &id).await?;
        if Message::parse(&answer).is_ok_and(|(_, m)| m.error().is_some()) {
            return Err(format!(
                "starting a new session failed: {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        self.begin_session(session, &answer, None);
        let initialized =
            Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        let _ = self.post(initialized, None).await?;
        if let Some(old) = self.state().listening.take() {
            old.abort();
        }
        Ok(())
    }

    /// A client of the stateless revision met an older server: initialize
    /// on its behalf, with the identity its request carries.
    async fn initialize_for_stateless(&self, request: &[u8]) -> Result<(), String> {
        #[derive(serde::Deserialize, Default)]
        struct Meta {
            #[serde(rename = "io.modelcontextprotocol/clientInfo")]
            client_info: Option<serde_json::Value>,
            #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
            capabilities: Option<serde_json::Value>,
        }
        #[derive(serde::Deserialize, Default)]
        struct Params {
            #[serde(rename = "_meta", default)]
            meta: Meta,
        }
        #[derive(serde::Deserialize)]
        struct Request {
            #[serde(default)]
            params: Params,
        }
        let meta = serde_json::from_slice::<Request>(request)
            .map(|r| r.params.meta)
            .unwrap_or_default();
        let initialize = serde_json::json!({
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": FALLBACK_PROTOCOL,
                "capabilities": meta.capabilities.unwrap_or_else(|| serde_json::json!({})),
                "clientInfo": meta.client_info.unwrap_or_else(|| serde_json::json!({"name": "gatehouse", "version": env!("CARGO_PKG_VERSION")})),
            }
        });
        let initialize = Bytes::from(serde_json::to_vec(&initialize).expect("JSON serialises"));
        self.state().era = Era::Session;
        self.handshake(&initialize).await?;
        self.state().initialize = Some(initialize);
        Ok(())
    }

    pub(super) fn next_own_id(&self) -> u64 {
        let mut state = self.state();
        state.requests += 1;
        state.requests
    }

    /// Opens the GET stream of server-initiated messages, which the server
    /// may decline (405). A broken stream is resumed with `Last-Event-ID`.
    fn listen(self: &Arc<Self>) {
        let bridge = self.clone();
        let task = tokio::spawn(async move {
            let mut last_event: Option<String> = None;
            let mut failures = 0u32;
            loop {
                let mut request = bridge.get_request();
                if let Some(at) = &last_event {
                    request = request.header(LAST_EVENT_ID, at.as_str());
                }
                let sent = match bridge.authorize(request).await {
                    Ok(request) => request.send().await,
                    Err(_) => return,
                };
                match sent {
                    Ok(response)
                        if response.status() == StatusCode::OK && is_event_stream(&response) =>
                    {
                        failures = 0;
                        bridge.forward_stream(response, &mut last_event).await;
                    }
                    // No stream offered, or the session is gone (the next
                    // request re-initializes, which listens again).
                    Ok(response) if matches!(response.status().as_u16(), 404 | 405) => return,
                    _ => failures += 1,
                }
                if failures > 5 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250 << failures.min(5))).await;
            }
        });
        if let Some(old) = self.state().listening.replace(task.abort_handle()) {
            old.abort();
        }
    }

    /// Forwards every message of a stream until it ends.
    pub(super) async fn forward_stream(
        &self,
        mut response: Response,
        last_event: &mut Option<String>,
    ) {
        let mut parser = sse::Parser::new(MAX_MESSAGE_BYTES);
        let mut events = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            if parser.feed(&chunk, &mut events).is_err() {
                return;
            }
            for event in events.drain(..) {
                if event.id.is_some() {
                    *last_event = event.id;
                }
                if !event.data.is_empty() {
                    self.send(one_line(event.data));
                }
            }
        }
    }

    /// Tells a session-era server that a request was given up.
    async fn cancel_upstream(&self, id: &IdKey) {
        if self.era() != Era::Session {
            return;
        }
        let note = format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{},"reason":"Gatehouse timed the request out"}}}}"#,
            id.to_json()
        );
        let _ = self.post(note.into(), None).await;
    }

    /// A request on the HTTP+SSE transport. A stream that ended took the
    /// server's session with it: a new one is opened first.
    async fn legacy_request(self: &Arc<Self>, line: Bytes, id: &IdKey) -> Result<Vec<u8>, String> {
        let open = self.state().legacy.clone().filter(|c| !c.is_closed());
        let channel = match open {
            Some(channel) => channel,
            None => {
                let _init = self.init.lock().await;
                let (current, initialize) = {
                    let state = self.state();
                    (state.legacy.clone(), state.initialize.clone())
                };
                match current.filter(|c| !c.is_closed()) {
                    Some(channel) => channel,
                    None => {
                        let initialize = initialize.ok_or("the HTTP+SSE stream is closed")?;
                        legacy::reopen(self, &initialize).await.map_err(|e| {
                            format!("the HTTP+SSE stream closed and reopening it failed: {e}")
                        })?;
                        self.state()
                            .legacy
                            .clone()
                            .ok_or("the HTTP+SSE stream is closed")?
                    }
                }
            }
        };
        channel.request(self, line, id).await
    }

    pub(super) fn set_legacy(&self, channel: Arc<legacy::Channel>) {
        let mut state = self.state();
        state.era = Era::Legacy;
        state.legacy = Some(channel);
    }

    /// The client has gone: let its last requests finish briefly, then end
    /// the session (DELETE), as the spec asks of a client that leaves.
    async fn close(&self) {
        let deadline = tokio::time::Instant::now() + CLOSING_GRACE;
        while !self.state().inflight.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (session, legacy) = {
            let mut state = self.state();
            for (_, (_, task)) in state.inflight.drain() {
                task.abort();
            }
            if let Some(task) = state.listening.take() {
                task.abort();
            }
            (state.session.take(), state.legacy.take())
        };
        if let Some(channel) = legacy {
            channel.close();
        }
        let Some(session) = session else { return };
        let mut request = self
            .cfg
            .http
            .delete(self.cfg.url.clone())
            .headers(&self.cfg.headers)
            .header(SESSION_ID, session)
            .timeout(CLOSING_GRACE);
        if let Some(protocol) = self.state().protocol.clone() {
            request = request.header(PROTOCOL_VERSION, protocol);
        }
        if let Ok(request) = self.authorize(request).await {
            let _ = request.send().await;
        }
    }
}

/// Why a request got no answer.
enum Failure {
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
async fn within<T>(
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
fn cancelled_request(params: Option<&serde_json::value::RawValue>) -> Option<IdKey> {
    #[derive(serde::Deserialize)]
    struct Cancelled<'a> {
        #[serde(rename = "requestId", borrow)]
        request_id: &'a serde_json::value::RawValue,
    }
    let params = serde_json::from_str::<Cancelled<'_>>(params?.get()).ok()?;
    Some(IdKey::of(params.request_id))
}

/// Whether `line` is the response to `id`.
pub(super) fn answers(line: &[u8], id: &IdKey) -> bool {
    matches!(Message::parse(line), Ok((Kind::Response, m)) if m.id().map(IdKey::of).as_ref() == Some(id))
}

/// The negotiated version in an `initialize` answer.
fn protocol_of(answer: &[u8]) -> Option<String> {
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
pub(super) fn one_line(mut body: Vec<u8>) -> Vec<u8> {
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
pub(super) async fn read_body(mut response: Response) -> Result<Vec<u8>, String> {
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

pub(super) fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(EVENT_STREAM))
}

/// A 401, or a 403 asking for more scope.
fn is_challenge(response: &Response) -> bool {
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
fn answer_in_body(body: &[u8], id: &IdKey) -> Option<Vec<u8>> {
    let line = one_line(body.to_vec());
    answers(&line, id).then_some(line)
}

/// A 400 from a server of the stateless revision carries a JSON-RPC error
/// of its own (unsupported version, header mismatch, a missing
/// capability); an older server's does not.
fn is_modern_error(body: &[u8]) -> bool {
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
pub(super) fn http_error(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

/// A request that could not be sent, with its causes.
pub(super) fn unreachable(e: &http::Error) -> String {
    if e.is_timeout() {
        return "connecting timed out".into();
    }
    format!("cannot reach the server ({e})")
}

/// `initialize` with the id replaced by `n` (as a string Gatehouse owns).
pub(super) fn with_own_id(initialize: &[u8], n: u64) -> Result<(Vec<u8>, IdKey), String> {
    let mut value: serde_json::Value = serde_json::from_slice(initialize)
        .map_err(|e| format!("the client's initialize cannot be sent again: {e}"))?;
    let id = format!("gatehouse-initialize-{n}");
    value["id"] = serde_json::Value::String(id.clone());
    let body = serde_json::to_vec(&value).expect("JSON serialises");
    Ok((body, IdKey::Text(format!("\"{id}\"").into())))
}
