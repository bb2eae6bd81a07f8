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

mod lifecycle;
mod streams;
mod wire;

use wire::{
    Failure, answer_in_body, cancelled_request, is_challenge, is_modern_error, protocol_of, within,
};
pub(super) use wire::{
    answers, http_error, is_event_stream, one_line, read_body, unreachable, with_own_id,
};

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
}
