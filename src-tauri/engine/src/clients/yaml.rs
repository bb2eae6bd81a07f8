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

use serde_yaml_ng::{Mapping, Value};

use super::connect::{CONNECTION_KEYS, Target, UrlForm, splice};
use super::write::EntryEdit;
use super::{Client, Entry, value_looks_secret};

mod outline;

pub(super) use outline::quote;
use outline::{Kind, Node, column, outline, with_comment};

/// Keys holding the environment: Continue's `env`, Goose's `envs`.
const ENV_KEYS: &[&str] = &["env", "envs"];

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
    target: &Target,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let to = match target.url_form(client) {
        Some(form) => To::Url(form),
        None => To::Stdio(target.gatehouse()),
    };
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
        let Some(server) = target.server_for(client, entry, name) else {
            continue;
        };
        let (start, end) = entry_range(text, f.node);
        let new = entry_text(client, text, f.node, &to, &server, newline);
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
    check(client, text, &after, &to, &rewritten)?;
    Ok((after, edits))
}

/// What a connected entry points at.
enum To<'a> {
    /// `gatehouse run NAME`, launched from this binary.
    Stdio(&'a str),
    /// The gateway's URL (Goose: `type: streamable_http`, `uri`, `headers`).
    Url(UrlForm<'a>),
}

/// The connected text of one entry: `name` where it was first, then
/// `type: stdio` (if it had a type), the command, `args: [run, NAME]`, the
/// non-secret environment, and the entry's other (client-side) keys as
/// written, in their order. For the gateway, `type: streamable_http`, the
/// `uri` and the `Authorization` header take the place of the type, the
/// command and its arguments.
fn entry_text(
    client: Client,
    text: &str,
    node: &Node<'_>,
    to: &To<'_>,
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
    match to {
        To::Url(form) => {
            fields.push("type: streamable_http".into());
            fields.push(format!("uri: {}", quote(&form.url(server))));
            fields.push(format!(
                "headers: {{Authorization: {}}}",
                quote(&form.bearer())
            ));
        }
        To::Stdio(gatehouse) => {
            if node.get("type").is_some() {
                fields.push("type: stdio".into());
            }
            fields.push(format!("{command_key}: {}", quote(gatehouse)));
            fields.push(args_text(text, node, &indent, server, newline));
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

/// `args: [run, NAME]`: a block list where the entry had one (its dashes
/// where they were) or none, in block style, else a flow list.
fn args_text(text: &str, node: &Node<'_>, indent: &str, server: &str, newline: &str) -> String {
    let flow = node.is_flow();
    let args = node.get("args");
    match args.filter(|a| !flow && matches!(a.kind, Kind::Sequence { flow: false })) {
        Some(list) => {
            let first = list.children.first().map_or(list.start, |c| c.start);
            let dash = text[..first].trim_end().len().saturating_sub(1);
            let column = if text[dash..].starts_with('-') {
                column(text, dash)
            } else {
                indent.len() + 2
            };
            let dashes = format!("{newline}{}- ", " ".repeat(column));
            format!("args:{dashes}run{dashes}{}", quote(server))
        }
        None if flow || args.is_some() => format!("args: [run, {}]", quote(server)),
        None => {
            let dashes = format!("{newline}{indent}  - ");
            format!("args:{dashes}run{dashes}{}", quote(server))
        }
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
    to: &To<'_>,
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
                *entry = connected_value(client, entry, to, server);
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
fn connected_value(client: Client, entry: &Mapping, to: &To<'_>, server: &str) -> Mapping {
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
    let gatehouse = match to {
        To::Url(form) => {
            out.insert("type".into(), "streamable_http".into());
            out.insert("uri".into(), form.url(server).into());
            let mut headers = Mapping::new();
            headers.insert("Authorization".into(), form.bearer().into());
            out.insert("headers".into(), Value::Mapping(headers));
            return out;
        }
        To::Stdio(gatehouse) => *gatehouse,
    };
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
