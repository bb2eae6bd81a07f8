//! Connect for the JSON family: each entry's value is replaced span by
//! span, from `jsonc-parser`'s byte ranges, so everything else in the file
//! stays byte for byte.

use jsonc_parser::ast::{Object, ObjectProp, Value as Ast};
use jsonc_parser::common::Ranged;

use super::super::write::EntryEdit;
use super::super::{Client, Entry, value_looks_secret};
use super::Target;
use super::url_form::json_url_fields;

/// Keys that say how to reach the server; connect replaces them all.
pub(in crate::clients) const CONNECTION_KEYS: &[&str] = &[
    "command",
    "args",
    "env",
    "envFile",
    "cwd",
    "url",
    "serverUrl",
    "httpUrl",
    "uri",
    "headers",
    "requestOptions",
    "type",
    "transportType",
];

pub(in crate::clients) fn parse_ast(text: &str) -> Result<Option<Ast<'_>>, String> {
    jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default())
        .map(|r| r.value)
        .map_err(|e| format!("cannot parse: {e}; left alone"))
}

/// The key holding the servers map in `client`'s file.
fn servers_key(client: Client, root: &Object<'_>) -> &'static str {
    match client {
        Client::Zed => "context_servers",
        Client::VsCode if root.get("servers").is_some() => "servers",
        _ => "mcpServers",
    }
}

/// Every server entry's property in the file, with its scope.
pub(in crate::clients) fn json_entries<'a, 'b>(
    client: Client,
    root: &'b Object<'a>,
) -> Vec<(Option<String>, &'b ObjectProp<'a>)> {
    let mut out = Vec::new();
    let mut push = |scope: Option<String>, obj: &'b Object<'a>, key: &str| {
        if let Some(Ast::Object(servers)) = obj.get(key).map(|p| &p.value) {
            for prop in &servers.properties {
                if matches!(prop.value, Ast::Object(_)) {
                    out.push((scope.clone(), prop));
                }
            }
        }
    };
    push(None, root, servers_key(client, root));
    if client == Client::ClaudeCode
        && let Some(Ast::Object(projects)) = root.get("projects").map(|p| &p.value)
    {
        for project in &projects.properties {
            if let Ast::Object(settings) = &project.value {
                push(
                    Some(project.name.as_str().to_string()),
                    settings,
                    "mcpServers",
                );
            }
        }
    }
    out
}

pub(super) fn json_connect(
    client: Client,
    text: &str,
    entries: &[Entry],
    target: &Target,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let Some(Ast::Object(root)) = parse_ast(text)? else {
        return Ok((text.to_string(), Vec::new()));
    };
    let mut replacements: Vec<(usize, usize, String)> = Vec::new();
    let mut edits = Vec::new();
    for (scope, prop) in json_entries(client, &root) {
        let Some(entry) = entries
            .iter()
            .find(|e| e.name == prop.name.as_str() && e.scope == scope)
        else {
            continue;
        };
        let Some(server) = target.server_for(client, entry, name) else {
            continue;
        };
        let Ast::Object(obj) = &prop.value else {
            continue;
        };
        let range = obj.range();
        let fields = match target.url_form(client) {
            Some(form) => json_url_fields(client, text, obj, &form, &server),
            None => json_stdio_fields(text, obj, target.gatehouse(), &server),
        };
        let new = json_layout(text, prop, obj, &fields);
        edits.push(EntryEdit {
            scope,
            name: entry.name.clone(),
            original: text[range.start..range.end].to_string(),
            connected: new.clone(),
        });
        replacements.push((range.start, range.end, new));
    }
    Ok((splice(text, replacements), edits))
}

/// `text` with each `(start, end, new)` range replaced (ranges disjoint).
pub(in crate::clients) fn splice(
    text: &str,
    mut replacements: Vec<(usize, usize, String)>,
) -> String {
    replacements.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut out = text.to_string();
    for (start, end, new) in replacements {
        out.replace_range(start..end, &new);
    }
    out
}

/// The whitespace at the start of the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> &str {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let end = line
        .find(|c: char| c != ' ' && c != '\t')
        .unwrap_or(line.len());
    &line[..end]
}

/// A JSON string literal.
pub(super) fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The fields of an entry that launches `gatehouse run`: command and args
/// first, then the non-secret env, then the entry's other (client-side)
/// keys as written.
fn json_stdio_fields(text: &str, obj: &Object<'_>, gatehouse: &str, server: &str) -> Vec<String> {
    let mut fields = Vec::new();
    if obj.get("type").is_some() {
        fields.push(r#""type": "stdio""#.to_string());
    }
    fields.push(format!(r#""command": {}"#, json(gatehouse)));
    fields.push(format!(r#""args": ["run", {}]"#, json(server)));
    if let Some(env) = obj.get("env")
        && let Ast::Object(vars) = &env.value
    {
        let kept: Vec<&str> = vars
            .properties
            .iter()
            .filter(|v| !env_secret(text, v))
            .map(|v| &text[v.range.start..v.range.end])
            .collect();
        if kept.len() == vars.properties.len() {
            fields.push(text[env.range.start..env.range.end].to_string());
        } else if !kept.is_empty() {
            fields.push(format!(r#""env": {{ {} }}"#, kept.join(", ")));
        }
    }
    for p in &obj.properties {
        if !CONNECTION_KEYS.contains(&p.name.as_str()) {
            fields.push(text[p.range.start..p.range.end].to_string());
        }
    }
    fields
}

/// The new value of one entry from its `fields`: on one line if it was,
/// else one field per line at the entry's own indentation and line ends.
fn json_layout(text: &str, prop: &ObjectProp<'_>, obj: &Object<'_>, fields: &[String]) -> String {
    let range = obj.range();
    let original = &text[range.start..range.end];
    if !original.contains('\n') {
        return format!("{{ {} }}", fields.join(", "));
    }
    let newline = if original.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let outer = line_indent(text, prop.range.start);
    let inner = obj
        .properties
        .first()
        .filter(|p| text[range.start..p.range.start].contains('\n'))
        .map(|p| line_indent(text, p.range.start).to_string())
        .unwrap_or_else(|| format!("{outer}  "));
    let mut out = String::from("{");
    for (i, field) in fields.iter().enumerate() {
        out.push_str(newline);
        out.push_str(&inner);
        out.push_str(field);
        if i + 1 < fields.len() {
            out.push(',');
        }
    }
    out.push_str(newline);
    out.push_str(outer);
    out.push('}');
    out
}

/// Whether an env property holds a plain-text secret.
fn env_secret(text: &str, var: &ObjectProp<'_>) -> bool {
    let value = match &var.value {
        Ast::StringLit(s) => s.value.to_string(),
        other => {
            let r = other.range();
            text[r.start..r.end].to_string()
        }
    };
    value_looks_secret(var.name.as_str(), &value).is_some()
}
