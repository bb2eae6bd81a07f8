//! Response bodies: nothing, one JSON message, or a stream of server-sent
//! events. One enum rather than a boxed trait object, so a plain JSON answer
//! costs no allocation beyond its bytes.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Bytes, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio::time::Interval;

use super::link::{Routed, WaitGuard};

/// How often a quiet event stream gets a comment, so idle timeouts of
/// clients and intermediaries do not close it.
const KEEPALIVE: Duration = Duration::from_secs(25);

/// A response body.
pub(super) enum Body {
    /// No body (202, a DELETE's 200).
    Empty,
    /// One message, sent whole with its length.
    Full(Option<Bytes>),
    /// Server-sent events, until the stream's source ends.
    Events(Box<Events>),
}

impl Body {
    /// `bytes` as the whole body.
    pub(super) fn full(bytes: impl Into<Bytes>) -> Self {
        Body::Full(Some(bytes.into()))
    }
}

/// Where an event stream's messages come from.
pub(super) enum Source {
    /// The answer to one POSTed request: messages related to it, then the
    /// response, which ends the stream. Dropping the guard (the client went
    /// away) stops the wait.
    Request {
        rx: mpsc::Receiver<Routed>,
        _guard: WaitGuard,
    },
    /// A session's GET stream: the server's own requests and notifications.
    Listen(mpsc::Receiver<Bytes>),
}

/// An event stream in progress.
pub(super) struct Events {
    /// An event ready to go out.
    next: Option<Bytes>,
    source: Source,
    /// The response was sent: the stream ends.
    ended: bool,
    keepalive: Interval,
}

impl Events {
    /// A stream that starts with `first` (a JSON-RPC message, not yet an
    /// event), then relays `source`.
    pub(super) fn new(first: Option<Routed>, source: Source) -> Box<Self> {
        let start = tokio::time::Instant::now() + KEEPALIVE;
        let mut events = Box::new(Self {
            next: None,
            source,
            ended: false,
            keepalive: tokio::time::interval_at(start, KEEPALIVE),
        });
        if let Some(first) = first {
            events.next = Some(events.frame(first));
        }
        events
    }

    fn frame(&mut self, routed: Routed) -> Bytes {
        match routed {
            Routed::Interim(line) => event(&line),
            Routed::Final { line, .. } => {
                self.ended = true;
                event(&line)
            }
        }
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(ready) = self.next.take() {
            return Poll::Ready(Some(Ok(Frame::data(ready))));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        let polled = match &mut self.source {
            Source::Request { rx, .. } => rx.poll_recv(cx),
            Source::Listen(rx) => rx.poll_recv(cx).map(|m| m.map(Routed::Interim)),
        };
        match polled {
            Poll::Ready(Some(routed)) => {
                let bytes = self.frame(routed);
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            // The session ended.
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.keepalive.poll_tick(cx) {
                Poll::Ready(_) => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b":\n\n"))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// One JSON-RPC message as an SSE event. A carriage return can only be
/// whitespace between JSON tokens, and would end the `data:` line: it
/// becomes a space.
pub(super) fn event(line: &[u8]) -> Bytes {
    const HEAD: &[u8] = b"event: message\ndata: ";
    let mut out = Vec::with_capacity(HEAD.len() + line.len() + 2);
    out.extend_from_slice(HEAD);
    let start = out.len();
    out.extend_from_slice(line);
    if memchr::memchr(b'\r', line).is_some() {
        for b in &mut out[start..] {
            if *b == b'\r' {
                *b = b' ';
            }
        }
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Events(events) => events.poll_next(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Empty | Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty | Body::Full(None) => SizeHint::with_exact(0),
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Events(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_frame_one_message_each_without_carriage_returns() {
        assert_eq!(
            &event(br#"{"a":1}"#)[..],
            b"event: message\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(
            &event(b"{\"a\":\r1}")[..],
            b"event: message\ndata: {\"a\": 1}\n\n"
        );
    }
}
