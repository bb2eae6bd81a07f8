//! One gateway session: a [`proxy::Session`] fed through two pipes, and the
//! router that hands each message the session writes to whoever waits for
//! it.
//!
//! A POSTed message becomes one line on the session's input. The router
//! reads the session's output a line at a time and sends each message:
//! - a response, to the POST of its request (by JSON-RPC id);
//! - a notification naming a waiting request's progress token (or, in the
//!   stateless style, a `subscriptions/listen` stream's id), to that POST;
//! - anything else (the server's own requests, list changes, logs), to the
//!   session's GET stream; without one, to the oldest waiting POST that
//!   takes events, else into a bounded backlog the next GET stream gets.
//!
//! A stateless session is shared by every request of one client to one
//! server, whose ids may collide: each request gets a fresh id of the
//! gateway's on the way in, and its own id back on the way out.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hyper::body::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::proxy::{self, IdKey, Kind, Message};
use crate::remote::params::{self, ToolHeaders};

/// Each pipe's buffer.
const PIPE: usize = 64 * 1024;
/// Messages queued for one waiting POST before the router waits for it.
const POST_DEPTH: usize = 64;
/// Messages queued on a GET stream before the router waits for it.
const STREAM_DEPTH: usize = 512;
/// Messages kept for a GET stream that is not open; the oldest go first.
const BACKLOG: usize = 256;

/// What the router hands a waiting POST.
pub(super) enum Routed {
    /// A message related to the request (progress, a server request).
    Interim(Bytes),
    /// The response; `error` is its JSON-RPC error code, if it is one.
    Final { line: Bytes, error: Option<i64> },
}

/// One session's pipes and routes.
pub(super) struct Link {
    /// The `Mcp-Session-Id` (empty for a stateless session).
    pub id: Box<str>,
    /// The registered server.
    pub server: Arc<str>,
    /// The client the token named.
    pub client: Arc<str>,
    /// Shared by stateless requests: ids are rewritten.
    pub stateless: bool,
    input: tokio::sync::Mutex<Option<DuplexStream>>,
    routes: Mutex<Routes>,
    /// Milliseconds since `epoch` when a request last used it.
    last_used: AtomicU64,
    epoch: Instant,
    next_id: AtomicI64,
    serving: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    /// The session's proxy: its policy snapshot knows the server's tools.
    proxy: Arc<proxy::Proxy>,
    /// Stateless: the tools' mirrored parameters, from the `tools/list`
    /// answers that went through.
    mirrored: Mutex<ToolHeaders>,
}

#[derive(Default)]
struct Routes {
    pending: HashMap<IdKey, Waiter>,
    /// Orders waiters, for the oldest.
    seq: u64,
    stream: Option<mpsc::Sender<Bytes>>,
    backlog: VecDeque<Bytes>,
}

struct Waiter {
    tx: mpsc::Sender<Routed>,
    /// The POST takes an event stream.
    events: bool,
    /// The request's progress token, as JSON text.
    progress: Option<Box<str>>,
    /// Stateless: the client's own id, as JSON text.
    original: Option<Box<str>>,
    seq: u64,
}

/// Why a request cannot wait.
pub(super) enum WaitError {
    /// Another request of the session waits under the same id.
    IdInUse,
}

/// A POST's wait for its response: what the router sends, and the guard
/// that withdraws the wait if the POST goes away first.
pub(super) struct Waiting {
    pub rx: mpsc::Receiver<Routed>,
    pub guard: WaitGuard,
}

/// Withdraws a wait when dropped before its response came. In a stateless
/// session that is the client's cancellation (it closed the stream), which
/// the server is told.
pub(super) struct WaitGuard {
    link: Arc<Link>,
    key: IdKey,
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        let withdrawn = self.link.routes().pending.remove(&self.key).is_some();
        if withdrawn
            && self.link.stateless
            && let IdKey::Num(id) = self.key
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let link = self.link.clone();
            runtime.spawn(async move {
                let cancel = format!(
                    r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{id},"reason":"the client closed the request's stream"}}}}"#
                );
                link.send(cancel.as_bytes()).await;
            });
        }
    }
}

impl Link {
    /// Serves `session` on fresh pipes and starts its router.
    pub(super) fn start(
        session: proxy::Session,
        id: Box<str>,
        server: Arc<str>,
        client: Arc<str>,
        stateless: bool,
        epoch: Instant,
    ) -> Arc<Link> {
        let proxy = session.proxy().clone();
        let (gateway_in, session_in) = tokio::io::duplex(PIPE);
        let (session_out, gateway_out) = tokio::io::duplex(PIPE);
        let link = Arc::new(Link {
            id,
            server,
            client,
            stateless,
            input: tokio::sync::Mutex::new(Some(gateway_in)),
            routes: Mutex::new(Routes::default()),
            last_used: AtomicU64::new(0),
            epoch,
            next_id: AtomicI64::new(1),
            serving: Mutex::new(None),
            closed: AtomicBool::new(false),
            proxy,
            mirrored: Mutex::new(ToolHeaders::new()),
        });
        link.touch();
        let serving = tokio::spawn(session.serve(session_in, session_out));
        *link.serving.lock().unwrap_or_else(|p| p.into_inner()) = Some(serving);
        tokio::spawn(route(link.clone(), gateway_out));
        link
    }

    /// Checks a stateless `tools/call`'s `Mcp-Param-*` headers against
    /// its `arguments`. The tool's marked parameters come from the
    /// session's last listing of it, else from the definition the store
    /// has (listed in another session); a tool known from neither marks
    /// none, so any such header is refused.
    pub(super) fn check_mirrored(
        &self,
        tool: &str,
        arguments: Option<&str>,
        headers: &hyper::HeaderMap,
    ) -> Result<(), String> {
        let learnt = self
            .mirrored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tool)
            .cloned();
        let marked = match learnt {
            Some(marked) => marked,
            None => {
                let Some(definition) = self.proxy.tool_definition(tool) else {
                    // Never listed: it marks nothing known.
                    return params::check(&[], arguments, headers);
                };
                let marked = params::annotations(&definition["inputSchema"]).unwrap_or_default();
                // Kept until a listing of the tool says otherwise.
                self.mirrored
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(tool.to_string(), marked.clone());
                marked
            }
        };
        params::check(&marked, arguments, headers)
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes that a request used the session now.
    pub(super) fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_used.store(now, Ordering::Relaxed);
    }

    /// When a request last used it, in milliseconds since the epoch.
    pub(super) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Whether the session has ended (closed, or its relay stopped).
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether the session's server has stopped, or never started: the
    /// session is of no more use, and its client had better start another
    /// (which starts the server again).
    pub(super) fn server_down(&self) -> bool {
        self.proxy.upstream_down()
    }

    /// Nothing waits on it, no GET stream is open, and no request came for
    /// `idle`.
    pub(super) fn is_idle(&self, idle: Duration) -> bool {
        let last = Duration::from_millis(self.last_used.load(Ordering::Relaxed));
        if self.epoch.elapsed().saturating_sub(last) < idle {
            return false;
        }
        let routes = self.routes();
        routes.pending.is_empty() && routes.stream.as_ref().is_none_or(|s| s.is_closed())
    }

    /// Writes one message to the session; `false` if it has ended.
    pub(super) async fn send(&self, line: &[u8]) -> bool {
        let mut input = self.input.lock().await;
        let Some(pipe) = input.as_mut() else {
            return false;
        };
        let sent = async {
            pipe.write_all(line).await?;
            pipe.write_all(b"\n").await
        }
        .await;
        if sent.is_err() {
            *input = None;
            self.closed.store(true, Ordering::Release);
        }
        sent.is_ok()
    }

    /// Ends the session: its input closes, the relay stores the last audit
    /// records and stops the server, and every stream ends.
    pub(super) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.input.lock().await.take();
    }

    /// Ends the session and waits for its relay to finish, at most `grace`.
    pub(super) async fn close_and_wait(&self, grace: Duration) {
        self.close().await;
        let serving = self
            .serving
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(serving) = serving {
            let _ = tokio::time::timeout(grace, serving).await;
        }
    }

    /// A stateless request's id in the session.
    pub(super) fn next_id(&self) -> i64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a request under `key` (its id in the session) before it is
    /// sent, so its response cannot arrive unclaimed.
    pub(super) fn wait(
        self: &Arc<Self>,
        key: IdKey,
        events: bool,
        progress: Option<Box<str>>,
        original: Option<Box<str>>,
    ) -> Result<Waiting, WaitError> {
        let (tx, rx) = mpsc::channel(POST_DEPTH);
        let mut routes = self.routes();
        if routes.pending.contains_key(&key) {
            return Err(WaitError::IdInUse);
        }
        routes.seq += 1;
        let seq = routes.seq;
        routes.pending.insert(
            key.clone(),
            Waiter {
                tx,
                events,
                progress,
                original,
                seq,
            },
        );
        drop(routes);
        Ok(Waiting {
            rx,
            guard: WaitGuard {
                link: self.clone(),
                key,
            },
        })
    }

    /// Opens the GET stream, with what the backlog kept; `None` if one is
    /// open already.
    pub(super) fn listen(&self) -> Option<mpsc::Receiver<Bytes>> {
        let mut routes = self.routes();
        if routes.stream.as_ref().is_some_and(|s| !s.is_closed()) {
            return None;
        }
        let (tx, rx) = mpsc::channel(STREAM_DEPTH);
        while let Some(line) = routes.backlog.pop_front() {
            // The channel holds more than the backlog.
            let _ = tx.try_send(line);
        }
        routes.stream = Some(tx);
        Some(rx)
    }

    /// Routes one line of the session's output.
    async fn deliver(&self, line: Bytes) {
        let Ok((kind, msg)) = Message::parse(&line) else {
            // The relay writes only messages it parsed.
            return;
        };
        match kind {
            Kind::Response => {
                let Some(id) = msg.id() else { return };
                let error = msg.error().and_then(error_code);
                let waiter = self.routes().pending.remove(&IdKey::of(id));
                // Nobody waits: the client went away. Responses never go
                // to a GET stream.
                let Some(waiter) = waiter else { return };
                if self.stateless {
                    // A `tools/list` answer: the tools' marked parameters
                    // (other answers are passed over at the cost of a scan).
                    let mut mirrored = self.mirrored.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = params::learn(&line, &mut mirrored);
                }
                let line = match &waiter.original {
                    Some(original) => splice(&line, id.get(), original.as_bytes()),
                    None => line.clone(),
                };
                let _ = waiter.tx.send(Routed::Final { line, error }).await;
            }
            Kind::Notification => {
                let params = msg
                    .params()
                    .and_then(|p| serde_json::from_str::<NoteParams>(p.get()).ok())
                    .unwrap_or_default();
                if let Some(token) = params.progress_token {
                    let tx = {
                        let routes = self.routes();
                        routes
                            .pending
                            .values()
                            .find(|w| w.events && w.progress.as_deref() == Some(token.get()))
                            .map(|w| w.tx.clone())
                    };
                    if let Some(tx) = tx {
                        let _ = tx.send(Routed::Interim(line.clone())).await;
                        return;
                    }
                }
                if self.stateless
                    && let Some(subscription) = params.meta.and_then(|m| m.subscription)
                {
                    let target = {
                        let routes = self.routes();
                        routes
                            .pending
                            .get(&IdKey::of(subscription))
                            .map(|w| (w.tx.clone(), w.original.clone()))
                    };
                    if let Some((tx, original)) = target {
                        let line = match original {
                            Some(o) => splice(&line, subscription.get(), o.as_bytes()),
                            None => line.clone(),
                        };
                        let _ = tx.send(Routed::Interim(line)).await;
                    }
                    return;
                }
                self.to_stream(line.clone()).await;
            }
            Kind::Request => self.to_stream(line.clone()).await,
        }
    }

    /// Sends a message that answers no request: to the GET stream, else
    /// to the oldest waiting POST that takes events, else to the backlog.
    /// A stateless session has no GET stream: such messages are dropped.
    async fn to_stream(&self, line: Bytes) {
        if self.stateless {
            return;
        }
        enum Target {
            Stream(mpsc::Sender<Bytes>),
            Post(mpsc::Sender<Routed>),
        }
        let target = {
            let mut routes = self.routes();
            match &routes.stream {
                Some(s) if !s.is_closed() => Some(Target::Stream(s.clone())),
                _ => routes
                    .pending
                    .values()
                    .filter(|w| w.events)
                    .min_by_key(|w| w.seq)
                    .map(|w| Target::Post(w.tx.clone()))
                    .or_else(|| {
                        if routes.backlog.len() == BACKLOG {
                            routes.backlog.pop_front();
                        }
                        routes.backlog.push_back(line.clone());
                        None
                    }),
            }
        };
        match target {
            Some(Target::Stream(tx)) => {
                if let Err(lost) = tx.send(line).await {
                    // The stream closed meanwhile: keep it for the next.
                    let mut routes = self.routes();
                    if routes.backlog.len() == BACKLOG {
                        routes.backlog.pop_front();
                    }
                    routes.backlog.push_back(lost.0);
                }
            }
            Some(Target::Post(tx)) => {
                let _ = tx.send(Routed::Interim(line)).await;
            }
            None => {}
        }
    }

    /// The session's output ended: every wait and stream ends with it.
    fn ended(&self) {
        self.closed.store(true, Ordering::Release);
        let mut routes = self.routes();
        routes.pending.clear();
        routes.stream = None;
        routes.backlog.clear();
    }
}

/// Reads the session's output a line at a time, each line a slice of one
/// shared buffer (no copy), and routes it.
async fn route(link: Arc<Link>, mut output: DuplexStream) {
    let mut buf = BytesMut::with_capacity(PIPE);
    let mut scanned = 0;
    loop {
        if let Some(i) = memchr::memchr(b'\n', &buf[scanned..]) {
            let end = scanned + i;
            let mut line = buf.split_to(end + 1).freeze();
            scanned = 0;
            let len = end - usize::from(end > 0 && line[end - 1] == b'\r');
            line.truncate(len);
            if !line.is_empty() {
                link.deliver(line).await;
            }
            continue;
        }
        scanned = buf.len();
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(PIPE);
        }
        match output.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    link.ended();
}

/// `line` with `part` (a slice of it) replaced by `with`.
pub(super) fn splice(line: &[u8], part: &str, with: &[u8]) -> Bytes {
    let start = part.as_ptr() as usize - line.as_ptr() as usize;
    let end = start + part.len();
    let mut out = Vec::with_capacity(line.len() - part.len() + with.len());
    out.extend_from_slice(&line[..start]);
    out.extend_from_slice(with);
    out.extend_from_slice(&line[end..]);
    Bytes::from(out)
}

/// A JSON-RPC error's code.
fn error_code(error: &RawValue) -> Option<i64> {
    #[derive(Deserialize)]
    struct Code {
        code: i64,
    }
    serde_json::from_str::<Code>(error.get())
        .ok()
        .map(|c| c.code)
}

/// What routing reads of a notification's params.
#[derive(Default, Deserialize)]
struct NoteParams<'a> {
    #[serde(rename = "progressToken", borrow, default)]
    progress_token: Option<&'a RawValue>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<NoteMeta<'a>>,
}

#[derive(Deserialize)]
struct NoteMeta<'a> {
    #[serde(rename = "io.modelcontextprotocol/subscriptionId", borrow, default)]
    subscription: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splicing_replaces_only_the_part() {
        let line = br#"{"jsonrpc":"2.0","id":"abc","result":{"id":1}}"#;
        let (_, msg) = Message::parse(line).unwrap();
        let id = msg.id().unwrap();
        assert_eq!(
            &splice(line, id.get(), b"7")[..],
            br#"{"jsonrpc":"2.0","id":7,"result":{"id":1}}"#
        );
    }

    #[test]
    fn subscription_ids_are_read_under_the_proxys_key() {
        let params = format!(r#"{{"_meta":{{"{}":"s1"}}}}"#, proxy::META_SUBSCRIPTION_ID);
        let read: NoteParams = serde_json::from_str(&params).unwrap();
        assert_eq!(read.meta.unwrap().subscription.unwrap().get(), r#""s1""#);
    }

    #[test]
    fn error_codes_are_read_from_errors() {
        let raw = RawValue::from_string(r#"{"code":-32601,"message":"x"}"#.into()).unwrap();
        assert_eq!(error_code(&raw), Some(-32601));
    }
}
