//! `clients connect`: rewrites each server entry of a client's config to
//! go through Gatehouse, with no secrets left in the entry: by default to
//! launch `gatehouse run NAME`; with a gateway [`Target`], for a client that
//! takes URLs ([`Client::takes_url`]), to the gateway's
//! `http://127.0.0.1:PORT/mcp/NAME` with the client's bearer token, in the
//! client's own URL schema.
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

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::write::{self, EntryEdit, Hook, Record, Step};
use super::{Client, Entry, Format, PlainSecret, value_looks_secret};
use crate::{DataDir, SecretValue, Server, Transport};

/// How `clients connect` routes a client's entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Via {
    /// Each entry launches `gatehouse run NAME` (every client).
    #[default]
    Stdio,
    /// Each entry is the gateway's URL for the server, with the client's
    /// bearer token, where the client takes URLs; `gatehouse run NAME`
    /// where it does not (Claude Desktop).
    Gateway,
}

/// What connected entries point at.
#[derive(Debug, Clone)]
pub struct Target {
    /// The `gatehouse` binary stdio entries launch.
    gatehouse: String,
    /// The gateway's port and this client's token, for a gateway connect.
    gateway: Option<(u16, SecretValue)>,
}

impl Target {
    /// Entries launch `gatehouse run NAME` from `gatehouse` (an absolute
    /// path).
    pub fn stdio(gatehouse: &Path) -> Target {
        Target {
            gatehouse: gatehouse.to_string_lossy().into_owned(),
            gateway: None,
        }
    }

    /// Entries of clients that take URLs become the gateway's URL on
    /// `port`, with `token` (the client's own, see
    /// [`Engine::gateway_token`](crate::Engine::gateway_token)) as the
    /// bearer; the others launch `gatehouse`.
    pub fn gateway(gatehouse: &Path, port: u16, token: SecretValue) -> Target {
        Target {
            gateway: Some((port, token)),
            ..Target::stdio(gatehouse)
        }
    }

    /// The bearer token this target writes into configs, if any: what a
    /// preview must hide.
    pub fn token(&self) -> Option<&str> {
        self.gateway.as_ref().map(|(_, token)| token.expose())
    }

    /// The URL form for `client`'s entries, when this target gives one.
    pub(super) fn url_form(&self, client: Client) -> Option<UrlForm<'_>> {
        let (port, token) = self.gateway.as_ref()?;
        client.takes_url().then_some(UrlForm {
            port: *port,
            token: token.expose(),
        })
    }

    /// What a routed `entry` should become, as the Gatehouse server name,
    /// or `None` when it is in this target's form already: a stdio entry
    /// for a stdio connect, the same URL and token for a gateway one.
    fn reroute<'e>(&self, client: Client, entry: &'e Entry) -> Option<&'e str> {
        let name = entry.routed_to()?;
        let done = match self.url_form(client) {
            None => entry.launched().is_some(),
            Some(form) => {
                entry.url.as_deref() == Some(form.url(name).as_str())
                    && entry.headers.iter().any(|(k, v)| {
                        k.eq_ignore_ascii_case("authorization") && *v == form.bearer()
                    })
            }
        };
        (!done).then_some(name)
    }

    /// The Gatehouse server `entry` is rewritten to, if it is: a routed
    /// entry not yet in this target's form keeps its server; another entry
    /// gets the one `name` gives (the registered server), if any.
    pub(super) fn server_for(
        &self,
        client: Client,
        entry: &Entry,
        name: &dyn Fn(&Entry) -> Option<String>,
    ) -> Option<String> {
        if entry.routed() {
            return self.reroute(client, entry).map(str::to_string);
        }
        name(entry).filter(|_| routable(entry))
    }

    /// The `gatehouse` binary.
    pub(super) fn gatehouse(&self) -> &str {
        &self.gatehouse
    }
}

/// The gateway's address and a client's token, as a connected entry holds
/// them.
pub(super) struct UrlForm<'a> {
    port: u16,
    token: &'a str,
}

impl UrlForm<'_> {
    /// The gateway's URL for `server`.
    pub(super) fn url(&self, server: &str) -> String {
        format!("http://127.0.0.1:{}/mcp/{server}", self.port)
    }

    /// The `Authorization` header's value.
    pub(super) fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

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
    /// Where the change writes the client's gateway token, a secret the
    /// client needs in its file (`headers.Authorization`); hidden in
    /// previews like every secret.
    pub secrets: Vec<PlainSecret>,
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

/// Reads `path` and plans connecting `client`'s entries to `gatehouse run`
/// (`gatehouse`: the absolute path of the binary). `name` gives each
/// entry's Gatehouse server name (usually [`registered_name`]), or `None`
/// to leave the entry alone.
pub fn plan(
    client: Client,
    path: &Path,
    gatehouse: &Path,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> crate::Result<Plan> {
    plan_to(client, path, &Target::stdio(gatehouse), name)
}

/// [`plan`] to `target`: `gatehouse run`, or the gateway's URL.
pub fn plan_to(
    client: Client,
    path: &Path,
    target: &Target,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> crate::Result<Plan> {
    plan_file(client, path, target, name).map_err(crate::Error::ClientConfig)
}

fn plan_file(
    client: Client,
    path: &Path,
    target: &Target,
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
    let (after, edits) = plan_text_as(client, format, &before, target, name)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let secrets = token_places(client, format, target, &after, &edits);
    Ok(Plan {
        client,
        path: path.to_path_buf(),
        before,
        after,
        edits,
        skipped,
        secrets,
    })
}

/// The entries of `after` that `edits` rewrote and that now hold the
/// target's token.
fn token_places(
    client: Client,
    format: Format,
    target: &Target,
    after: &str,
    edits: &[EntryEdit],
) -> Vec<PlainSecret> {
    let Some(form) = target.url_form(client) else {
        return Vec::new();
    };
    let body = after.strip_prefix('\u{feff}').unwrap_or(after);
    let bearer = form.bearer();
    super::parse_as(client, format, body)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| edits.iter().any(|x| x.name == e.name && x.scope == e.scope))
        .filter_map(|e| {
            let (key, _) = e.headers.iter().find(|(_, v)| **v == bearer)?;
            Some(PlainSecret {
                entry: e.name.clone(),
                field: format!("headers.{key}"),
            })
        })
        .collect()
}

/// [`plan`] on a text: the new text and the entries rewritten.
pub fn plan_text(
    client: Client,
    text: &str,
    gatehouse: &str,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    plan_text_to(client, text, &Target::stdio(Path::new(gatehouse)), name)
}

/// [`plan_text`] to `target`.
pub fn plan_text_to(
    client: Client,
    text: &str,
    target: &Target,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    plan_text_as(client, Format::of_text(client, body), text, target, name)
}

/// [`plan_text_to`] for a file written in `format` ([`Format::of`] its
/// path).
pub fn plan_text_as(
    client: Client,
    format: Format,
    text: &str,
    target: &Target,
    name: &dyn Fn(&Entry) -> Option<String>,
) -> Result<(String, Vec<EntryEdit>), String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let entries = super::parse_as(client, format, body)
        .map_err(|e| format!("cannot parse: {e}; left alone"))?;
    let bom = text.len() - body.len();
    let (after, edits) = match format {
        Format::Toml => toml_connect(client, body, &entries, target, name)?,
        Format::Yaml if edited_as_yaml(client, body) => {
            super::yaml::connect(client, body, &entries, target, name)?
        }
        Format::Yaml | Format::Json => json_connect(client, body, &entries, target, name)?,
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

/// Keys that only a launched server has, dropped from an entry that
/// becomes a URL: Zed's `remote` (where to launch it) and `source`
/// (`"custom"`: a command, in Zed's older tagged form), VS Code's sandbox
/// and `dev` settings.
const STDIO_ONLY_KEYS: &[&str] = &["remote", "source", "sandboxEnabled", "sandbox", "dev"];

/// A JSON string literal.
fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The fields of an entry that becomes the gateway's URL, in `client`'s
/// schema (`docs/CLIENTS.md`): the transport where the client wants one,
/// the URL, the `Authorization` header, then the entry's other
/// (client-side) keys as written.
fn json_url_fields(
    client: Client,
    text: &str,
    obj: &Object<'_>,
    form: &UrlForm<'_>,
    server: &str,
) -> Vec<String> {
    let url = json(&form.url(server));
    let mut fields: Vec<String> = match client {
        Client::ClaudeCode | Client::VsCode => {
            vec![r#""type": "http""#.into(), format!(r#""url": {url}"#)]
        }
        Client::Cline => vec![
            r#""type": "streamableHttp""#.into(),
            format!(r#""url": {url}"#),
        ],
        Client::Windsurf => vec![format!(r#""serverUrl": {url}"#)],
        Client::GeminiCli => vec![format!(r#""httpUrl": {url}"#)],
        _ => vec![format!(r#""url": {url}"#)],
    };
    fields.push(format!(
        r#""headers": {{ "Authorization": {} }}"#,
        json(&form.bearer())
    ));
    for p in &obj.properties {
        let key = p.name.as_str();
        if !CONNECTION_KEYS.contains(&key) && !STDIO_ONLY_KEYS.contains(&key) {
            fields.push(text[p.range.start..p.range.end].to_string());
        }
    }
    fields
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

/// Codex keys only a launched server has, dropped from an entry that
/// becomes a URL.
const TOML_STDIO_ONLY_KEYS: &[&str] = &["env", "env_vars", "experimental_environment"];

fn toml_connect(
    client: Client,
    text: &str,
    entries: &[Entry],
    target: &Target,
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
        let Some(server) = target.server_for(client, entry, name) else {
            continue;
        };
        let Some(table) = servers
            .get_mut(&entry.name)
            .and_then(|t| t.as_table_like_mut())
        else {
            continue;
        };
        if let Some(form) = target.url_form(client) {
            // Streamable HTTP: `url` and static `http_headers`.
            for key in TOML_CONNECTION_KEYS.iter().chain(TOML_STDIO_ONLY_KEYS) {
                table.remove(key);
            }
            table.insert("url", toml_edit::value(form.url(&server)));
            let mut headers = toml_edit::InlineTable::new();
            headers.insert("Authorization", form.bearer().into());
            table.insert("http_headers", toml_edit::value(headers));
            edits.push(EntryEdit {
                scope: None,
                name: entry.name.clone(),
                original: String::new(),
                connected: String::new(),
            });
            continue;
        }
        let gatehouse = target.gatehouse();
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
