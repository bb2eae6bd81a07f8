//! The outline of a YAML text: its nodes with their byte ranges, read with
//! `saphyr-parser`'s event parser (which, unlike `serde_yaml_ng`, keeps
//! positions), ends corrected from the text where the parser's are not
//! exact. Also YAML-safe quoting of the scalars connect writes.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_yaml_ng::Value;

use super::scalar_string;

/// Deeper nesting than this is refused (as `serde_yaml_ng` refuses it).
pub(super) const MAX_DEPTH: usize = 128;

/// One node of the document, with its byte range in the text.
#[derive(Debug)]
pub(in crate::clients) struct Node<'a> {
    pub(super) kind: Kind<'a>,
    /// Where the node starts: a scalar's first byte (its anchor or tag, if
    /// any), a flow collection's bracket, a block collection's first child.
    pub(super) start: usize,
    /// Just past the node's last byte of content: a scalar's closing quote
    /// or last character, a flow collection's closing bracket.
    pub(super) end: usize,
    /// A sequence's items; a mapping's keys and values, alternating.
    pub(super) children: Vec<Node<'a>>,
}

#[derive(Debug)]
pub(super) enum Kind<'a> {
    /// The scalar's value (escapes and folding done), and whether it was
    /// plain (so `1.0` or `true` reads as a number or a boolean).
    Scalar(Cow<'a, str>, bool),
    Alias,
    Sequence {
        flow: bool,
    },
    Mapping {
        flow: bool,
    },
}

impl<'a> Node<'a> {
    pub(super) fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::Sequence { flow: true } | Kind::Mapping { flow: true }
        )
    }

    pub(super) fn is_mapping(&self) -> bool {
        matches!(self.kind, Kind::Mapping { .. })
    }

    pub(super) fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(value, _) => Some(value),
            _ => None,
        }
    }

    /// A scalar as `parse` reads it: a plain `1.0` is the number `1.0`,
    /// `~` is `null`.
    pub(super) fn resolved(&self) -> Option<Cow<'_, str>> {
        match &self.kind {
            Kind::Scalar(value, true) => Some(
                serde_yaml_ng::from_str::<Value>(value)
                    .map_or(Cow::Borrowed(&**value), |v| Cow::Owned(scalar_string(&v))),
            ),
            Kind::Scalar(value, false) => Some(Cow::Borrowed(value)),
            _ => None,
        }
    }

    /// A mapping's `(key, value)` pairs; nothing for other nodes.
    pub(super) fn pairs(&self) -> impl Iterator<Item = (&Node<'a>, &Node<'a>)> {
        let children: &[Node<'a>] = if self.is_mapping() {
            &self.children
        } else {
            &[]
        };
        children.chunks_exact(2).map(|p| (&p[0], &p[1]))
    }

    /// The value under the scalar key `key`.
    pub(super) fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.pairs()
            .find(|(k, _)| k.scalar() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Reads `text` into an outline of its (first and only) document; `None`
/// for an empty document.
pub(in crate::clients) fn outline(text: &str) -> Result<Option<Node<'_>>, String> {
    let mut reader = Reader {
        text,
        offsets: text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect(),
        events: Parser::new_from_str(text),
    };
    let mut root = None;
    loop {
        let (event, span) = reader.next()?;
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd => {}
            Event::StreamEnd => return Ok(root),
            _ if root.is_some() => return Err("more than one document".into()),
            event => root = Some(reader.node(event, span, 0)?),
        }
    }
}

pub(super) struct Reader<'a> {
    text: &'a str,
    /// The byte offset of each character (the parser counts characters),
    /// and the text's length.
    offsets: Vec<usize>,
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
}

impl<'a> Reader<'a> {
    pub(super) fn next(&mut self) -> Result<(Event<'a>, Span), String> {
        match self.events.next() {
            Some(Ok(next)) => Ok(next),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the document ends early".into()),
        }
    }

    pub(super) fn byte(&self, marker: saphyr_parser::Marker) -> usize {
        self.offsets
            .get(marker.index())
            .copied()
            .unwrap_or(self.text.len())
    }

    pub(super) fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        depth: usize,
    ) -> Result<Node<'a>, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        let (start, end) = (self.byte(span.start), self.byte(span.end));
        let text = self.text;
        let node = match event {
            Event::Scalar(value, style, ..) => {
                let end = match style {
                    ScalarStyle::Plain => end,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        quoted_end(text, start).unwrap_or_else(|| trim_end(text, start, end))
                    }
                    // The parser's end runs on over the blank lines after.
                    _ => trim_end(text, start, end),
                };
                Node {
                    kind: Kind::Scalar(value, style == ScalarStyle::Plain),
                    start,
                    end,
                    children: Vec::new(),
                }
            }
            Event::Alias(_) => Node {
                kind: Kind::Alias,
                start,
                end: start
                    + text[start..]
                        .find(|c: char| c.is_whitespace() || ",[]{}".contains(c))
                        .unwrap_or(text.len() - start),
                children: Vec::new(),
            },
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let mapping = matches!(event, Event::MappingStart(..));
                // A flow collection's span ends just past its bracket (and
                // starts at its anchor or tag, if any).
                let (open, shut) = if mapping { ('{', '}') } else { ('[', ']') };
                let props = text[start..end].trim_end();
                let flow = props.ends_with(open);
                let mut children: Vec<Node<'a>> = Vec::new();
                let close = loop {
                    let (event, span) = self.next()?;
                    match event {
                        Event::SequenceEnd | Event::MappingEnd => {
                            let at = self.byte(span.start);
                            break text[at..].find(shut).map_or(at, |i| at + i);
                        }
                        event => {
                            let mut child = self.node(event, span, depth + 1)?;
                            if mapping && children.len() % 2 == 1 {
                                empty_value_after_colon(
                                    text,
                                    &children[children.len() - 1],
                                    &mut child,
                                );
                            }
                            children.push(child);
                        }
                    }
                };
                let (start, end) = if flow {
                    (start + props.len() - 1, close + 1)
                } else {
                    (
                        children.first().map_or(start, |c| c.start),
                        children.last().map_or(start, |c| c.end),
                    )
                };
                Node {
                    kind: if mapping {
                        Kind::Mapping { flow }
                    } else {
                        Kind::Sequence { flow }
                    },
                    start,
                    end,
                    children,
                }
            }
            other => return Err(format!("unexpected {other:?}")),
        };
        Ok(node)
    }
}

/// An empty value (`key:`) is placed by the parser at the end of its key;
/// it ends after the colon instead, so a property's text includes it.
pub(super) fn empty_value_after_colon(text: &str, key: &Node<'_>, value: &mut Node<'_>) {
    if value.start == value.end && value.scalar().is_some() && value.start == key.end {
        let rest = &text[key.end..];
        let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if rest[gap..].starts_with(':') {
            value.start = key.end + gap + 1;
            value.end = value.start;
        }
    }
}

/// Just past the closing quote of the quoted scalar whose anchor, tag or
/// opening quote is at `start`.
pub(super) fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = start;
    // The node's properties (`&anchor`, `!tag`) come first.
    while matches!(bytes.get(at), Some(b'&' | b'!')) {
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
    }
    let quote = *bytes.get(at).filter(|b| matches!(b, b'\'' | b'"'))?;
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// `end` moved back over trailing white space, not before `start`.
pub(super) fn trim_end(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end().len()
}

/// `end`, or the end of its line when a comment follows on it.
pub(super) fn with_comment(text: &str, end: usize) -> usize {
    let rest = &text[end..];
    let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if gap > 0 && rest[gap..].starts_with('#') {
        end + rest.find(['\r', '\n']).unwrap_or(rest.len())
    } else {
        end
    }
}

/// The column of byte `at`: characters since the start of its line.
pub(super) fn column(text: &str, at: usize) -> usize {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].chars().count()
}

/// A string as a YAML scalar: plain when it reads back as the same string,
/// double-quoted (JSON escapes are valid YAML) otherwise.
pub(in crate::clients) fn quote(s: &str) -> Cow<'_, str> {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.-+@".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null"
        );
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(serde_json::to_string(s).unwrap_or_default())
    }
}
