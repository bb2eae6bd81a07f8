//! `clients connect` and `clients restore`: the configs rewritten to go
//! through Gatehouse, and put back; both with `--dry-run`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use gatehouse_engine::clients::restore::RestorePlan;
use gatehouse_engine::clients::{self, Client, ClientConfig, Entry};
use serde::Serialize;

use super::{discover, home};
use crate::cli::{ClientWriteArgs, ConnectArgs, ConnectVia, RestoreArgs};
use crate::output;

/// What connect or restore did to one file, as `--json` shows it.
#[derive(Serialize)]
struct WriteView {
    client: Client,
    path: PathBuf,
    /// `connected`, `restored`, `unchanged`, `would-change`, `skipped` or
    /// `failed`.
    status: &'static str,
    entries: Vec<String>,
    /// Entries left alone (no Gatehouse server of that name yet).
    not_imported: Vec<String>,
    /// Where the change writes a secret the client needs in its file (the
    /// client's gateway token), as `ENTRY FIELD`; never the value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<String>,
    warnings: Vec<String>,
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

impl WriteView {
    /// A file not handled yet (`failed` until something better is known).
    fn new(config: &ClientConfig) -> Self {
        Self {
            client: config.client,
            path: config.path.clone(),
            status: "failed",
            entries: Vec::new(),
            not_imported: Vec::new(),
            secrets: Vec::new(),
            warnings: Vec::new(),
            error: None,
            diff: None,
        }
    }

    /// Records what became of a planned change from `before` to `after`
    /// (`noop` if there is nothing to do): the diff of a dry run, or the
    /// outcome of `write`.
    fn settle(
        &mut self,
        noop: bool,
        (before, after): (&str, &str),
        (dry_run, token): (bool, Option<&str>),
        done: &'static str,
        write: impl FnOnce() -> gatehouse_engine::Result<()>,
    ) {
        if noop {
            self.status = "unchanged";
        } else if dry_run {
            self.status = "would-change";
            self.diff = Some(clients::diff::redacted_with(
                self.client,
                &self.path,
                before,
                after,
                token.as_slice(),
            ));
        } else {
            match write() {
                Ok(()) => self.status = done,
                Err(e) => self.error = Some(e.to_string()),
            }
        }
    }
}

/// The discovered configs `args` names: one client's, or all of them.
fn targets(args: &ClientWriteArgs) -> anyhow::Result<(PathBuf, Vec<ClientConfig>)> {
    let home = home()?;
    let configs = discover(&home, &args.target.projects)?;
    let Some(id) = args.target.client.as_deref() else {
        return Ok((home, configs));
    };
    let Some(client) = Client::from_id(id) else {
        use clap::CommandFactory;
        let ids: Vec<&str> = Client::ALL.iter().map(|c| c.id()).collect();
        crate::cli::Cli::command()
            .error(
                clap::error::ErrorKind::InvalidValue,
                format!("unknown client '{id}'; known: {}", ids.join(", ")),
            )
            .exit();
    };
    let configs: Vec<ClientConfig> = configs.into_iter().filter(|c| c.client == client).collect();
    if configs.is_empty() {
        anyhow::bail!(
            "no {} config found under {}",
            client.display_name(),
            home.display()
        );
    }
    Ok((home, configs))
}

/// The diff of `before` and `after` with every plain-text secret value in
/// either replaced, so that a dry run never prints one.
fn report(views: &[WriteView], json: bool, verb: &str) -> anyhow::Result<()> {
    let failed = views.iter().filter(|v| v.status == "failed").count();
    if json {
        output::json(&views)?;
    } else {
        for v in views {
            let what = match v.status {
                "connected" | "restored" => format!("{} {} entries", v.status, v.entries.len()),
                "unchanged" => format!("nothing to {verb}"),
                "would-change" => format!("would change {} entries", v.entries.len()),
                other => other.to_string(),
            };
            println!("{}  {}: {what}", v.client.display_name(), v.path.display());
            if let Some(diff) = &v.diff {
                print!("{diff}");
            }
            if let Some(error) = &v.error {
                println!("  error: {error}");
            }
            if !v.secrets.is_empty() {
                println!(
                    "  writes this client's gateway token (a secret, hidden above) into: {}",
                    v.secrets.join(", ")
                );
            }
            if !v.not_imported.is_empty() {
                println!(
                    "  not imported into Gatehouse, left as they are: {} (see `gatehouse clients import`)",
                    v.not_imported.join(", ")
                );
            }
            for warning in &v.warnings {
                println!("  ! {warning}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} config file(s) failed to {verb}; nothing was written to them");
    }
    Ok(())
}

pub(super) fn connect(args: ConnectArgs, json: bool) -> anyhow::Result<()> {
    let ConnectArgs { write, via, port } = args;
    let via = match via {
        ConnectVia::Stdio if port.is_some() => {
            anyhow::bail!("--port names the gateway's port; it goes with --via gateway")
        }
        ConnectVia::Stdio => clients::connect::Via::Stdio,
        ConnectVia::Gateway => clients::connect::Via::Gateway,
    };
    let (_, configs) = targets(&write)?;
    let exe = std::env::current_exe().context("cannot find the path of this gatehouse binary")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let engine = super::super::engine()?;
    let registered = engine.server_list()?;
    let name = |entry: &Entry| clients::connect::registered_name(entry, &registered);
    let mut views = Vec::new();
    for config in &configs {
        let mut view = WriteView::new(config);
        let left_alone = config
            .read_only()
            .or_else(|| config.shared_project(&write.target.projects.projects));
        if let Some(why) = left_alone {
            view.status = "skipped";
            view.warnings.push(why);
            views.push(view);
            continue;
        }
        let planned = engine
            .clients_target(config.client, via, &exe, port)
            .and_then(|target| {
                let plan = clients::connect::plan_to(config.client, &config.path, &target, &name)?;
                Ok((target, plan))
            });
        match planned {
            Err(e) => view.error = Some(e.to_string()),
            Ok((target, plan)) => {
                view.entries = plan.edits.iter().map(|e| e.name.clone()).collect();
                view.not_imported = plan.skipped.clone();
                view.secrets = plan.secrets.iter().map(ToString::to_string).collect();
                let texts = (plan.before.as_str(), plan.after.as_str());
                let run = (write.dry_run, target.token());
                view.settle(plan.is_noop(), texts, run, "connected", || {
                    clients::connect::apply(&plan, engine.data_dir()).map(drop)
                });
            }
        }
        views.push(view);
    }
    report(&views, json, "connect")
}

pub(super) fn restore(args: RestoreArgs, json: bool) -> anyhow::Result<()> {
    let (_, configs) = targets(&args.write)?;
    let data = gatehouse_engine::DataDir::from_env()?;
    let mut views = Vec::new();
    for config in &configs {
        let mut view = WriteView::new(config);
        if let Some(why) = config.read_only() {
            view.status = "skipped";
            view.warnings.push(why);
            views.push(view);
            continue;
        }
        let planned = clients::restore::plan(config.client, &config.path, &data)
            .and_then(|plan| secrets_choice(plan, &args, json));
        match planned {
            Err(e) => view.error = Some(e.to_string()),
            Ok(plan) => {
                view.entries = plan
                    .records
                    .iter()
                    .flat_map(|r| r.entries.iter().map(|e| e.name.clone()))
                    .collect();
                view.warnings = plan.warnings.clone();
                let texts = (plan.before.as_str(), plan.after.as_str());
                view.settle(
                    plan.is_noop(),
                    texts,
                    (args.write.dry_run, None),
                    "restored",
                    || clients::restore::apply(&plan, &data),
                );
            }
        }
        views.push(view);
    }
    report(&views, json, "restore")
}

/// Whether `plan` puts its plain-text secrets back: as the flags say, else
/// as the person answers at the terminal. Without either, a file that would
/// get secrets back is refused (fail closed: no secret goes back unasked).
fn secrets_choice(
    plan: RestorePlan,
    args: &RestoreArgs,
    json: bool,
) -> gatehouse_engine::Result<RestorePlan> {
    if plan.secrets.is_empty() || args.with_secrets {
        return Ok(plan);
    }
    if args.without_secrets {
        return plan.without_secrets();
    }
    let names: Vec<String> = plan.secrets.iter().map(ToString::to_string).collect();
    if args.write.dry_run {
        let mut plan = plan;
        plan.warnings.push(format!(
            "this puts plain-text secrets back ({}); you will be asked first",
            names.join(", ")
        ));
        return Ok(plan);
    }
    let interactive = !json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(gatehouse_engine::Error::ClientConfig(format!(
            "restoring {} would write plain-text secrets back into it ({}); nothing was written. Pass --with-secrets to put them back, or --without-secrets to leave them empty (they stay in the keychain)",
            plan.path.display(),
            names.join(", ")
        )));
    }
    eprint!(
        "{}: restoring puts {} plain-text secret(s) back into the file: {}.\nThey stay in the keychain either way. Put them back in the file? [y/N] ",
        plan.path.display(),
        names.len(),
        names.join(", ")
    );
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| {
        gatehouse_engine::Error::ClientConfig(format!("cannot read the answer: {e}"))
    })?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(plan)
    } else {
        plan.without_secrets()
    }
}
