//! Server-Sent Events, as the HTML standard parses them: fed bytes in any
//! chunking, gives whole events. Only what MCP uses is kept: `data` (lines
//! joined with `\n`), `id`, `event` and `retry`; comments are skipped.

/// One event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event` field; `message` when absent.
    pub event: Option<String>,
    /// The `data` lines, joined with `\n`.
    pub data: Vec<u8>,
    /// The `id` field, if the event set one.
    pub id: Option<String>,
    /// The `retry` field, in milliseconds.
    pub retry: Option<u64>,
}

/// An incremental parser.
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of a line not yet ended.
    partial: Vec<u8>,
    /// The event being built.
    current: Event,
    /// Whether any field of `current` was seen.
    started: bool,
    /// A `\r` ended the last chunk: a `\n` opening the next is part of it.
    after_cr: bool,
    /// The largest event accepted, in bytes of data.
    limit: usize,
}

/// An event's data went over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong(pub usize);

impl Parser {
    /// A parser refusing events with more than `limit` bytes of data.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Feeds `chunk`, pushing each event it completes onto `events`.
    pub fn feed(&mut self, mut chunk: &[u8], events: &mut Vec<Event>) -> Result<(), TooLong> {
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', chunk) {
            let line = &chunk[..end];
            let mut next = end + 1;
            if chunk[end] == b'\r' {
                if end + 1 == chunk.len() {
                    self.after_cr = true;
                } else if chunk[end + 1] == b'\n' {
                    next += 1;
                }
            }
            if self.partial.is_empty() {
                self.line(line, events)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole, events)?;
            }
            chunk = &chunk[next..];
        }
        if self.partial.len() + chunk.len() > self.limit.saturating_add(64) {
            return Err(TooLong(self.partial.len() + chunk.len()));
        }
        self.partial.extend_from_slice(chunk);
        Ok(())
    }

    fn line(&mut self, line: &[u8], events: &mut Vec<Event>) -> Result<(), TooLong> {
        if line.is_empty() {
            if self.started {
                if self.current.data.last() == Some(&b'\n') {
                    self.current.data.pop();
                }
                events.push(std::mem::take(&mut self.current));
                self.started = false;
            }
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.current.data.len() + value.len() > self.limit {
                    return Err(TooLong(self.current.data.len() + value.len()));
                }
                self.current.data.extend_from_slice(value);
                self.current.data.push(b'\n');
            }
            b"id" if !value.contains(&0) => {
                self.current.id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"event" => self.current.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"retry" => {
                if let Some(ms) = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                    self.current.retry = Some(ms);
                }
            }
            _ => return Ok(()),
        }
        self.started = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_chunks(text: &[u8], size: usize) -> Vec<Event> {
        let mut parser = Parser::new(1 << 20);
        let mut events = Vec::new();
        for chunk in text.chunks(size) {
            parser.feed(chunk, &mut events).unwrap();
        }
        events
    }

    #[test]
    fn events_come_out_whole_however_the_bytes_are_cut() {
        let text = b": keep-alive\r\n\r\nid: 7\r\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nretry: 250\ndata: x\n\n";
        let whole = parse_in_chunks(text, text.len());
        assert_eq!(whole.len(), 2, "{whole:?}");
        assert_eq!(whole[0].data, b"{\"a\":\n1}");
        assert_eq!(whole[0].id.as_deref(), Some("7"));
        assert_eq!(whole[0].event.as_deref(), Some("message"));
        assert_eq!(
            (whole[1].retry, whole[1].data.as_slice()),
            (Some(250), &b"x"[..])
        );
        for size in 1..text.len() {
            assert_eq!(parse_in_chunks(text, size), whole, "chunks of {size}");
        }
    }

    #[test]
    fn an_event_without_a_blank_line_is_not_finished() {
        assert!(parse_in_chunks(b"data: half", 3).is_empty());
    }

    #[test]
    fn an_event_over_the_limit_is_refused() {
        let mut parser = Parser::new(8);
        let mut events = Vec::new();
        assert!(parser.feed(b"data: 123456789\n\n", &mut events).is_err());
    }
}
