//! The two pumps (client → server, server → client), the ordered forwarder
//! that releases each response once its audit record is committed, and the
//! notifier that tells the client when the visible tools change.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{Mutex as AsyncMutex, Notify, mpsc};

use super::framing::{Frame, LineReader};
use super::message::{
    self, INTERNAL_ERROR, INVALID_REQUEST, IdKey, Invalid, Kind, Message, PARSE_ERROR,
    RequestParams, ToolResultProbe, scan_id,
};
use super::{Pending, Proxy};
use crate::audit::{AuditDecision, AuditRecord, AuditWriter, Receipt};
use crate::now_micros;
use crate::policy::{Decision, Rule};

/// The client's side of the connection: one writer shared by every task.
struct Outbox<W> {
    writer: AsyncMutex<BufWriter<W>>,
}

impl<W: AsyncWrite + Unpin> Outbox<W> {
    async fn send(&self, message: &[u8], flush: bool) {
        let mut w = self.writer.lock().await;
        // A client that went away cannot be told anything; the pumps end
        // when its stdin closes.
        let _ = w.write_all(message).await;
        let _ = w.write_all(b"\n").await;
        if flush {
            let _ = w.flush().await;
        }
    }
}

/// A message from the server waiting for its audit record, in order.
struct Outgoing {
    receipt: Option<Receipt>,
    body: Vec<u8>,
    id: Option<IdKey>,
}

/// The server's side: its stdin (if it is running) and stdout.
pub struct Upstream<R, W> {
    /// The server's stdout.
    pub reader: R,
    /// The server's stdin.
    pub writer: W,
}

impl Proxy {
    /// Relays between the client and the upstream until the client closes
    /// its input; then gives the server `shutdown_grace` to finish.
    /// `upstream` is `Err(reason)` if the server could not be started: every
    /// request is then answered with that reason. `policy_changed` is
    /// notified when the policy was swapped.
    pub async fn relay<CR, CW, UR, UW>(
        self: &Arc<Self>,
        client_in: CR,
        client_out: CW,
        upstream: Result<Upstream<UR, UW>, String>,
        policy_changed: Arc<Notify>,
    ) where
        CR: AsyncRead + Unpin,
        CW: AsyncWrite + Unpin,
        UR: AsyncRead + Unpin,
        UW: AsyncWrite + Unpin,
    {
        let out = Outbox {
            writer: AsyncMutex::new(BufWriter::with_capacity(64 * 1024, client_out)),
        };
        let (reader, writer) = match upstream {
            Ok(up) => (
                Some(up.reader),
                Some(BufWriter::with_capacity(64 * 1024, up.writer)),
            ),
            Err(reason) => {
                self.state().upstream_down = Some(reason);
                (None, None)
            }
        };
        let (queue, queued) = mpsc::unbounded_channel();
        let client = self.pump_client(client_in, writer, &out);
        let server = self.pump_upstream(reader, queue);
        let forward = self.forward(queued, &out);
        let notify = self.notify_list_changed(&policy_changed, &out);
        tokio::pin!(client, server, forward, notify);

        // A finished future must not be polled again: each branch is
        // guarded by whether it completed.
        let (mut server_done, mut forward_done) = (false, false);
        loop {
            tokio::select! {
                _ = &mut client => break,
                _ = &mut server, if !server_done => server_done = true,
                _ = &mut forward, if !forward_done => forward_done = true,
                _ = &mut notify => {}
            }
        }
        // The client has gone; the server's stdin is closed. Let it answer
        // what is in flight, within the grace period.
        let drain = async {
            if !server_done {
                server.await;
            }
            if !forward_done {
                forward.await;
            }
        };
        let _ = tokio::time::timeout(self.cfg.shutdown_grace, drain).await;
        let _ = out.writer.lock().await.flush().await;
    }

    async fn pump_client<CR, W, UW>(
        &self,
        client_in: CR,
        mut upstream: Option<BufWriter<UW>>,
        out: &Outbox<W>,
    ) where
        CR: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
        UW: AsyncWrite + Unpin,
    {
        let mut lines = LineReader::new(client_in, self.cfg.max_message_bytes);
        loop {
            let (frame, more) = match lines.next().await {
                Ok(Some(read)) => read,
                Ok(None) => break,
                Err(e) => {
                    eprintln!("gatehouse: reading from the client failed: {e}");
                    break;
                }
            };
            let received = Instant::now();
            let time = now_micros();
            let line = match frame {
                Frame::Line(line) => line,
                Frame::TooLong { len, head, tail } => {
                    let id = scan_id(head).or_else(|| scan_id(tail));
                    let reason = format!(
                        "Gatehouse refused a message of {len} bytes from the client: the limit is {} bytes",
                        self.cfg.max_message_bytes
                    );
                    self.refuse(
                        out,
                        id.as_ref(),
                        INVALID_REQUEST,
                        None,
                        None,
                        &reason,
                        time,
                        received,
                    )
                    .await;
                    continue;
                }
            };
            let (kind, msg) = match Message::parse(line) {
                Ok(parsed) => parsed,
                Err(invalid) => {
                    let (code, reason) = match invalid {
                        Invalid::Batch => (
                            INVALID_REQUEST,
                            "Gatehouse refused a JSON-RPC batch: MCP removed batching in 2025-06-18; send one message per line".to_string(),
                        ),
                        Invalid::NotJsonRpc => (
                            INVALID_REQUEST,
                            "Gatehouse refused a message that is neither a request, a notification nor a response".to_string(),
                        ),
                        Invalid::Malformed(e) => (
                            PARSE_ERROR,
                            format!("Gatehouse could not parse a message from the client as JSON ({e})"),
                        ),
                    };
                    let id = scan_id(line);
                    self.refuse(out, id.as_ref(), code, None, None, &reason, time, received)
                        .await;
                    continue;
                }
            };
            match kind {
                Kind::Request => {
                    if let Some(refusal) = self.admit_request(&msg, time, received) {
                        let Refusal {
                            code,
                            reason,
                            tool,
                            arguments,
                            tool_result,
                        } = refusal;
                        let id = msg.id().map(IdKey::of);
                        if tool_result {
                            self.deny_call(
                                out,
                                id.as_ref(),
                                tool,
                                arguments,
                                &reason,
                                time,
                                received,
                            )
                            .await;
                        } else {
                            self.refuse(
                                out,
                                id.as_ref(),
                                code,
                                Some(msg.method().unwrap_or_default()),
                                tool,
                                &reason,
                                time,
                                received,
                            )
                            .await;
                        }
                        continue;
                    }
                }
                Kind::Notification | Kind::Response => {}
            }
            if let Some(w) = upstream.as_mut() {
                let sent = async {
                    w.write_all(line).await?;
                    w.write_all(b"\n").await?;
                    if !more {
                        w.flush().await?;
                    }
                    std::io::Result::Ok(())
                }
                .await;
                if let Err(e) = sent {
                    upstream = None;
                    self.upstream_gone(format!("the server stopped reading its input ({e})"));
                }
            }
        }
        // Closing the server's stdin asks it to exit.
        if let Some(mut w) = upstream {
            let _ = w.shutdown().await;
        }
    }

    /// Decides whether a client request goes to the server. Registers it as
    /// pending if so; returns the refusal otherwise.
    fn admit_request(&self, msg: &Message<'_>, time: i64, received: Instant) -> Option<Refusal> {
        let method = msg.method().unwrap_or_default();
        let params = RequestParams::of(msg.params());
        let mut state = self.state();
        if state.client.is_none() {
            let name = params
                .client_info
                .as_ref()
                .or(params.meta.as_ref().and_then(|m| m.client_info.as_ref()))
                .map(|c| Arc::<str>::from(c.name.as_ref()));
            state.client = name;
        }
        if let Some(v) = params
            .meta
            .as_ref()
            .and_then(|m| m.protocol_version.as_deref())
            && state.protocol.as_deref() != Some(v)
        {
            state.protocol = Some(v.to_string());
        }
        let mut tool = None;
        let mut arguments = None;
        match method {
            "initialize" => {
                state.session_style = true;
                if let Some(v) = params.protocol_version.as_deref() {
                    state.protocol = Some(v.to_string());
                }
            }
            "subscriptions/listen" => {
                let wants_tools = params
                    .notifications
                    .and_then(|n| serde_json::from_str::<serde_json::Value>(n.get()).ok())
                    .is_some_and(|n| n["toolsListChanged"] == true);
                if let (true, Some(id)) = (wants_tools, msg.id()) {
                    state.tool_listeners.push(IdKey::of(id));
                }
            }
            "tools/call" => {
                let name = params.name.as_deref().unwrap_or_default().to_string();
                arguments = params.arguments.map(|a| a.get().to_string());
                let verdict = match &**self.policy.load() {
                    Ok(policy) => Ok(policy.decide(&name)),
                    Err(reason) => Err(reason.clone()),
                };
                let refusal = match verdict {
                    Ok(v) if v.decision == Decision::Allow => None,
                    Ok(v) => Some(self.refusal_text(&name, v.decision, v.rule)),
                    Err(reason) => Some(format!(
                        "Gatehouse refused the call to tool '{name}' because it cannot read its policy: {reason}. Nothing was sent to the server."
                    )),
                };
                if let Some(reason) = refusal {
                    return Some(Refusal {
                        code: INTERNAL_ERROR,
                        reason,
                        tool: Some(name),
                        arguments,
                        tool_result: true,
                    });
                }
                tool = Some(name);
            }
            _ => {}
        }
        if let Some(down) = &state.upstream_down {
            return Some(Refusal {
                code: INTERNAL_ERROR,
                reason: down.clone(),
                tool,
                arguments,
                tool_result: false,
            });
        }
        if let Some(id) = msg.id() {
            state.pending.insert(
                IdKey::of(id),
                Pending {
                    method: method.to_string(),
                    tool,
                    arguments,
                    time,
                    received,
                },
            );
        }
        None
    }

    fn refusal_text(&self, tool: &str, decision: Decision, rule: Rule) -> String {
        let server = &self.cfg.server;
        let why = match (decision, rule) {
            (Decision::Deny, _) => format!("the tool '{tool}' of server '{server}' is set to deny"),
            (Decision::Ask, _) => format!(
                "the tool '{tool}' of server '{server}' is set to ask, and approvals are not available in this version of Gatehouse"
            ),
            (Decision::Allow, _) => unreachable!("allowed calls are not refused"),
        };
        format!(
            "Gatehouse refused this call: {why}. Nothing was sent to the server. To allow it, run `gatehouse policy set {server} {tool} allow` or change it on the server's page in the Gatehouse app."
        )
    }

    /// Answers a refused `tools/call` with an `isError` tool result.
    #[allow(clippy::too_many_arguments)]
    async fn deny_call<W: AsyncWrite + Unpin>(
        &self,
        out: &Outbox<W>,
        id: Option<&IdKey>,
        tool: Option<String>,
        arguments: Option<String>,
        reason: &str,
        time: i64,
        received: Instant,
    ) {
        let id_json = id.map(IdKey::to_json);
        let body = message::tool_error_result(id_json.as_deref().unwrap_or("null"), reason);
        let record = self.record(
            Some("tools/call".into()),
            tool,
            arguments,
            AuditDecision::Denied,
            Some(reason.into()),
            Some(body.len() as i64),
            Some(true),
            None,
            time,
            received,
        );
        self.answer_after_audit(out, record, body, id).await;
    }

    /// Answers a request (or an unusable message) with a JSON-RPC error.
    #[allow(clippy::too_many_arguments)]
    async fn refuse<W: AsyncWrite + Unpin>(
        &self,
        out: &Outbox<W>,
        id: Option<&IdKey>,
        code: i64,
        method: Option<&str>,
        tool: Option<String>,
        reason: &str,
        time: i64,
        received: Instant,
    ) {
        let id_json = id.map(IdKey::to_json);
        let body = message::error_response(id_json.as_deref(), code, reason);
        let error = serde_json::json!({ "code": code, "message": reason }).to_string();
        let record = self.record(
            method.map(str::to_string),
            tool,
            None,
            AuditDecision::Error,
            Some(reason.into()),
            Some(body.len() as i64),
            None,
            Some(error),
            time,
            received,
        );
        self.answer_after_audit(out, record, body, id).await;
    }

    async fn answer_after_audit<W: AsyncWrite + Unpin>(
        &self,
        out: &Outbox<W>,
        record: AuditRecord,
        body: Vec<u8>,
        id: Option<&IdKey>,
    ) {
        match self.audit.append(record).await {
            Ok(()) => out.send(&body, true).await,
            Err(e) => {
                let id_json = id.map(IdKey::to_json);
                out.send(
                    &message::error_response(id_json.as_deref(), INTERNAL_ERROR, &e),
                    true,
                )
                .await;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        method: Option<String>,
        tool: Option<String>,
        arguments: Option<String>,
        decision: AuditDecision,
        reason: Option<String>,
        result_size: Option<i64>,
        is_error: Option<bool>,
        rpc_error: Option<String>,
        time: i64,
        received: Instant,
    ) -> AuditRecord {
        AuditRecord {
            time,
            session: self.cfg.session.clone(),
            client: self.client_name(),
            server: self.cfg.server.clone(),
            method,
            tool,
            arguments,
            decision,
            reason,
            result_size,
            is_error,
            rpc_error,
            latency_us: received.elapsed().as_micros() as i64,
        }
    }

    /// Marks the server as gone and answers everything in flight.
    fn upstream_gone(&self, reason: String) -> Vec<(IdKey, Pending, String)> {
        let mut state = self.state();
        if state.upstream_down.is_none() {
            let hint = if self.cfg.log_hint.is_empty() {
                String::new()
            } else {
                format!("; its log is {}", self.cfg.log_hint)
            };
            state.upstream_down = Some(format!(
                "the server '{}' is not running: {reason}{hint}",
                self.cfg.server
            ));
        }
        let message = state.upstream_down.clone().unwrap_or_default();
        state
            .pending
            .drain()
            .map(|(id, p)| (id, p, message.clone()))
            .collect()
    }

    async fn pump_upstream<UR: AsyncRead + Unpin>(
        &self,
        reader: Option<UR>,
        queue: mpsc::UnboundedSender<Outgoing>,
    ) {
        let Some(reader) = reader else { return };
        let mut lines = LineReader::new(reader, self.cfg.max_message_bytes);
        loop {
            match lines.next().await {
                Ok(Some((Frame::Line(line), _))) => self.on_server_line(line, &queue),
                Ok(Some((Frame::TooLong { len, head, tail }, _))) => {
                    let reason = format!(
                        "the server's message of {len} bytes is over Gatehouse's limit of {} bytes; raise it with `gatehouse run --max-message-bytes`",
                        self.cfg.max_message_bytes
                    );
                    let id = scan_id(head).or_else(|| scan_id(tail));
                    self.fail_pending(id, &reason, &queue);
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("gatehouse: reading from the server failed: {e}");
                    break;
                }
            }
        }
        for (id, pending, reason) in self.upstream_gone("it exited before answering".into()) {
            self.queue_failure(id, pending, &reason, &queue);
        }
    }

    fn on_server_line(&self, line: &[u8], queue: &mpsc::UnboundedSender<Outgoing>) {
        let (kind, msg) = match Message::parse(line) {
            Ok(parsed) => parsed,
            Err(invalid) => {
                let reason = match invalid {
                    Invalid::Malformed(e) => {
                        format!("the server sent a message that is not valid JSON ({e})")
                    }
                    Invalid::Batch => {
                        "the server sent a JSON-RPC batch, which MCP no longer allows".into()
                    }
                    Invalid::NotJsonRpc => "the server sent a message that is not JSON-RPC".into(),
                };
                self.fail_pending(scan_id(line), &reason, queue);
                return;
            }
        };
        let pending = match kind {
            Kind::Response => msg
                .id()
                .and_then(|id| self.state().pending.remove(&IdKey::of(id))),
            Kind::Request | Kind::Notification => None,
        };
        let Some(pending) = pending else {
            let _ = queue.send(Outgoing {
                receipt: None,
                body: line.to_vec(),
                id: None,
            });
            return;
        };
        let mut body = Cow::Borrowed(line);
        let mut is_error = None;
        match pending.method.as_str() {
            "tools/list" => {
                if let Some(filtered) = self.filter_tools(&msg) {
                    body = Cow::Owned(filtered);
                }
            }
            "initialize" => {
                if let Some(v) = msg
                    .result()
                    .and_then(|r| serde_json::from_str::<message::InitializeResult>(r.get()).ok())
                    .and_then(|r| r.protocol_version.map(|v| v.into_owned()))
                {
                    self.state().protocol = Some(v);
                }
            }
            "tools/call" => {
                is_error = msg
                    .result()
                    .and_then(|r| serde_json::from_str::<ToolResultProbe>(r.get()).ok())
                    .and_then(|p| p.is_error);
            }
            _ => {}
        }
        let rpc_error = msg.error().map(|e| e.get().to_string());
        let decision = if rpc_error.is_some() {
            AuditDecision::Error
        } else {
            AuditDecision::Allowed
        };
        let record = self.record(
            Some(pending.method),
            pending.tool,
            pending.arguments,
            decision,
            None,
            Some(body.len() as i64),
            is_error,
            rpc_error,
            pending.time,
            pending.received,
        );
        let _ = queue.send(Outgoing {
            receipt: Some(self.audit.submit(record)),
            body: body.into_owned(),
            id: msg.id().map(IdKey::of),
        });
    }

    /// An unusable message from the server: answer the request it was for,
    /// if that can be told, so the client never waits forever.
    fn fail_pending(
        &self,
        id: Option<IdKey>,
        reason: &str,
        queue: &mpsc::UnboundedSender<Outgoing>,
    ) {
        let found = {
            let mut state = self.state();
            match id {
                Some(id) => state.pending.remove(&id).map(|p| (id, p)),
                // Only one request in flight: it must be the one.
                None if state.pending.len() == 1 => state.pending.drain().next(),
                None => None,
            }
        };
        match found {
            Some((id, pending)) => self.queue_failure(id, pending, reason, queue),
            None => {
                eprintln!("gatehouse: {reason}; it answered no pending request and was dropped")
            }
        }
    }

    fn queue_failure(
        &self,
        id: IdKey,
        pending: Pending,
        reason: &str,
        queue: &mpsc::UnboundedSender<Outgoing>,
    ) {
        let body = message::error_response(Some(&id.to_json()), INTERNAL_ERROR, reason);
        let error = serde_json::json!({ "code": INTERNAL_ERROR, "message": reason }).to_string();
        let record = self.record(
            Some(pending.method),
            pending.tool,
            pending.arguments,
            AuditDecision::Error,
            Some(reason.to_string()),
            Some(body.len() as i64),
            None,
            Some(error),
            pending.time,
            pending.received,
        );
        let _ = queue.send(Outgoing {
            receipt: Some(self.audit.submit(record)),
            body,
            id: Some(id),
        });
    }

    /// Removes hidden tools from a `tools/list` result. `None` if nothing
    /// needs removing (the common case: the line is forwarded untouched).
    fn filter_tools(&self, msg: &Message<'_>) -> Option<Vec<u8>> {
        #[derive(serde::Deserialize)]
        struct Names<'a> {
            #[serde(borrow)]
            tools: Vec<Name<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct Name<'a> {
            #[serde(borrow)]
            name: Cow<'a, str>,
        }
        let result = msg.result()?;
        let names: Names = serde_json::from_str(result.get()).ok()?;
        let policy = self.policy.load();
        let hides = |name: &str| match &**policy {
            Ok(p) => p.hides(name),
            Err(_) => false, // calls are refused anyway; listing stays informative
        };
        if !names.tools.iter().any(|t| hides(&t.name)) {
            return None;
        }
        let mut value: serde_json::Value = serde_json::from_str(result.get()).ok()?;
        if let Some(tools) = value.get_mut("tools").and_then(|t| t.as_array_mut()) {
            tools.retain(|t| !t["name"].as_str().is_some_and(&hides));
        }
        let id = msg.id().map(|i| i.get()).unwrap_or("null");
        Some(format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{value}}}"#).into_bytes())
    }

    /// Writes the server's messages to the client in order, each once its
    /// audit record is committed, flushing once per burst.
    async fn forward<W: AsyncWrite + Unpin>(
        &self,
        mut queued: mpsc::UnboundedReceiver<Outgoing>,
        out: &Outbox<W>,
    ) {
        while let Some(item) = queued.recv().await {
            let committed = match item.receipt {
                Some(receipt) => AuditWriter::committed(receipt).await,
                None => Ok(()),
            };
            let flush = queued.is_empty();
            match committed {
                Ok(()) => out.send(&item.body, flush).await,
                Err(e) => {
                    let id = item.id.as_ref().map(IdKey::to_json);
                    out.send(
                        &message::error_response(id.as_deref(), INTERNAL_ERROR, &e),
                        flush,
                    )
                    .await;
                }
            }
        }
    }

    /// Sends `notifications/tools/list_changed` each time the policy changes.
    async fn notify_list_changed<W: AsyncWrite + Unpin>(&self, changed: &Notify, out: &Outbox<W>) {
        loop {
            changed.notified().await;
            let (plain, listeners) = {
                let state = self.state();
                (state.session_style, state.tool_listeners.clone())
            };
            if plain {
                out.send(&message::tools_list_changed(None), true).await;
            }
            for id in &listeners {
                out.send(&message::tools_list_changed(Some(id)), true).await;
            }
        }
    }
}

/// Why a request is not forwarded.
struct Refusal {
    code: i64,
    reason: String,
    tool: Option<String>,
    arguments: Option<String>,
    /// Answer with an `isError` tool result rather than a JSON-RPC error.
    tool_result: bool,
}
