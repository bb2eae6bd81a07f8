//! Connect for Codex's TOML, edited with `toml_edit`, which keeps
//! everything it is not told to change.

use std::str::FromStr;

use super::super::write::EntryEdit;
use super::super::{Client, Entry, value_looks_secret};
use super::Target;

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
pub(in crate::clients) fn toml_fingerprint(item: &toml_edit::Item) -> String {
    let mut doc = toml_edit::DocumentMut::new();
    doc.insert("e", item.clone());
    doc.to_string()
}

/// Codex keys only a launched server has, dropped from an entry that
/// becomes a URL.
const TOML_STDIO_ONLY_KEYS: &[&str] = &["env", "env_vars", "experimental_environment"];

pub(super) fn toml_connect(
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
