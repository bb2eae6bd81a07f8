//! `gatehouse clients list`: the AI clients' MCP configs found under `$HOME`,
//! in the projects Claude Code knows and those given with `--project`, and
//! system-wide; their servers, whether each is routed through Gatehouse,
//! and findings.
//! Secret values are never printed: env and headers show their names only,
//! and an argument or URL a finding marks as secret is replaced.
//! `clients import` registers their servers in Gatehouse, secrets moved to
//! the keychain (`gatehouse_engine::clients::import`).
//! `clients connect` rewrites the configs' entries to launch
//! `gatehouse run NAME` (this binary) for the servers registered in
//! Gatehouse, or with `--via gateway` to name the local gateway's URL with
//! the client's bearer token where the client takes URLs; `clients restore`
//! puts the files back. Both take `--dry-run` to show the diff (secrets,
//! the gateway token too, hidden) and write nothing, and both leave
//! system-wide files alone (an administrator manages them).

mod import;
mod list;
mod write;

use std::path::{Path, PathBuf};

use anyhow::Context;
use gatehouse_engine::clients::{self, Client, ClientConfig};

use crate::cli::{ClientsCommand, ProjectArgs};

pub fn run(cmd: ClientsCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ClientsCommand::List(projects) => list::list(&projects, json),
        ClientsCommand::Import(args) => import::import(&args, json),
        ClientsCommand::Connect(args) => write::connect(args, json),
        ClientsCommand::Restore(args) => write::restore(args, json),
    }
}

/// The home directory whose client configs are listed.
pub(super) fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE").filter(|h| !h.is_empty()))
        .map(PathBuf::from)
        .context("cannot find the home directory: HOME is not set")
}

/// The client configs under `home`, in the projects Claude Code knows and
/// those given, and system-wide.
pub(super) fn discover(home: &Path, projects: &ProjectArgs) -> anyhow::Result<Vec<ClientConfig>> {
    Ok(clients::discover_in(home, &projects.projects)?)
}

/// The discovered configs `target` names: one client, or all.
pub(super) fn targeted(target: &crate::cli::ClientTarget) -> anyhow::Result<Vec<ClientConfig>> {
    let configs = discover(&home()?, &target.projects)?;
    let Some(id) = target.client.as_deref() else {
        return Ok(configs);
    };
    let client = Client::from_id(id).with_context(|| {
        format!("unknown client {id:?}; `gatehouse clients list` shows the ids")
    })?;
    let configs: Vec<ClientConfig> = configs.into_iter().filter(|c| c.client == client).collect();
    if configs.is_empty() {
        anyhow::bail!("no config of {} was found", client.display_name());
    }
    Ok(configs)
}
