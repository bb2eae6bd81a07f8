//! Newline-delimited framing with a size limit.
//!
//! [`LineReader`] yields one message at a time, borrowed from its own
//! buffer: no allocation per message once the buffer has grown to the
//! largest message seen. A line longer than the limit is never held in
//! memory whole: it is skipped to its end, keeping only its head and tail
//! so the caller can still find the request `id` and answer it.

use memchr::memchr;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// How much of an oversized line is kept at each end.
const KEEP: usize = 1024;

/// One framed item.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its `\n`.
    Line(&'a [u8]),
    /// A line over the limit: its length and what was kept of its ends.
    TooLong {
        /// The full length in bytes.
        len: usize,
        /// The first bytes of the line.
        head: &'a [u8],
        /// The last bytes of the line.
        tail: &'a [u8],
    },
}

/// Reads newline-delimited messages of at most `limit` bytes.
pub struct LineReader<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
    tail: Vec<u8>,
    limit: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Frames `inner`, refusing lines longer than `limit` bytes.
    pub fn new(inner: R, limit: usize) -> Self {
        Self::with_capacity(64 * 1024, inner, limit)
    }

    /// Like [`LineReader::new`] with a read buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize, inner: R, limit: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(capacity, inner),
            buf: Vec::with_capacity(8 * 1024),
            tail: Vec::new(),
            limit,
        }
    }

    /// The next frame, or `None` at end of input, with whether more input is
    /// already buffered (writers use it to flush once per burst rather than
    /// once per message). A last line without a trailing newline is still
    /// returned. Empty lines are skipped.
    pub async fn next(&mut self) -> std::io::Result<Option<(Frame<'_>, bool)>> {
        loop {
            self.buf.clear();
            let mut len = 0usize;
            let mut oversized = false;
            self.tail.clear();
            loop {
                let available = self.inner.fill_buf().await?;
                if available.is_empty() {
                    // End of input: return what we have, if anything.
                    if len == 0 {
                        return Ok(None);
                    }
                    break;
                }
                let (chunk, found) = match memchr(b'\n', available) {
                    Some(i) => (&available[..i], Some(i + 1)),
                    None => (available, None),
                };
                len += chunk.len();
                if !oversized && len > self.limit {
                    oversized = true;
                    self.buf.truncate(KEEP.min(self.buf.len()));
                    let room = KEEP - self.buf.len();
                    self.buf.extend_from_slice(&chunk[..room.min(chunk.len())]);
                }
                if oversized {
                    keep_tail(&mut self.tail, chunk);
                } else {
                    self.buf.extend_from_slice(chunk);
                }
                let consumed = found.unwrap_or(available.len());
                self.inner.consume(consumed);
                if found.is_some() {
                    break;
                }
            }
            let more = !self.inner.buffer().is_empty();
            if oversized {
                let frame = Frame::TooLong {
                    len,
                    head: &self.buf,
                    tail: &self.tail,
                };
                return Ok(Some((frame, more)));
            }
            let end = self.buf.len() - usize::from(self.buf.ends_with(b"\r"));
            if self.buf[..end].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((Frame::Line(&self.buf[..end]), more)));
        }
    }
}

fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8]) {
    if chunk.len() >= KEEP {
        tail.clear();
        tail.extend_from_slice(&chunk[chunk.len() - KEEP..]);
    } else {
        let overflow = (tail.len() + chunk.len()).saturating_sub(KEEP);
        tail.drain(..overflow);
        tail.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], limit: usize, chunk: usize) -> Vec<String> {
        // A reader that hands out at most `chunk` bytes at a time, to cross
        // buffer boundaries everywhere.
        let mut lines = LineReader::with_capacity(chunk, input, limit);
        let mut out = Vec::new();
        while let Some((frame, _)) = lines.next().await.unwrap() {
            out.push(match frame {
                Frame::Line(l) => String::from_utf8_lossy(l).into_owned(),
                Frame::TooLong { len, head, tail } => format!(
                    "TOO LONG {len} head={} tail={}",
                    String::from_utf8_lossy(&head[..head.len().min(8)]),
                    String::from_utf8_lossy(&tail[tail.len().saturating_sub(8)..])
                ),
            });
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_across_any_buffer_size() {
        let input = b"{\"a\":1}\n\n{\"b\":2}\r\n  \n{\"c\":3}";
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                frames(input, 100, chunk).await,
                ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"],
                "chunk {chunk}"
            );
        }
    }

    #[tokio::test]
    async fn oversized_line_is_skipped_whole_and_reading_continues() {
        let big = format!("{{\"id\":7,\"x\":\"{}\"}}", "y".repeat(5000));
        let input = format!("{{\"ok\":1}}\n{big}\n{{\"ok\":2}}\n");
        for chunk in [1, 13, 4096] {
            let got = frames(input.as_bytes(), 100, chunk).await;
            assert_eq!(got.len(), 3, "chunk {chunk}: {got:?}");
            assert_eq!(got[0], "{\"ok\":1}");
            assert_eq!(
                got[1],
                format!("TOO LONG {} head={{\"id\":7, tail=yyyyyy\"}}", big.len())
            );
            assert_eq!(got[2], "{\"ok\":2}");
        }
    }

    #[tokio::test]
    async fn a_line_exactly_at_the_limit_passes() {
        let line = "x".repeat(100);
        assert_eq!(frames(format!("{line}\n").as_bytes(), 100, 7).await, [line]);
    }
}
