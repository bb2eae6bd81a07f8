//! The two pumps (client → server, server → client; each answer is written
//! once its audit record is in the spool), `tools/list` filtering, and the
//! notifier that tells the client when the visible tools change.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{Mutex as AsyncMutex, Notify};

use super::admission::{Held, Refusal};
use super::answers::Outcome;
use super::asking::Waiting;
use super::framing::{Frame, LineReader};
use super::message::{
    self, INTERNAL_ERROR, INVALID_REQUEST, IdKey, Invalid, Kind, Message, PARSE_ERROR,
    ToolResultProbe, scan_id,
};
use super::{Call, Proxy};
use crate::audit::AuditDecision;
use crate::now_micros;

/// The client's side of the connection: one writer shared by every task.
pub(super) struct Outbox<W> {
    writer: AsyncMutex<BufWriter<W>>,
}

impl<W: AsyncWrite + Unpin> Outbox<W> {
    pub(super) async fn send(&self, message: &[u8], flush: bool) {
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
        // The server's stdin: written by the client pump, and by approvals
        // as they are granted.
        let writer = AsyncMutex::new(writer);
        let (held, waiting) = tokio::sync::mpsc::unbounded_channel();
        {
            let client = self.pump_client(client_in, &writer, held, &out);
            let server = self.pump_upstream(reader, &out);
            let notify = self.notify_list_changed(&policy_changed, &out);
            let approvals = self.run_approvals(waiting, &writer, &out);
            tokio::pin!(client, server, notify, approvals);

            // A finished future must not be polled again: each branch is
            // guarded by whether it completed.
            let mut server_done = false;
            loop {
                tokio::select! {
                    _ = &mut client => break,
                    _ = &mut server, if !server_done => server_done = true,
                    _ = &mut notify => {}
                    _ = &mut approvals => {}
                }
            }
            // The client has gone; the server's stdin is closed. Let it
            // answer what is in flight, within the grace period. Every task
            // that writes to the client keeps being polled: one may be
            // half-way through a write, holding the client's writer.
            let drain = async {
                tokio::select! {
                    _ = async {
                        if !server_done {
                            (&mut server).await;
                        }
                    } => {}
                    _ = &mut notify => {}
                }
            };
            let _ = tokio::time::timeout(self.cfg.shutdown_grace, drain).await;
            // Leaving this block drops the tasks, and with them any hold on
            // the writer, before the last flush.
        }
        // A client that stopped reading must not keep the proxy alive.
        let flush = async { out.writer.lock().await.flush().await };
        let _ = tokio::time::timeout(self.cfg.shutdown_grace, flush).await;
    }

    async fn pump_client<CR, W, UW>(
        &self,
        client_in: CR,
        upstream: &AsyncMutex<Option<BufWriter<UW>>>,
        held: UnboundedSender<Waiting>,
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
            let call = Call::arrived(now_micros(), Instant::now());
            let line = match frame {
                Frame::Line(line) => line,
                Frame::TooLong { len, head, tail } => {
                    let id = scan_id(head).or_else(|| scan_id(tail));
                    let reason = format!(
                        "Gatehouse refused a message of {len} bytes from the client: the limit is {} bytes",
                        self.cfg.max_message_bytes
                    );
                    self.refuse(out, id.as_ref(), INVALID_REQUEST, call, &reason)
                        .await;
                    continue;
                }
            };
            let (kind, msg) = match Message::parse(line) {
                Ok(parsed) => parsed,
                Err(invalid) => {
                    let (code, reason) = client_message_unusable(invalid);
                    let id = scan_id(line);
                    self.refuse(out, id.as_ref(), code, call, &reason).await;
                    continue;
                }
            };
            if kind == Kind::Request
                && let Err(held_back) = self.admit_request(&msg, call)
            {
                let id = msg.id().map(IdKey::of);
                match *held_back {
                    Held::Refused(Refusal {
                        code,
                        reason,
                        call,
                        as_tool_result,
                    }) => {
                        if as_tool_result {
                            self.deny_call(out, id.as_ref(), call, reason).await;
                        } else {
                            self.refuse(out, id.as_ref(), code, call, &reason).await;
                        }
                    }
                    // Waits on its own task; the next message goes on.
                    Held::Asking(asking) => {
                        let _ = held.send(Waiting {
                            line: line.to_vec(),
                            id,
                            asking,
                        });
                    }
                }
                continue;
            }
            let mut writer = upstream.lock().await;
            if let Some(w) = writer.as_mut() {
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
                    *writer = None;
                    self.upstream_gone(&format!("the server stopped reading its input ({e})"));
                }
            }
        }
        // Closing the server's stdin asks it to exit.
        if let Some(mut w) = upstream.lock().await.take() {
            let _ = w.shutdown().await;
        }
    }

    /// Relays the server's messages to the client, each once its audit
    /// record (if it has one) is durable, flushing once per burst.
    async fn pump_upstream<UR, W>(&self, reader: Option<UR>, out: &Outbox<W>)
    where
        UR: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let Some(reader) = reader else { return };
        let mut lines = LineReader::new(reader, self.cfg.max_message_bytes);
        loop {
            let (body, more) = match lines.next().await {
                Ok(Some((Frame::Line(line), more))) => (self.on_server_line(line), more),
                Ok(Some((Frame::TooLong { len, head, tail }, more))) => {
                    let reason = format!(
                        "the server's message of {len} bytes is over Gatehouse's limit of {} bytes; raise it with `gatehouse run --max-message-bytes`",
                        self.cfg.max_message_bytes
                    );
                    let id = scan_id(head).or_else(|| scan_id(tail));
                    (self.fail_pending(id, &reason).map(Cow::Owned), more)
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("gatehouse: reading from the server failed: {e}");
                    break;
                }
            };
            if let Some(body) = body {
                out.send(&body, !more).await;
            }
        }
        let gone = self.upstream_gone("it exited before answering");
        let last = gone.len();
        for (i, (id, call, reason)) in gone.into_iter().enumerate() {
            out.send(&self.failure(id, call, &reason), i + 1 == last)
                .await;
        }
    }

    /// What to send the client for a line from the server, if anything:
    /// most often the line itself.
    fn on_server_line<'l>(&self, line: &'l [u8]) -> Option<Cow<'l, [u8]>> {
        let (kind, msg) = match Message::parse(line) {
            Ok(parsed) => parsed,
            Err(invalid) => {
                let reason = server_message_unusable(invalid);
                return self.fail_pending(scan_id(line), &reason).map(Cow::Owned);
            }
        };
        let call = match kind {
            Kind::Response => msg
                .id()
                .and_then(|id| self.state().pending.remove(&IdKey::of(id))),
            Kind::Request | Kind::Notification => None,
        };
        let Some(mut call) = call else {
            return Some(Cow::Borrowed(line));
        };
        let mut body = Cow::Borrowed(line);
        let mut is_error = None;
        let mut result = None;
        match call.method.as_deref().unwrap_or_default() {
            "tools/list" => {
                let bytes = msg.result().map(|r| self.state().pins.bytes_hash(r.get()));
                let listing = match bytes.map(|b| self.check_tool_pins(&msg, b)) {
                    Some(Ok(check)) => Ok(check),
                    Some(Err(reason)) => Err(reason),
                    None => Ok(None),
                };
                let filtered = listing.map(|check| {
                    self.note_tools(&msg, bytes)
                        .filter_tools(line, &msg, check.as_deref())
                });
                match filtered.unwrap_or_else(Listing::Unreadable) {
                    Listing::Unchanged => {}
                    Listing::Filtered(filtered) => body = Cow::Owned(filtered),
                    Listing::Unreadable(reason) => {
                        let id = msg.id().map_or(IdKey::Num(0), IdKey::of);
                        return Some(Cow::Owned(self.failure(id, call, &reason)));
                    }
                }
            }
            "initialize" => {
                match self.check_instructions(line, &msg) {
                    Ok(checked) => body = checked,
                    Err(reason) => {
                        let id = msg.id().map_or(IdKey::Num(0), IdKey::of);
                        return Some(Cow::Owned(self.failure(id, call, &reason)));
                    }
                }
                if let Some(v) = msg
                    .result()
                    .and_then(|r| serde_json::from_str::<message::InitializeResult>(r.get()).ok())
                    .and_then(|r| r.protocol_version.map(|v| v.into_owned()))
                {
                    self.state().protocol = Some(v);
                }
            }
            "tools/call" => {
                if let Some(r) = msg.result() {
                    is_error = serde_json::from_str::<ToolResultProbe>(r.get())
                        .ok()
                        .and_then(|p| p.is_error);
                    result = Some(preview(r.get(), self.cfg.result_preview_bytes));
                }
            }
            _ => {}
        }
        let rpc_error = msg.error().map(|e| e.get().to_string());
        let approval = call.approval.take();
        let outcome = Outcome {
            decision: if rpc_error.is_some() {
                AuditDecision::Error
            } else if approval.is_some() {
                AuditDecision::Asked
            } else {
                AuditDecision::Allowed
            },
            reason: approval,
            result_size: body.len(),
            is_error,
            rpc_error,
            result,
        };
        let record = self.record(call, outcome);
        match self.audit.record(record) {
            Ok(()) => Some(body),
            Err(e) => {
                let id = msg.id().map(|id| id.get());
                Some(Cow::Owned(message::error_response(
                    id,
                    INTERNAL_ERROR,
                    &e.to_string(),
                )))
            }
        }
    }

    /// Remembers the tools a `tools/list` result names, in the store, for
    /// risk tiers and the app, and decides with them from now on: the
    /// snapshot is rebuilt before the list reaches the client, so no call
    /// the client makes after listing is judged by the tool's name alone.
    /// Only when the list differs from the last one this proxy saw (`hash`,
    /// of the result's bytes, tells): once per session, typically.
    fn note_tools(&self, msg: &Message<'_>, hash: Option<u64>) -> &Self {
        let (Some(result), Some(database), Some(hash)) =
            (msg.result(), self.cfg.database.as_deref(), hash)
        else {
            return self;
        };
        {
            let mut state = self.state();
            if state.tools_hash == Some(hash) {
                return self;
            }
            state.tools_hash = Some(hash);
        }
        let server = &*self.cfg.server;
        match record_listing(database, server, result.get()) {
            Ok(snapshot) => {
                if self.policy.load().is_ok() {
                    self.policy.store(std::sync::Arc::new(Ok(snapshot)));
                }
            }
            // The store's trouble reaches the policy through its watcher,
            // which fails closed; the tier from the name applies meanwhile.
            Err(e) => eprintln!("gatehouse: could not record the tools of '{server}': {e}"),
        }
        self
    }

    /// Removes hidden tools from a `tools/list` result: those the policy
    /// denies and those `pins` quarantined. Most of the time nothing is
    /// hidden and the line passes untouched, unparsed.
    /// Otherwise the line is copied without the hidden tools' entries: the
    /// other tools and the rest of the message, key order included, stay
    /// as the server sent them. A list that cannot be read is not passed on
    /// (it could show a hidden tool): the client gets an error instead.
    fn filter_tools(
        &self,
        line: &[u8],
        msg: &Message<'_>,
        pins: Option<&crate::pins::ListingCheck>,
    ) -> Listing {
        #[derive(serde::Deserialize)]
        struct Tools<'a> {
            #[serde(borrow)]
            tools: Vec<&'a RawValue>,
        }
        #[derive(serde::Deserialize)]
        struct Name<'a> {
            #[serde(borrow)]
            name: Cow<'a, str>,
        }
        let policy = self.policy.load();
        let quarantined = pins.filter(|p| p.hides_any()).map(|p| &p.hidden);
        // An unreadable policy hides nothing by itself (every call is
        // refused anyway while the listing stays informative); quarantined
        // tools stay hidden whatever became of it since the pin check.
        let policy = policy.as_ref().as_ref().ok();
        if quarantined.is_none() && !policy.is_some_and(|p| p.hides_any()) {
            return Listing::Unchanged;
        }
        let Some(result) = msg.result() else {
            return Listing::Unchanged; // an error response
        };
        let unreadable = |e: serde_json::Error| {
            Listing::Unreadable(format!(
                "Gatehouse could not read the server's tool list to remove the tools it must hide ({e})"
            ))
        };
        let listed: Tools = match serde_json::from_str(result.get()) {
            Ok(listed) => listed,
            Err(e) => return unreadable(e),
        };
        let mut hidden = Vec::with_capacity(listed.tools.len());
        for (i, tool) in listed.tools.iter().enumerate() {
            // The pin check read the same bytes: its entries line up.
            if quarantined.is_some_and(|q| q.get(i) == Some(&true)) {
                hidden.push(true);
                continue;
            }
            match serde_json::from_str::<Name>(tool.get()) {
                Ok(t) => hidden.push(policy.is_some_and(|p| p.hides(&t.name))),
                Err(e) => return unreadable(e),
            }
        }
        if !hidden.contains(&true) {
            return Listing::Unchanged;
        }
        match splice_out(line, &listed.tools, &hidden) {
            Some(filtered) => Listing::Filtered(filtered),
            // Not reachable with serde_json's borrowed RawValues.
            None => Listing::Unreadable(
                "Gatehouse could not locate the server's tools in its answer".into(),
            ),
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

/// The JSON-RPC error code and text for an unusable client message.
fn client_message_unusable(invalid: Invalid) -> (i64, String) {
    match invalid {
        Invalid::Batch => (
            INVALID_REQUEST,
            "Gatehouse refused a JSON-RPC batch: MCP removed batching in 2025-06-18; send one message per line".into(),
        ),
        Invalid::NotJsonRpc => (
            INVALID_REQUEST,
            "Gatehouse refused a message that is neither a request, a notification nor a response".into(),
        ),
        Invalid::Malformed(e) => (
            PARSE_ERROR,
            format!("Gatehouse could not parse a message from the client as JSON ({e})"),
        ),
    }
}

/// What the client is told when the server sends something unusable.
fn server_message_unusable(invalid: Invalid) -> String {
    match invalid {
        Invalid::Malformed(e) => format!("the server sent a message that is not valid JSON ({e})"),
        Invalid::Batch => "the server sent a JSON-RPC batch, which MCP no longer allows".into(),
        Invalid::NotJsonRpc => "the server sent a message that is not JSON-RPC".into(),
    }
}

/// Stores the tools of one `tools/list` result (a page of a longer list,
/// one with `nextCursor`, adds and updates; a whole list also replaces),
/// and returns the server's policy snapshot with them.
fn record_listing(
    database: &std::path::Path,
    server: &str,
    result: &str,
) -> crate::Result<crate::PolicySnapshot> {
    let listed: serde_json::Value = serde_json::from_str(result)
        .map_err(|e| crate::Error::InvalidSpec(format!("unreadable tool list: {e}")))?;
    let tools: Vec<(String, String)> = listed["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| Some((t.get("name")?.as_str()?.to_string(), t.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let whole = listed
        .get("nextCursor")
        .is_none_or(serde_json::Value::is_null);
    let mut store = crate::Store::open_path(database)?;
    store.record_tools(server, &tools, whole)?;
    store.policy_snapshot(server)
}

/// What becomes of a `tools/list` result.
enum Listing {
    Unchanged,
    Filtered(Vec<u8>),
    /// Cannot be checked; answer the request with this error instead.
    Unreadable(String),
}

/// `line` without the array elements of `items` marked in `drop`. Every
/// byte outside the array, and each kept element, is copied as is; kept
/// elements are joined by a plain `,`. `None` if an item does not lie
/// within `line`.
/// What the audit record keeps of a result: all of it when it fits in
/// `limit` bytes; otherwise its first bytes (cut at a character boundary)
/// and the whole result's SHA-256. The journal redacts either before it is
/// written anywhere.
fn preview(result: &str, limit: usize) -> (String, Option<[u8; 32]>) {
    use sha2::{Digest, Sha256};
    if result.len() <= limit {
        return (result.to_owned(), None);
    }
    let mut end = limit;
    while !result.is_char_boundary(end) {
        end -= 1;
    }
    (
        result[..end].to_owned(),
        Some(Sha256::digest(result.as_bytes()).into()),
    )
}

fn splice_out(line: &[u8], items: &[&RawValue], drop: &[bool]) -> Option<Vec<u8>> {
    let base = line.as_ptr() as usize;
    let span = |item: &RawValue| {
        let start = (item.get().as_ptr() as usize).checked_sub(base)?;
        let end = start + item.get().len();
        (end <= line.len()).then_some(start..end)
    };
    let first = span(items.first()?)?;
    let last = span(items.last()?)?;
    let mut out = Vec::with_capacity(line.len());
    out.extend_from_slice(&line[..first.start]);
    let mut kept = 0;
    for (item, dropped) in items.iter().zip(drop) {
        if *dropped {
            continue;
        }
        if kept > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&line[span(item)?]);
        kept += 1;
    }
    out.extend_from_slice(&line[last.end..]);
    Some(out)
}

#[cfg(test)]
mod tests;
