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

mod json;
mod target;
mod toml;
mod url_form;

use std::path::{Path, PathBuf};

use jsonc_parser::ast::Value as Ast;

use super::write::{self, EntryEdit, Hook, Record, Step};
use super::{Client, Entry, Format, PlainSecret};
use crate::{DataDir, Error, Server, Transport};

pub(super) use json::{CONNECTION_KEYS, json_entries, parse_ast, splice};
pub(super) use target::UrlForm;
pub use target::{Target, Via};
pub(super) use toml::toml_fingerprint;

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
    // Continue's workspace blocks may be JSON: the file name says which.
    let format = Format::of(client, path);
    let before = write::read_text(path).map_err(Error::ClientConfig)?;
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
        .map_err(|e| Error::ClientConfig(format!("{}: {e}", path.display())))?;
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
        Format::Toml => toml::toml_connect(client, body, &entries, target, name)?,
        Format::Yaml if edited_as_yaml(client, body) => {
            super::yaml::connect(client, body, &entries, target, name)?
        }
        Format::Yaml | Format::Json => json::json_connect(client, body, &entries, target, name)?,
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
