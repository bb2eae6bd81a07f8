//! Connect and restore as the app asks for them: first a preview (the diff,
//! secret values hidden), then, once the person agrees, the change itself.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::connect::{Target, Via};
use super::{Client, PlainSecret, connect, diff, discover_in, home_dir, restore};
use crate::{Engine, Error, Result};

/// Which change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ChangeKind {
    /// Route the client's entries through `gatehouse run`.
    Connect,
    /// Put the client's config back as it was.
    Restore,
}

/// A change to one config file, planned or made.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ClientChange {
    /// Whose file.
    pub client: Client,
    /// The file.
    pub path: String,
    /// Whether anything changes.
    pub changes: bool,
    /// The unified diff, secret values replaced.
    pub diff: String,
    /// Entries connect leaves alone: no Gatehouse server was imported for
    /// them.
    pub not_imported: Vec<String>,
    /// What restore could not revert exactly.
    pub warnings: Vec<String>,
    /// The plain-text secrets the change writes into the file: for a
    /// restore with secrets, those it puts back (without them, those it
    /// leaves empty); for a connect through the gateway, where the client's
    /// gateway token goes. The diff hides their values.
    pub secrets: Vec<PlainSecret>,
}

impl Engine {
    /// Imports the servers of `client`'s configs (see [`super::import`]).
    pub fn clients_import(&self, client: Client) -> Result<Vec<super::import::Imported>> {
        self.clients_import_in(client, &[])
    }

    /// [`Engine::clients_import`], also from the configs in the project
    /// folders `projects` (see [`super::discover_in`]).
    pub fn clients_import_in(
        &self,
        client: Client,
        projects: &[PathBuf],
    ) -> Result<Vec<super::import::Imported>> {
        let configs: Vec<_> = client_configs(client, projects)?
            .into_iter()
            .filter(|c| c.error.is_none())
            .collect();
        super::import::import(self, &configs)
    }

    /// What `kind` would change in `client`'s config files. A restore puts
    /// back the plain-text secrets import moved to the keychain only
    /// `with_secrets`; otherwise their values are left empty. A connect
    /// routes the entries `via` `gatehouse run` or the gateway (see
    /// [`Engine::clients_target`]); a restore ignores `via`.
    pub fn clients_preview(
        &self,
        client: Client,
        kind: ChangeKind,
        with_secrets: bool,
        via: Via,
    ) -> Result<Vec<ClientChange>> {
        self.clients_preview_in(client, kind, with_secrets, via, &[])
    }

    /// [`Engine::clients_preview`], also for the configs in the project
    /// folders `projects`.
    pub fn clients_preview_in(
        &self,
        client: Client,
        kind: ChangeKind,
        with_secrets: bool,
        via: Via,
        projects: &[PathBuf],
    ) -> Result<Vec<ClientChange>> {
        self.client_change(client, kind, with_secrets, via, projects, false)
    }

    /// Makes the change [`Engine::clients_preview`] showed; the files are
    /// read again, and a file that changed meanwhile is refused.
    pub fn clients_apply(
        &self,
        client: Client,
        kind: ChangeKind,
        with_secrets: bool,
        via: Via,
    ) -> Result<Vec<ClientChange>> {
        self.clients_apply_in(client, kind, with_secrets, via, &[])
    }

    /// [`Engine::clients_apply`], also for the configs in the project
    /// folders `projects`.
    pub fn clients_apply_in(
        &self,
        client: Client,
        kind: ChangeKind,
        with_secrets: bool,
        via: Via,
        projects: &[PathBuf],
    ) -> Result<Vec<ClientChange>> {
        self.client_change(client, kind, with_secrets, via, projects, true)
    }

    /// What `client`'s connected entries point at: `gatehouse run` from
    /// `gatehouse`, or, for a client that takes URLs, the gateway on its
    /// port (`port`, else the `gateway.port` setting) with the client's own
    /// token (made if it has none; the audit names the client by it).
    pub fn clients_target(
        &self,
        client: Client,
        via: Via,
        gatehouse: &std::path::Path,
        port: Option<u16>,
    ) -> Result<Target> {
        match via {
            // Claude Desktop and the like get `gatehouse run` either way.
            Via::Gateway if !client.takes_url() => Ok(Target::stdio(gatehouse)),
            Via::Stdio => Ok(Target::stdio(gatehouse)),
            Via::Gateway => {
                let port = match port {
                    Some(port) => port,
                    None => self.store().gateway_port()?,
                };
                if port == 0 {
                    return Err(Error::InvalidSpec(
                        "the gateway's port is set to 0 (any free port), which a client's config cannot name; set a fixed port to connect clients through the gateway".into(),
                    ));
                }
                let token = self.gateway_token(client.id())?;
                Ok(Target::gateway(gatehouse, port, token))
            }
        }
    }

    fn client_change(
        &self,
        client: Client,
        kind: ChangeKind,
        with_secrets: bool,
        via: Via,
        projects: &[PathBuf],
        apply: bool,
    ) -> Result<Vec<ClientChange>> {
        let configs = client_configs(client, projects)?;
        if configs.is_empty() {
            return Err(Error::InvalidSpec(format!(
                "no config of {} was found",
                client.display_name()
            )));
        }
        let registered = self.server_list()?;
        let gatehouse = gatehouse_command()?;
        let target = match kind {
            ChangeKind::Connect => self.clients_target(client, via, &gatehouse, None)?,
            ChangeKind::Restore => Target::stdio(&gatehouse),
        };
        let name = |entry: &super::Entry| connect::registered_name(entry, &registered);
        let mut changes = Vec::new();
        for config in configs {
            if let Some(error) = config.error {
                return Err(Error::InvalidSpec(error));
            }
            let left_alone = match kind {
                ChangeKind::Connect => config
                    .read_only()
                    .or_else(|| config.shared_project(projects)),
                ChangeKind::Restore => config.read_only(),
            };
            if let Some(why) = left_alone {
                changes.push(summary(
                    client,
                    &config.path,
                    ("", ""),
                    None,
                    Vec::new(),
                    vec![why],
                ));
                continue;
            }
            let change = match kind {
                ChangeKind::Connect => {
                    let plan = connect::plan_to(client, &config.path, &target, &name)?;
                    if apply && !plan.is_noop() {
                        connect::apply(&plan, self.data_dir())?;
                    }
                    let mut change = summary(
                        client,
                        &plan.path,
                        (&plan.before, &plan.after),
                        target.token(),
                        plan.skipped,
                        Vec::new(),
                    );
                    change.secrets = plan.secrets;
                    change
                }
                ChangeKind::Restore => {
                    let plan = restore::plan(client, &config.path, self.data_dir())?;
                    // Secrets are named either way: with them, as what goes
                    // back; without, as what is left empty.
                    let secrets = plan.secrets.clone();
                    let plan = if with_secrets {
                        plan
                    } else {
                        plan.without_secrets()?
                    };
                    if apply && !plan.is_noop() {
                        restore::apply(&plan, self.data_dir())?;
                    }
                    let mut change = summary(
                        client,
                        &plan.path,
                        (&plan.before, &plan.after),
                        None,
                        Vec::new(),
                        plan.warnings,
                    );
                    change.secrets = secrets;
                    change
                }
            };
            changes.push(change);
        }
        Ok(changes)
    }
}

/// `client`'s configs: the user's, their projects' (those Claude Code knows
/// and `projects`) and the system's.
fn client_configs(client: Client, projects: &[PathBuf]) -> Result<Vec<super::ClientConfig>> {
    let home =
        home_dir().ok_or_else(|| Error::InvalidSpec("cannot find the home directory".into()))?;
    Ok(discover_in(&home, projects)?
        .into_iter()
        .filter(|c| c.client == client)
        .collect())
}

/// A change from `before` to `after`, its diff with every secret hidden,
/// `token` (a gateway token the change writes) too.
fn summary(
    client: Client,
    path: &std::path::Path,
    (before, after): (&str, &str),
    token: Option<&str>,
    not_imported: Vec<String>,
    warnings: Vec<String>,
) -> ClientChange {
    let changes = before != after;
    ClientChange {
        client,
        path: path.display().to_string(),
        changes,
        diff: if changes {
            diff::redacted_with(client, path, before, after, token.as_slice())
        } else {
            String::new()
        },
        not_imported,
        warnings,
        secrets: Vec::new(),
    }
}

/// The lean `gatehouse` binary that rewritten entries launch: this program
/// if it is `gatehouse`, else the one installed beside it (the app ships
/// both in one directory).
pub fn gatehouse_command() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| Error::InvalidSpec(e.to_string()))?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let name = format!("gatehouse{}", std::env::consts::EXE_SUFFIX);
    if exe.file_name().is_some_and(|f| f == name.as_str()) {
        return Ok(exe);
    }
    let beside = exe.with_file_name(&name);
    if beside.is_file() {
        Ok(beside)
    } else {
        Err(Error::InvalidSpec(format!(
            "the gatehouse command was not found beside {}; install it there to route clients through it",
            exe.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataDir, Keychain};

    #[test]
    fn every_clients_call_refuses_a_missing_project_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = Engine::open(
            DataDir::at(tmp.path().join("data")).unwrap(),
            Box::new(Keychain),
        )
        .unwrap();
        let missing = [tmp.path().join("gone")];
        let errors = [
            engine.clients_list_in(&missing).map(drop),
            engine.clients_import_in(Client::Cursor, &missing).map(drop),
            engine
                .clients_preview_in(
                    Client::Cursor,
                    ChangeKind::Connect,
                    false,
                    Via::Stdio,
                    &missing,
                )
                .map(drop),
            engine
                .clients_apply_in(
                    Client::Cursor,
                    ChangeKind::Restore,
                    false,
                    Via::Stdio,
                    &missing,
                )
                .map(drop),
        ];
        for error in errors {
            let error = error.unwrap_err();
            assert!(matches!(error, Error::InvalidSpec(_)), "{error:?}");
            assert!(
                error
                    .to_string()
                    .contains(&missing[0].display().to_string())
            );
        }
    }
}
