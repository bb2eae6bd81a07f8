//! Connect and restore for the YAML configs (Continue, Goose), edited span
//! by span like the JSON family.
//!
//! `serde_yaml_ng` (what `parse` reads with) keeps no positions, so the
//! file is read a second time with `saphyr-parser`'s event parser into an
//! outline ([`Node`]) of byte ranges. Each server entry's range is replaced
//! by its connected text and every other byte stays: comments, other keys,
//! key order, indentation, blank lines, CRLF line ends and the trailing
//! newline. A block entry is rewritten in block style at its own
//! indentation, a flow entry (`{...}`) in flow style. Kept keys are copied
//! as written, with a comment at the end of their line.
//!
//! The parser's end positions are not all exact (a quoted scalar's runs on
//! over the comment after it, a block scalar's over the blank lines after
//! it), so ends are worked out from the text here. As a guard, connect
//! reads its result back and checks that the document is the original one
//! with only the rewritten entries changed, in the way connect changes
//! them; a text where that fails (anchors shared with other entries, say)
//! is left alone with an error.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_yaml_ng::{Mapping, Value};

use super::connect::{CONNECTION_KEYS, routable, splice};
use super::write::EntryEdit;
use super::{Client, Entry, value_looks_secret};

/// Keys holding the environment: Continue's `env`, Goose's `envs`.
const ENV_KEYS: &[&str] = &["env", "envs"];

/// Deeper nesting than this is refused (as `serde_yaml_ng` refuses it).
const MAX_DEPTH: usize = 128;

/// One node of the document, with its byte range in the text.
#[derive(Debug)]
pub(super) struct Node<'a> {
    kind: Kind<'a>,
    /// Where the node starts: a scalar's first byte (its anchor or tag, if
    /// any), a flow collection's bracket, a block collection's first child.
    start: usize,
    /// Just past the node's last byte of content: a scalar's closing quote
    /// or last character, a flow collection's closing bracket.
    end: usize,
    /// A sequence's items; a mapping's keys and values, alternating.
    children: Vec<Node<'a>>,
}

#[derive(Debug)]
enum Kind<'a> {
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
    fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::Sequence { flow: true } | Kind::Mapping { flow: true }
        )
    }

    fn is_mapping(&self) -> bool {
        matches!(self.kind, Kind::Mapping { .. })
    }

    fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(value, _) => Some(value),
            _ => None,
        }
    }

    /// A scalar as `parse` reads it: a plain `1.0` is the number `1.0`,
    /// `~` is `null`.
    fn resolved(&self) -> Option<Cow<'_, str>> {
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
    fn pairs(&self) -> impl Iterator<Item = (&Node<'a>, &Node<'a>)> {
        let children: &[Node<'a>] = if self.is_mapping() {
            &self.children
        } else {
            &[]
        };
        children.chunks_exact(2).map(|p| (&p[0], &p[1]))
    }

    /// The value under the scalar key `key`.
    fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.pairs()
            .find(|(k, _)| k.scalar() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Reads `text` into an outline of its (first and only) document; `None`
/// for an empty document.
pub(super) fn outline(text: &str) -> Result<Option<Node<'_>>, String> {
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

struct Reader<'a> {
    text: &'a str,
    /// The byte offset of each character (the parser counts characters),
    /// and the text's length.
    offsets: Vec<usize>,
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), String> {
        match self.events.next() {
            Some(Ok(next)) => Ok(next),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the document ends early".into()),
        }
    }

    fn byte(&self, marker: saphyr_parser::Marker) -> usize {
        self.offsets
            .get(marker.index())
            .copied()
            .unwrap_or(self.text.len())
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node<'a>, String> {
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
fn empty_value_after_colon(text: &str, key: &Node<'_>, value: &mut Node<'_>) {
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
fn quoted_end(text: &str, start: usize) -> Option<usize> {
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
fn trim_end(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end().len()
}

/// `end`, or the end of its line when a comment follows on it.
fn with_comment(text: &str, end: usize) -> usize {
    let rest = &text[end..];
    let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if gap > 0 && rest[gap..].starts_with('#') {
        end + rest.find(['\r', '\n']).unwrap_or(rest.len())
    } else {
        end
    }
}

/// The column of byte `at`: characters since the start of its line.
fn column(text: &str, at: usize) -> usize {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].chars().count()
}

/// A string as a YAML scalar: plain when it reads back as the same string,
/// double-quoted (JSON escapes are valid YAML) otherwise.
pub(super) fn quote(s: &str) -> Cow<'_, str> {
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

/// One server entry in the outline.
struct Found<'n, 'a> {
    /// Its name as `parse` gives it: the map key, or Continue's `name`
    /// (`#N` when it has none).
    name: String,
    /// Its position among the servers (list index or map pair index).
    index: usize,
    /// The entry's mapping.
    node: &'n Node<'a>,
}

/// The key holding the servers.
fn servers_key(client: Client) -> &'static str {
    if client == Client::Goose {
        "extensions"
    } else {
        "mcpServers"
    }
}

/// Every server entry that is a mapping, in document order.
fn entries<'n, 'a>(client: Client, root: &'n Node<'a>) -> Vec<Found<'n, 'a>> {
    let Some(servers) = root.get(servers_key(client)) else {
        return Vec::new();
    };
    match servers.kind {
        Kind::Sequence { .. } => servers
            .children
            .iter()
            .enumerate()
            .filter(|(_, item)| item.is_mapping())
            .map(|(index, node)| Found {
                name: node
                    .get("name")
                    .and_then(Node::resolved)
                    .map_or_else(|| format!("#{}", index + 1), Cow::into_owned),
                index,
                node,
            })
            .collect(),
        Kind::Mapping { .. } => servers
            .pairs()
            .enumerate()
            .filter(|(_, (_, value))| value.is_mapping())
            .filter_map(|(index, (key, node))| {
                Some(Found {
                    name: key.resolved()?.into_owned(),
                    index,
                    node,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The byte range an entry's text takes: a flow mapping's braces, or a
/// block mapping's first key to its last value and the comment after it.
fn entry_range(text: &str, node: &Node<'_>) -> (usize, usize) {
    if node.is_flow() {
        (node.start, node.end)
    } else {
        (node.start, with_comment(text, node.end))
    }
}

/// [`super::connect::plan_text`] for Continue and Goose: the new text and
/// the entries rewritten.
pub(super) fn connect(
    client: Client,
    text: &str,
    parsed: &[Entry],
    gatehouse: &str,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let Some(root) = outline(text).map_err(|e| format!("cannot parse: {e}; left alone"))? else {
        return Ok((text.to_string(), Vec::new()));
    };
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut replacements = Vec::new();
    let mut edits = Vec::new();
    let mut rewritten = Vec::new();
    let found = entries(client, &root);
    for (i, f) in found.iter().enumerate() {
        // The n-th entry of a name is the n-th parsed entry of that name
        // (Continue allows the same name twice).
        let nth = found[..i].iter().filter(|o| o.name == f.name).count();
        let Some(entry) = parsed.iter().filter(|e| e.name == f.name).nth(nth) else {
            continue;
        };
        let Some(server) = name(entry).filter(|_| routable(entry)) else {
            continue;
        };
        let (start, end) = entry_range(text, f.node);
        let new = entry_text(client, text, f.node, gatehouse, &server, newline);
        edits.push(EntryEdit {
            scope: None,
            name: f.name.clone(),
            original: text[start..end].to_string(),
            connected: new.clone(),
        });
        replacements.push((start, end, new));
        rewritten.push((f.index, server));
    }
    if replacements.is_empty() {
        return Ok((text.to_string(), edits));
    }
    let after = splice(text, replacements);
    check(client, text, &after, gatehouse, &rewritten)?;
    Ok((after, edits))
}

/// The connected text of one entry: `name` where it was first, then
/// `type: stdio` (if it had a type), the command, `args: [run, NAME]`, the
/// non-secret environment, and the entry's other (client-side) keys as
/// written, in their order.
fn entry_text(
    client: Client,
    text: &str,
    node: &Node<'_>,
    gatehouse: &str,
    server: &str,
    newline: &str,
) -> String {
    let flow = node.is_flow();
    let property = |key: &Node<'_>, value: &Node<'_>| {
        let end = if flow {
            value.end
        } else {
            with_comment(text, value.end)
        };
        &text[key.start..end]
    };
    let command_key = if client == Client::Goose {
        "cmd"
    } else {
        "command"
    };
    let indent = " ".repeat(column(text, node.start));
    let mut fields: Vec<String> = Vec::new();
    let mut pairs = node.pairs().peekable();
    let name_first = pairs
        .next_if(|(k, _)| k.scalar() == Some("name"))
        .map(|(k, v)| property(k, v).to_string());
    fields.extend(name_first);
    if node.get("type").is_some() {
        fields.push("type: stdio".into());
    }
    fields.push(format!("{command_key}: {}", quote(gatehouse)));
    let args = node.get("args");
    match args.filter(|a| !flow && matches!(a.kind, Kind::Sequence { flow: false })) {
        // A block list stays one, its dashes where they were.
        Some(list) => {
            let first = list.children.first().map_or(list.start, |c| c.start);
            let dash = text[..first].trim_end().len().saturating_sub(1);
            let column = if text[dash..].starts_with('-') {
                column(text, dash)
            } else {
                indent.len() + 2
            };
            let dashes = format!("{newline}{}- ", " ".repeat(column));
            fields.push(format!("args:{dashes}run{dashes}{}", quote(server)));
        }
        None if flow || args.is_some() => {
            fields.push(format!("args: [run, {}]", quote(server)));
        }
        None => {
            let dashes = format!("{newline}{indent}  - ");
            fields.push(format!("args:{dashes}run{dashes}{}", quote(server)));
        }
    }
    for (key, value) in pairs {
        let Some(k) = key.scalar() else {
            fields.push(property(key, value).to_string());
            continue;
        };
        if ENV_KEYS.contains(&k) {
            fields.extend(env_text(client, text, key, value, flow, newline));
        } else if !is_connection_key(k) {
            fields.push(property(key, value).to_string());
        }
    }
    if flow {
        let spaced = text[node.start + 1..].starts_with(' ');
        let (open, close) = if spaced { ("{ ", " }") } else { ("{", "}") };
        format!("{open}{}{close}", fields.join(", "))
    } else {
        fields.join(&format!("{newline}{indent}"))
    }
}

/// The environment property with its plain-text secrets left out: as
/// written when none is, `None` when nothing is left (Goose: an empty map)
/// or it is not a map.
fn env_text(
    client: Client,
    text: &str,
    key: &Node<'_>,
    value: &Node<'_>,
    flow: bool,
    newline: &str,
) -> Option<String> {
    if !value.is_mapping() {
        return None;
    }
    let vars: Vec<(&Node<'_>, &Node<'_>)> = value.pairs().collect();
    let kept: Vec<&(&Node<'_>, &Node<'_>)> = vars
        .iter()
        .filter(|(k, v)| {
            let value = v.resolved().unwrap_or(Cow::Borrowed(&text[v.start..v.end]));
            let key = k.resolved().unwrap_or_default();
            value_looks_secret(&key, &value).is_none()
        })
        .collect();
    let name = &text[key.start..key.end];
    if kept.len() == vars.len() {
        let end = if flow {
            value.end
        } else {
            with_comment(text, value.end)
        };
        return Some(text[key.start..end].to_string());
    }
    if kept.is_empty() {
        // Goose expects its `envs` map; the others drop the key.
        return (client == Client::Goose).then(|| format!("{name}: {{}}"));
    }
    if value.is_flow() {
        let pairs: Vec<&str> = kept.iter().map(|(k, v)| &text[k.start..v.end]).collect();
        return Some(format!("{name}: {{{}}}", pairs.join(", ")));
    }
    let mut out = format!("{name}:");
    for (k, v) in kept {
        out.push_str(newline);
        out.push_str(&" ".repeat(column(text, k.start)));
        out.push_str(&text[k.start..with_comment(text, v.end)]);
    }
    Some(out)
}

fn is_connection_key(key: &str) -> bool {
    CONNECTION_KEYS.contains(&key) || matches!(key, "cmd" | "envs")
}

// ---- the guard ---------------------------------------------------------------

/// Checks that `after` reads as `before` with each `(index, server)` entry
/// connected as [`connected_value`] says, and nothing else changed.
fn check(
    client: Client,
    before: &str,
    after: &str,
    gatehouse: &str,
    rewritten: &[(usize, String)],
) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("rewriting the entries would {why}; left alone"));
    let mut expected: Value =
        serde_yaml_ng::from_str(before).map_err(|e| format!("cannot parse: {e}; left alone"))?;
    let actual: Value = match serde_yaml_ng::from_str(after) {
        Ok(actual) => actual,
        Err(e) => return refuse(&format!("leave the file unreadable ({e})")),
    };
    if let Some(servers) = expected.get_mut(servers_key(client)) {
        for (index, server) in rewritten {
            let slot = match servers {
                Value::Sequence(items) => items.get_mut(*index),
                Value::Mapping(map) => map.values_mut().nth(*index),
                _ => None,
            };
            if let Some(Value::Mapping(entry)) = slot {
                *entry = connected_value(client, entry, gatehouse, server);
            }
        }
    }
    if actual == expected {
        Ok(())
    } else {
        refuse("change more than the entries (through an anchor or alias they share?)")
    }
}

/// A value as `parse` reads it into text: strings as they are, numbers,
/// booleans and null as written in JSON, collections as YAML.
fn scalar_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| "null".into(), |n| n.to_string())
            }
        }
        Value::Tagged(tagged) => scalar_string(&tagged.value),
        other => serde_yaml_ng::to_string(other).unwrap_or_default(),
    }
}

/// What connect makes of one entry, as values.
fn connected_value(client: Client, entry: &Mapping, gatehouse: &str, server: &str) -> Mapping {
    let mut out = Mapping::new();
    for (key, value) in entry {
        match key.as_str() {
            Some(k) if ENV_KEYS.contains(&k) => {
                let Value::Mapping(vars) = value else {
                    continue;
                };
                let kept: Mapping = vars
                    .iter()
                    .filter(|(k, v)| {
                        value_looks_secret(&scalar_string(k), &scalar_string(v)).is_none()
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !kept.is_empty() || vars.is_empty() || client == Client::Goose {
                    out.insert(key.clone(), Value::Mapping(kept));
                }
            }
            Some(k) if is_connection_key(k) => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if entry.contains_key("type") {
        out.insert("type".into(), "stdio".into());
    }
    let command = if client == Client::Goose {
        "cmd"
    } else {
        "command"
    };
    out.insert(command.into(), gatehouse.into());
    out.insert(
        "args".into(),
        Value::Sequence(vec!["run".into(), server.into()]),
    );
    out
}

// ---- restore -----------------------------------------------------------------

/// [`super::restore`] for Continue and Goose: `text` with each entry of
/// `pending` that is still as connect left it put back as it was; those
/// changed since are left as they are, with a warning, and those not found
/// stay in `pending`.
pub(super) fn revert(
    client: Client,
    text: &str,
    pending: &mut Vec<&EntryEdit>,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let Some(root) = outline(text).map_err(|e| format!("cannot parse: {e}; left alone"))? else {
        return Ok(text.to_string());
    };
    let mut replacements = Vec::new();
    for found in entries(client, &root) {
        let Some(i) = pending
            .iter()
            .position(|e| e.scope.is_none() && e.name == found.name)
        else {
            continue;
        };
        let edit = pending.remove(i);
        let (start, end) = entry_range(text, found.node);
        if text[start..end] == edit.connected {
            replacements.push((start, end, edit.original.clone()));
        } else {
            warnings.push(format!(
                "{} was changed since connect; left as it is",
                edit.name
            ));
        }
    }
    let out = splice(text, replacements);
    if out != text && serde_yaml_ng::from_str::<Value>(&out).is_err() {
        return Err("putting the entries back would leave the file unreadable; left alone".into());
    }
    Ok(out)
}
