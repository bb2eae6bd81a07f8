//! `LineReader` against a reference model of newline framing.
//!
//! Input: 4 header bytes, then the stream.
//! - bytes 0-1: the limit (u16 LE, mod 2200, so limits both under and over
//!   the 1024-byte head/tail window are tried, including 0);
//! - byte 2: the `BufReader` capacity (1..=256);
//! - byte 3: a seed for how the stream is cut into reads, and which reads
//!   first return `Pending`.
//!
//! Invariants: no panic; every poll completes (the reader is always ready
//! after one `Pending`, so a second `Pending` would be a lost wakeup); the
//! frames are exactly the model's: each `\n`-separated segment, one
//! trailing `\r` stripped, blank ones skipped, a last unterminated one kept,
//! and a segment over the limit reported as `TooLong` with its true length,
//! a prefix of it as head and a suffix as tail (each at most 1024 bytes and
//! as long as the bytes seen allow); `Line` frames are never over the
//! limit; "more buffered" is never claimed when the input is exhausted.
#![no_main]

use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use gatehouse_engine::proxy::{Frame, LineReader};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, ReadBuf};

/// Kept of each end of an oversized line (framing.rs `KEEP`).
const KEEP: usize = 1024;

/// Hands out `data` in pseudo-random pieces, sometimes `Pending` first.
struct Pieces<'a> {
    data: &'a [u8],
    rng: u32,
    pending_next: bool,
}

impl Pieces<'_> {
    fn next_rand(&mut self) -> u32 {
        // xorshift32
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

impl AsyncRead for Pieces<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending_next {
            self.pending_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let r = self.next_rand();
        self.pending_next = r & 7 == 0;
        // Mostly small pieces, sometimes large ones.
        let want = if r & 0x100 == 0 {
            1 + (r >> 9) as usize % 8
        } else {
            1 + (r >> 9) as usize % 3000
        };
        let n = want.min(buf.remaining()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = rest;
        Poll::Ready(Ok(()))
    }
}

/// Counts wakeups, so a `Pending` without one is caught.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// One expected frame.
struct Expected<'a> {
    /// The segment, without `\n`.
    segment: &'a [u8],
    /// Offset just past the segment's `\n` (or the input's end).
    end: usize,
}

fn model(data: &[u8]) -> Vec<Expected<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let (segment, end) = match data[start..].iter().position(|&b| b == b'\n') {
            Some(i) => (&data[start..start + i], start + i + 1),
            None => (&data[start..], data.len()),
        };
        out.push(Expected { segment, end });
        start = end;
    }
    out
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let limit = usize::from(u16::from_le_bytes([input[0], input[1]])) % 2200;
    let capacity = 1 + usize::from(input[2]);
    let data = &input[4..];
    let reader = Pieces {
        data,
        rng: 0x9E37_79B9 ^ (u32::from(input[3]) << 8 | u32::from(input[3])),
        pending_next: input[3] & 1 == 1,
    };
    let mut lines = LineReader::with_capacity(capacity, reader, limit);

    let wakes = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let mut expected = model(data).into_iter();
    // Each Pending is followed by a read that takes a byte or sees the end
    // (which happens at most once per `next()`).
    let mut pendings_left = data.len();
    loop {
        pendings_left += 1;
        let mut next = pin!(lines.next());
        let result = loop {
            let before = wakes.0.load(Ordering::Relaxed);
            match next.as_mut().poll(&mut cx) {
                Poll::Ready(r) => break r,
                Poll::Pending => {
                    assert!(
                        wakes.0.load(Ordering::Relaxed) > before,
                        "Pending without a wakeup"
                    );
                    pendings_left = pendings_left
                        .checked_sub(1)
                        .expect("LineReader keeps going Pending: no progress");
                }
            }
        };
        let Some((frame, more)) = result.expect("in-memory reads do not fail") else {
            // End of input: every remaining segment must be one the reader
            // skips (blank within the limit).
            for e in expected.by_ref() {
                assert!(
                    e.segment.len() <= limit && is_blank(e.segment),
                    "LineReader ended early; missing segment {:?}",
                    e.segment
                );
            }
            return;
        };
        // Skip the blank segments the reader skips.
        let e = loop {
            let e = expected
                .next()
                .expect("LineReader returned a frame past the input's end");
            if !(e.segment.len() <= limit && is_blank(e.segment)) {
                break e;
            }
        };
        if more {
            assert!(
                e.end < data.len(),
                "claims more buffered at the end of input"
            );
        }
        match frame {
            Frame::Line(line) => {
                assert!(line.len() <= limit, "a Line over the limit");
                let want = e.segment.strip_suffix(b"\r").unwrap_or(e.segment);
                assert_eq!(line, want, "wrong line");
            }
            Frame::TooLong { len, head, tail } => {
                assert!(e.segment.len() > limit, "TooLong within the limit");
                assert_eq!(len, e.segment.len(), "wrong TooLong length");
                assert!(e.segment.starts_with(head), "head is not a prefix");
                assert!(e.segment.ends_with(tail), "tail is not a suffix");
                assert!(head.len() <= KEEP && tail.len() <= KEEP);
                // The head holds everything up to the read that crossed the
                // limit, the tail everything from it.
                assert!(head.len() >= KEEP.min(limit + 1), "head too short");
                assert!(tail.len() >= KEEP.min(len - limit), "tail too short");
            }
        }
    }
});

/// What the reader treats as an empty line: whitespace only, after one
/// trailing `\r` is removed.
fn is_blank(segment: &[u8]) -> bool {
    let s = segment.strip_suffix(b"\r").unwrap_or(segment);
    s.iter().all(u8::is_ascii_whitespace)
}
