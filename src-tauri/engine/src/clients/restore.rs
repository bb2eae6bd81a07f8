//! `clients restore`: puts a client's config back as it was before
//! `connect`.
//!
//! Each connect left a backup and a [`Record`] of the entries it rewrote.
//! When the file is still exactly what connect wrote, the backup goes back
//! byte for byte. When the client (or a person) edited the file since, only
//! Gatehouse's own changes are undone: each rewritten entry that is still as
//! connect left it gets its original text back, span by span (JSON family,
//! and YAML through `yaml.rs`) or item by item (`toml_edit`, Codex), and
//! every other edit stays. An
//! entry changed since connect is left as it is, and said so. Several
//! connects are undone newest first.
//!
//! Restoring may put plain-text secrets back that `clients import` moved
//! to the keychain. The plan names them ([`RestorePlan::secrets`]) so the
//! person can be asked first, and [`RestorePlan::without_secrets`] restores
//! everything else with those values left empty.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use jsonc_parser::ast::Value as Ast;
use jsonc_parser::common::Ranged;

use super::Client;
use super::connect::{edited_as_yaml, json_entries, parse_ast, splice, toml_fingerprint};
use super::secrets_back::{self, PlainSecret};
use super::write::{self, Hook, Record};
use crate::DataDir;

/// What restore would do to one file.
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePlan {
    /// Whose file.
    pub client: Client,
    /// The file.
    pub path: PathBuf,
    /// Its text now.
    pub before: String,
    /// Its text after restore.
    pub after: String,
    /// The connects undone, newest first.
    pub records: Vec<Record>,
    /// Whether the file goes back byte for byte (it was unchanged since
    /// connect).
    pub exact: bool,
    /// What could not be undone (entries edited or removed since connect).
    pub warnings: Vec<String>,
    /// The plain-text secrets `after` would put back into the file (values
    /// that `clients import` moved to the keychain). The person is asked
    /// first; [`RestorePlan::without_secrets`] leaves them out.
    pub secrets: Vec<PlainSecret>,
}

impl RestorePlan {
    /// Whether restore has anything to do.
    pub fn is_noop(&self) -> bool {
        self.records.is_empty()
    }

    /// The same restore with the values of [`RestorePlan::secrets`] left
    /// empty: they stay in the keychain only, and the file is no longer
    /// byte for byte what it was. Fails (and nothing is written) when a value
    /// cannot be taken out cleanly.
    pub fn without_secrets(mut self) -> crate::Result<RestorePlan> {
        if self.secrets.is_empty() {
            return Ok(self);
        }
        self.after = secrets_back::leave_out(self.client, &self.before, &self.after)
            .map_err(|e| crate::Error::ClientConfig(format!("{}: {e}", self.path.display())))?;
        let names: Vec<String> = self.secrets.drain(..).map(|s| s.to_string()).collect();
        self.warnings.push(format!(
            "left empty, the values stay in the keychain: {}",
            names.join(", ")
        ));
        self.exact = false;
        Ok(self)
    }
}

/// Plans restoring `path` from the connects recorded in `data`.
pub fn plan(client: Client, path: &Path, data: &DataDir) -> crate::Result<RestorePlan> {
    plan_file(client, path, data).map_err(crate::Error::ClientConfig)
}

fn plan_file(client: Client, path: &Path, data: &DataDir) -> Result<RestorePlan, String> {
    let backups = data.backups();
    let records = write::records_for(&backups, path);
    let before = write::read_text(path)?;
    let mut text = before.clone();
    let mut exact = true;
    let mut warnings = Vec::new();
    for record in &records {
        let backup_path = record.backup_path(&backups);
        let original = write::read_backup(&backup_path).and_then(|b| {
            String::from_utf8(b)
                .map_err(|_| format!("the backup {} is not UTF-8", backup_path.display()))
        })?;
        if write::fingerprint(text.as_bytes()) == record.after {
            text = original;
            continue;
        }
        exact = false;
        text = revert_entries(client, &text, record, &original, &mut warnings)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let secrets = secrets_back::returning(client, &before, &text);
    Ok(RestorePlan {
        client,
        path: path.to_path_buf(),
        before,
        after: text,
        records,
        exact,
        warnings,
        secrets,
    })
}

/// Writes `plan` safely (the current file is backed up first), then marks
/// its records restored.
pub fn apply(plan: &RestorePlan, data: &DataDir) -> crate::Result<()> {
    apply_with(plan, data, &write::no_hook)
}

/// [`apply`] with a failure hook, for tests.
pub fn apply_with(plan: &RestorePlan, data: &DataDir, hook: Hook<'_>) -> crate::Result<()> {
    write_plan(plan, data, hook).map_err(crate::Error::ClientConfig)
}

fn write_plan(plan: &RestorePlan, data: &DataDir, hook: Hook<'_>) -> Result<(), String> {
    let backups = data.backups();
    if plan.before != plan.after {
        write::backup(&backups, plan.client, &plan.path, plan.before.as_bytes())?;
        hook(write::Step::AfterBackup)?;
        write::replace(
            &plan.path,
            plan.before.as_bytes(),
            plan.after.as_bytes(),
            hook,
        )?;
    }
    for record in &plan.records {
        write::retire_record(&backups, record)?;
    }
    Ok(())
}

/// `text` with each entry of `record` that is still as connect left it put
/// back as it was in `original`.
fn revert_entries(
    client: Client,
    text: &str,
    record: &Record,
    original: &str,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let mut pending: Vec<&write::EntryEdit> = record.entries.iter().collect();
    let out = match client {
        Client::Codex => {
            let mut doc = toml_edit::DocumentMut::from_str(text)
                .map_err(|e| format!("cannot parse: {e}; left alone"))?;
            let old = toml_edit::DocumentMut::from_str(original)
                .map_err(|e| format!("cannot parse the backup: {e}"))?;
            let old_servers = old.get("mcp_servers").and_then(|s| s.as_table_like());
            if let Some(servers) = doc
                .get_mut("mcp_servers")
                .and_then(|s| s.as_table_like_mut())
            {
                pending.retain(|edit| {
                    let Some(current) = servers.get(&edit.name) else {
                        return true;
                    };
                    if toml_fingerprint(current) != edit.connected {
                        warnings.push(format!(
                            "{} was changed since connect; left as it is",
                            edit.name
                        ));
                        return false;
                    }
                    // The original goes where the entry is now: the client
                    // may have moved its tables since connect.
                    let position = current.as_table().and_then(|t| t.position());
                    if let Some(item) = old_servers.and_then(|s| s.get(&edit.name)) {
                        let mut item = item.clone();
                        if let Some(position) = position {
                            place_tables_at(&mut item, position);
                        }
                        servers.insert(&edit.name, item);
                    }
                    false
                });
            }
            doc.to_string()
        }
        _ if edited_as_yaml(client, text.strip_prefix('\u{feff}').unwrap_or(text)) => {
            let body = text.strip_prefix('\u{feff}').unwrap_or(text);
            let bom = &text[..text.len() - body.len()];
            format!(
                "{bom}{}",
                super::yaml::revert(client, body, &mut pending, warnings)?
            )
        }
        _ => {
            let body = text.strip_prefix('\u{feff}').unwrap_or(text);
            let bom = &text[..text.len() - body.len()];
            let mut replacements = Vec::new();
            if let Some(Ast::Object(root)) = parse_ast(body)? {
                for (scope, prop) in json_entries(client, &root) {
                    let Some(i) = pending
                        .iter()
                        .position(|e| e.name == prop.name.as_str() && e.scope == scope)
                    else {
                        continue;
                    };
                    let edit = pending.remove(i);
                    let range = prop.value.range();
                    if body[range.start..range.end] == edit.connected {
                        replacements.push((range.start, range.end, edit.original.clone()));
                    } else {
                        warnings.push(format!(
                            "{} was changed since connect; left as it is",
                            edit.name
                        ));
                    }
                }
            }
            format!("{bom}{}", splice(body, replacements))
        }
    };
    for edit in pending {
        warnings.push(format!(
            "{} was removed since connect; not put back",
            edit.name
        ));
    }
    Ok(out)
}

/// Gives `item` and every table nested in it the document position
/// `position`: they are then written where that position falls, parent
/// first (toml_edit orders tables by position, stably).
fn place_tables_at(item: &mut toml_edit::Item, position: isize) {
    if let Some(table) = item.as_table_mut() {
        table.set_position(Some(position));
        for (_, child) in table.iter_mut() {
            place_tables_at(child, position);
        }
    }
}
