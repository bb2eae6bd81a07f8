//! `clients connect`: rewrites each server entry of a client's config to
//! launch `gatehouse run NAME`, with no secrets left in the entry.
//!
//! Only the entries change. The JSON family is edited span by span: the
//! file is parsed with `jsonc-parser` for the byte range of each entry's
//! value, and only those ranges are replaced, so other keys, key order,
//! comments, indentation and the trailing newline stay byte for byte. Codex
//! TOML is edited with `toml_edit`, which keeps everything it is not told to
//! change. YAML (Continue, Goose) is edited span by span too, from the
//! positions of `saphyr-parser`'s events (`yaml.rs`), block entries in
//! block style and flow entries in flow style; a Continue file that is a
//! JSON block is edited as JSON.
//!
//! [`plan`] computes the new text (for a diff) without writing; [`apply`]
//! writes it safely (`write.rs`) after a backup, with a record of the
//! entries it changed that `restore` undoes.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use jsonc_parser::ast::{Object, ObjectProp, Value as Ast};
use jsonc_parser::common::Ranged;

use super::write::{self, EntryEdit, Hook, Record, Step};
use super::{Client, Entry, Format, value_looks_secret};
use crate::{DataDir, Server, Transport};

/// What connect would do to one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Whose file.
    pub client: Client,
    /// The file.
    pub path: PathBuf,
    /// Its text as read.
    pub before: String,
    /// Its text after connect; equal to `before` when nothing changes.
    pub after: String,
    /// The entries rewritten.
    pub edits: Vec<EntryEdit>,
    /// Entries left as they are because they have no Gatehouse server
    /// (the `name` function gave none), by name.
    pub skipped: Vec<String>,
}

impl Plan {
    /// Whether connect changes anything.
    pub fn is_noop(&self) -> bool {
        self.before == self.after
    }
}

/// The registered Gatehouse server an entry becomes: the one with the same
/// command line, or the same URL, which is how `clients import` merges the
/// entries of several clients into one server (and may rename it). `None`
/// when the entry was not imported.
pub fn registered_name(entry: &Entry, servers: &[Server]) -> Option<String> {
    let key = |command: &str, args: &[String]| format!("stdio\0{command}\0{}", args.join("\0"));
    let wanted = match (&entry.command, &entry.url) {
        (Some(command), _) => key(command, &entry.args),
        (None, Some(url)) => format!("url\0{}", url.trim_end_matches('/')),
        (None, None) => return None,
    };
    servers
        .iter()
        .find(|s| {
            let have = match &s.transport {
                Transport::Stdio { command, args, .. } => key(command, args),
                Transport::Http { url, .. } => format!("url\0{}", url.trim_end_matches('/')),
            };
            have == wanted
        })
        .map(|s| s.name.clone())
}

/// Reads `path` and plans connecting `client`'s entries to `gatehouse`
/// (the absolute path of the binary). `name` gives each entry's Gatehouse
/// server name (usually [`registered_name`]), or `None` to leave the entry
/// alone.
pub fn plan(
    client: Client,
    path: &Path,
    gatehouse: &Path,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> crate::Result<Plan> {
    plan_file(client, path, gatehouse, name).map_err(crate::Error::ClientConfig)
}

fn plan_file(
    client: Client,
    path: &Path,
    gatehouse: &Path,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<Plan, String> {
    // Continue's workspace blocks may be JSON: the file name says which.
    let format = Format::of(client, path);
    let before = write::read_text(path)?;
    let body = before.strip_prefix('\u{feff}').unwrap_or(&before);
    let skipped = super::parse_as(client, format, body)
        .map(|entries| {
            entries
                .iter()
                .filter(|e| routable(e) && name(e).is_none())
                .map(|e| e.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let (after, edits) = plan_text_as(client, format, &before, &gatehouse.to_string_lossy(), name)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Plan {
        client,
        path: path.to_path_buf(),
        before,
        after,
        edits,
        skipped,
    })
}

/// [`plan`] on a text: the new text and the entries rewritten.
pub fn plan_text(
    client: Client,
    text: &str,
    gatehouse: &str,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    plan_text_as(client, Format::of_text(client, body), text, gatehouse, name)
}

/// [`plan_text`] for a file written in `format` ([`Format::of`] its path).
pub fn plan_text_as(
    client: Client,
    format: Format,
    text: &str,
    gatehouse: &str,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let entries = super::parse_as(client, format, body)
        .map_err(|e| format!("cannot parse: {e}; left alone"))?;
    let bom = text.len() - body.len();
    let (after, edits) = match format {
        Format::Toml => toml_connect(body, &entries, gatehouse, name)?,
        Format::Yaml if edited_as_yaml(client, body) => {
            super::yaml::connect(client, body, &entries, gatehouse, name)?
        }
        Format::Yaml | Format::Json => json_connect(client, body, &entries, gatehouse, name)?,
    };
    Ok((format!("{}{after}", &text[..bom]), edits))
}

/// Whether `client`'s config `text` is edited as YAML: Continue's and
/// Goose's are, except a Continue file that is a JSON block of the Claude
/// shape (`mcpServers` a map; a workspace block copied from another
/// client), which is edited as JSON by the Claude Desktop rule so that it
/// stays JSON.
pub(super) fn edited_as_yaml(client: Client, text: &str) -> bool {
    match client {
        Client::Goose => true,
        Client::Continue => !matches!(
            parse_ast(text),
            Ok(Some(Ast::Object(root)))
                if matches!(root.get("mcpServers").map(|p| &p.value), Some(Ast::Object(_)))
        ),
        _ => false,
    }
}

/// Whether connect rewrites this entry: not already routed, and something
/// Gatehouse can stand in front of (a command or a URL).
pub(super) fn routable(entry: &Entry) -> bool {
    !entry.routed() && (entry.command.is_some() || entry.url.is_some())
}

/// Writes `plan` (nothing when it changes nothing): backup and record in
/// the data directory's backups, then the safe replace. Returns the record.
pub fn apply(plan: &Plan, data: &DataDir) -> crate::Result<Option<Record>> {
    apply_with(plan, data, &write::no_hook)
}

/// [`apply`] with a failure hook, for tests.
pub fn apply_with(plan: &Plan, data: &DataDir, hook: Hook<'_>) -> crate::Result<Option<Record>> {
    write_plan(plan, data, hook).map_err(crate::Error::ClientConfig)
}

fn write_plan(plan: &Plan, data: &DataDir, hook: Hook<'_>) -> Result<Option<Record>, String> {
    if plan.is_noop() {
        return Ok(None);
    }
    let current = std::fs::read(&plan.path)
        .map_err(|e| format!("cannot read {}: {e}", plan.path.display()))?;
    if current != plan.before.as_bytes() {
        return Err(format!(
            "{} changed since Gatehouse read it; nothing was written, run the command again",
            plan.path.display()
        ));
    }
    let backups = data.backups();
    let backup = write::backup(&backups, plan.client, &plan.path, &current)?;
    let record = Record {
        client: plan.client,
        path: plan.path.clone(),
        backup,
        after: write::fingerprint(plan.after.as_bytes()),
        entries: plan.edits.clone(),
    };
    write::save_record(&backups, &record)?;
    hook(Step::AfterBackup)?;
    write::replace(
        &plan.path,
        plan.before.as_bytes(),
        plan.after.as_bytes(),
        hook,
    )?;
    Ok(Some(record))
}

/// The plain-text secret values in `client`'s config text (env and header
/// values, arguments and URLs findings flag), for whatever shows the text
/// to hide them. Empty when the text does not parse.
pub fn secret_values(client: Client, text: &str) -> Vec<String> {
    let mut out: Vec<String> = super::secrets_back::plain_secrets(client, text)
        .into_iter()
        .map(|(_, value)| value)
        .collect();
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    out.dedup();
    out
}

// ---- JSON family -----------------------------------------------------------

/// Keys that say how to reach the server; connect replaces them all.
pub(super) const CONNECTION_KEYS: &[&str] = &[
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

pub(super) fn parse_ast(text: &str) -> Result<Option<Ast<'_>>, String> {
    jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default())
        .map(|r| r.value)
        .map_err(|e| format!("cannot parse: {e}; left alone"))
}

/// The key holding the servers map in `client`'s file.
pub(super) fn servers_key(client: Client, root: &Object<'_>) -> &'static str {
    match client {
        Client::Zed => "context_servers",
        Client::VsCode if root.get("servers").is_some() => "servers",
        _ => "mcpServers",
    }
}

/// Every server entry's property in the file, with its scope.
pub(super) fn json_entries<'a, 'b>(
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

fn json_connect(
    client: Client,
    text: &str,
    entries: &[Entry],
    gatehouse: &str,
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
        let Some(server) = name(entry).filter(|_| routable(entry)) else {
            continue;
        };
        let Ast::Object(obj) = &prop.value else {
            continue;
        };
        let range = obj.range();
        let new = json_entry_text(text, prop, obj, gatehouse, &server);
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
pub(super) fn splice(text: &str, mut replacements: Vec<(usize, usize, String)>) -> String {
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

/// The new value of one entry: command and args first, then the
/// non-secret env, then the entry's other (client-side) keys as written.
fn json_entry_text(
    text: &str,
    prop: &ObjectProp<'_>,
    obj: &Object<'_>,
    gatehouse: &str,
    server: &str,
) -> String {
    let range = obj.range();
    let original = &text[range.start..range.end];
    let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
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

// ---- Codex TOML ------------------------------------------------------------

/// Codex keys that say how to reach the server.
const TOML_CONNECTION_KEYS: &[&str] = &[
    "command",
    "args",
    "cwd",
    "url",
    "bearer_token_env_var",
    "http_headers",
    "env_http_headers",
];

/// The entry as TOML text on its own, to recognise it unchanged later.
pub(super) fn toml_fingerprint(item: &toml_edit::Item) -> String {
    let mut doc = toml_edit::DocumentMut::new();
    doc.insert("e", item.clone());
    doc.to_string()
}

fn toml_connect(
    text: &str,
    entries: &[Entry],
    gatehouse: &str,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let mut doc = toml_edit::DocumentMut::from_str(text)
        .map_err(|e| format!("cannot parse: {e}; left alone"))?;
    let mut edits = Vec::new();
    let Some(servers) = doc
        .get_mut("mcp_servers")
        .and_then(|s| s.as_table_like_mut())
    else {
        return Ok((text.to_string(), edits));
    };
    let names: Vec<String> = servers.iter().map(|(k, _)| k.to_string()).collect();
    for entry in names
        .iter()
        .filter_map(|n| entries.iter().find(|e| &e.name == n))
    {
        let Some(server) = name(entry).filter(|_| routable(entry)) else {
            continue;
        };
        let Some(table) = servers
            .get_mut(&entry.name)
            .and_then(|t| t.as_table_like_mut())
        else {
            continue;
        };
        let had_command = table.contains_key("command");
        for key in TOML_CONNECTION_KEYS {
            if had_command && (*key == "command" || *key == "args") {
                continue;
            }
            table.remove(key);
        }
        table.insert("command", toml_edit::value(gatehouse));
        let mut args = toml_edit::Array::new();
        args.push("run");
        args.push(server);
        table.insert("args", toml_edit::value(args));
        if let Some(env) = table.get_mut("env").and_then(|e| e.as_table_like_mut()) {
            let secret: Vec<String> = env
                .iter()
                .filter(|(k, v)| {
                    v.as_str()
                        .is_some_and(|v| value_looks_secret(k, v).is_some())
                })
                .map(|(k, _)| k.to_string())
                .collect();
            for key in &secret {
                env.remove(key);
            }
            if env.is_empty() {
                table.remove("env");
            }
        }
        edits.push(EntryEdit {
            scope: None,
            name: entry.name.clone(),
            original: String::new(),
            connected: String::new(),
        });
    }
    for edit in &mut edits {
        if let Some(item) = servers.get(&edit.name) {
            edit.connected = toml_fingerprint(item);
        }
    }
    Ok((doc.to_string(), edits))
}
