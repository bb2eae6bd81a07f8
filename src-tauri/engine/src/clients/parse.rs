//! Every client's format into [`Entry`]s (docs/CLIENTS.md, sections 2 and 4).
//!
//! Each file is first read into a `serde_json::Value` (JSON with comments
//! and trailing commas for the JSON family, TOML for Codex, YAML for
//! Continue and Goose; [`Format`] says which, from the client and, for a
//! Continue workspace's JSON blocks, the file name), then one extractor
//! reads the fields every client spells its own way. Unknown keys are
//! ignored; nothing here panics on odd input.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::{Client, Entry};

/// The syntax a config file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON, read leniently (comments and trailing commas allowed).
    Json,
    /// TOML (Codex).
    Toml,
    /// YAML (Continue, Goose).
    Yaml,
}

impl Format {
    /// The format of `client`'s own config files.
    pub fn native(client: Client) -> Format {
        match client {
            Client::Codex => Format::Toml,
            Client::Continue | Client::Goose => Format::Yaml,
            _ => Format::Json,
        }
    }

    /// The format of `client`'s file at `path`: the client's own, except
    /// for the JSON files Continue reads from a workspace's
    /// `.continue/mcpServers/` (other clients' configs copied in), which
    /// the extension tells apart.
    pub fn of(client: Client, path: &Path) -> Format {
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        match Format::native(client) {
            Format::Yaml if json && client == Client::Continue => Format::Json,
            native => native,
        }
    }

    /// The format of a text of `client`'s without its file name: the
    /// client's own, except a Continue text that is a JSON object (a
    /// workspace's JSON block), which YAML would not always read (tabs,
    /// comments).
    pub fn of_text(client: Client, text: &str) -> Format {
        match Format::native(client) {
            Format::Yaml
                if client == Client::Continue
                    && text.trim_start().starts_with('{')
                    && matches!(jsonc(text), Ok(Value::Object(_))) =>
            {
                Format::Json
            }
            native => native,
        }
    }
}

/// Why a client's config file gives no servers: a stable code and what the
/// person is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// `syntax`: not valid JSON (with comments), TOML or YAML; `shape`:
    /// valid, but not laid out as the client's servers are.
    pub code: &'static str,
    /// The parser's words, or what is out of shape.
    pub message: String,
}

impl ParseError {
    fn syntax(message: impl Into<String>) -> Self {
        Self {
            code: "syntax",
            message: message.into(),
        }
    }

    fn shape(message: impl Into<String>) -> Self {
        Self {
            code: "shape",
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses the text of `client`'s config file into its server entries, in
/// the format [`Format::of_text`] tells.
pub fn parse(client: Client, text: &str) -> Result<Vec<Entry>, ParseError> {
    parse_as(client, Format::of_text(client, text), text)
}

/// [`parse`] for a file written in `format` (see [`Format::of`]).
pub fn parse_as(client: Client, format: Format, text: &str) -> Result<Vec<Entry>, ParseError> {
    let root = match format {
        Format::Toml => toml(text)?,
        Format::Yaml => yaml(text)?,
        Format::Json => jsonc(text)?,
    };
    let root = match root {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        _ => return Err(ParseError::shape("the top level is not an object")),
    };
    match client {
        Client::Codex => map_entries(client, &root, "mcp_servers", None),
        Client::Goose => map_entries(client, &root, "extensions", None),
        Client::Continue => continue_entries(&root),
        Client::Zed => map_entries(client, &root, "context_servers", None),
        Client::VsCode if root.contains_key("servers") => {
            map_entries(client, &root, "servers", None)
        }
        Client::ClaudeCode => {
            let mut out = map_entries(client, &root, "mcpServers", None)?;
            // Local scope: the servers of one project, kept in the same file.
            if let Some(Value::Object(projects)) = root.get("projects") {
                for (project, settings) in projects {
                    if let Value::Object(settings) = settings {
                        out.extend(map_entries(client, settings, "mcpServers", Some(project))?);
                    }
                }
            }
            Ok(out)
        }
        _ => map_entries(client, &root, "mcpServers", None),
    }
}

/// JSON, tolerating comments and trailing commas (VS Code and Zed write
/// JSONC; the others are read the same way, being lenient costs nothing).
fn jsonc(text: &str) -> Result<Value, ParseError> {
    jsonc_parser::parse_to_serde_value::<Value>(text, &Default::default())
        .map_err(|e| ParseError::syntax(e.to_string()))
}

fn toml(text: &str) -> Result<Value, ParseError> {
    let doc = toml_edit::DocumentMut::from_str(text).map_err(|e| {
        // toml_edit draws the line and a caret; one line reads better in a list.
        ParseError::syntax(
            e.to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    Ok(toml_item(doc.as_item()))
}

fn toml_item(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => toml_value(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_item(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_string(), toml_item(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn toml_value(value: &toml_edit::Value) -> Value {
    use toml_edit::Value as T;
    match value {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => Value::from(*i.value()),
        T::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(a) => Value::Array(a.iter().map(toml_value).collect()),
        T::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_value(v)))
                .collect(),
        ),
    }
}

fn yaml(text: &str) -> Result<Value, ParseError> {
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| ParseError::syntax(e.to_string()))?;
    Ok(yaml_value(value))
}

fn yaml_value(value: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_value).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (scalar_text(&yaml_value(k)), yaml_value(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_value(tagged.value),
    }
}

/// A scalar as the text a person wrote (strings without quotes).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The entries of the map under `key`: `{NAME: {...}, ...}`.
fn map_entries(
    client: Client,
    root: &Map<String, Value>,
    key: &str,
    scope: Option<&str>,
) -> Result<Vec<Entry>, ParseError> {
    let servers = match root.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(servers)) => servers,
        Some(_) => {
            let where_ = scope.map_or(String::new(), |s| format!(" of project {s}"));
            return Err(ParseError::shape(format!(
                "`{key}`{where_} is not a map of servers"
            )));
        }
    };
    Ok(servers
        .iter()
        .filter_map(|(name, value)| match value {
            Value::Object(fields) => entry(client, name, fields, scope),
            _ => None,
        })
        .collect())
}

/// Continue: `mcpServers` is a list whose items carry their `name` (a JSON
/// block copied from another client has the map shape instead).
fn continue_entries(root: &Map<String, Value>) -> Result<Vec<Entry>, ParseError> {
    match root.get("mcpServers") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let fields = item.as_object()?;
                let name = fields
                    .get("name")
                    .map(scalar_text)
                    .unwrap_or_else(|| format!("#{}", i + 1));
                entry(Client::Continue, &name, fields, None)
            })
            .collect()),
        Some(Value::Object(_)) => map_entries(Client::Continue, root, "mcpServers", None),
        Some(_) => Err(ParseError::shape("`mcpServers` is not a list of servers")),
    }
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), scalar_text(v)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().map(scalar_text).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn string_field(fields: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| fields.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}

/// One entry from its fields, or `None` for what is not a server Gatehouse
/// could stand in front of (Goose's built-in extensions).
fn entry(
    client: Client,
    name: &str,
    fields: &Map<String, Value>,
    scope: Option<&str>,
) -> Option<Entry> {
    let kind = fields
        .get("type")
        .or_else(|| fields.get("transportType"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    if client == Client::Goose
        && matches!(
            kind.as_deref(),
            Some("builtin" | "platform" | "frontend" | "inline_python")
        )
    {
        return None;
    }

    let mut command = string_field(fields, &["command", "cmd"]);
    let mut args = string_list(fields.get("args"));
    let mut env = string_map(fields.get("env").or_else(|| fields.get("envs")));
    // Early Zed: "command": {"path", "args", "env"}.
    if let Some(Value::Object(old)) = fields.get("command") {
        command = string_field(old, &["path"]);
        args = string_list(old.get("args"));
        env = string_map(old.get("env"));
    }

    let http_url = string_field(fields, &["httpUrl"]);
    let url = http_url
        .clone()
        .or_else(|| string_field(fields, &["url", "serverUrl", "uri"]));
    let mut headers = string_map(fields.get("headers").or_else(|| fields.get("http_headers")));
    if let Some(Value::Object(options)) = fields.get("requestOptions") {
        headers.extend(string_map(options.get("headers")));
    }

    let mut env_refs = Vec::new();
    for key in ["env_vars", "env_keys"] {
        if let Some(Value::Array(items)) = fields.get(key) {
            for item in items {
                match item {
                    Value::String(s) => env_refs.push(s.clone()),
                    // Codex: {name = "X", source = "local"}.
                    Value::Object(o) => env_refs.extend(string_field(o, &["name"])),
                    _ => {}
                }
            }
        }
    }
    env_refs.extend(string_field(fields, &["bearer_token_env_var"]));
    if let Some(Value::Object(map)) = fields.get("env_http_headers") {
        env_refs.extend(map.values().filter_map(Value::as_str).map(str::to_string));
    }

    let transport = match kind.as_deref() {
        Some("http" | "streamable-http" | "streamablehttp" | "streamable_http") => "http".into(),
        Some(other) => other.to_string(),
        None if command.is_some() => "stdio".into(),
        None if http_url.is_some() => "http".into(),
        // A bare `url` means SSE to Cline and Gemini CLI.
        None if url.is_some() && matches!(client, Client::Cline | Client::GeminiCli) => {
            "sse".into()
        }
        None if url.is_some() => "http".into(),
        // Zed: a server an extension provides.
        None => "extension".into(),
    };

    // Cursor and VS Code: a dotenv file whose variables the client adds.
    let env_file = string_field(fields, &["envFile"]);

    let disabled = fields.get("disabled") == Some(&Value::Bool(true))
        || fields.get("enabled") == Some(&Value::Bool(false));

    Some(Entry {
        name: name.to_string(),
        scope: scope.map(str::to_string),
        transport,
        command,
        args,
        env,
        env_refs,
        env_file,
        url,
        headers,
        disabled,
        findings: Vec::new(),
    })
}
