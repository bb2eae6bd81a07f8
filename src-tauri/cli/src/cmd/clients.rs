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

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use gatehouse_engine::audit::redact::REDACTED;
use gatehouse_engine::clients::{
    self, Client, ClientConfig, ConfigSource, Entry, Finding, FindingRule,
};
use serde::Serialize;

use gatehouse_engine::clients::restore::RestorePlan;

use crate::cli::{
    ClientWriteArgs, ClientsCommand, ConnectArgs, ConnectVia, ProjectArgs, RestoreArgs,
};
use crate::output;

pub fn run(cmd: ClientsCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ClientsCommand::List(projects) => list(&projects, json),
        ClientsCommand::Import(args) => import(&args, json),
        ClientsCommand::Connect(args) => connect(args, json),
        ClientsCommand::Restore(args) => restore(args, json),
    }
}

/// The home directory whose client configs are listed.
fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE").filter(|h| !h.is_empty()))
        .map(PathBuf::from)
        .context("cannot find the home directory: HOME is not set")
}

/// The client configs under `home`, in the projects Claude Code knows and
/// those given, and system-wide.
fn discover(home: &Path, projects: &ProjectArgs) -> anyhow::Result<Vec<ClientConfig>> {
    Ok(clients::discover_in(home, &projects.projects)?)
}

/// One config file, as `clients list --json` shows it.
#[derive(Serialize)]
struct ClientView<'a> {
    client: Client,
    display_name: &'static str,
    path: &'a Path,
    source: &'a ConfigSource,
    error: Option<&'a str>,
    /// About the file as a whole (Goose's `secrets.yaml` beside it).
    findings: &'a [Finding],
    servers: Vec<ServerView<'a>>,
}

/// One server entry, without secret values.
#[derive(Serialize)]
struct ServerView<'a> {
    name: &'a str,
    scope: Option<&'a str>,
    routed: bool,
    routed_to: Option<&'a str>,
    transport: &'a str,
    disabled: bool,
    command: Option<&'a str>,
    args: Vec<&'a str>,
    url: Option<&'a str>,
    env_keys: Vec<&'a str>,
    env_refs: &'a [String],
    header_names: Vec<&'a str>,
    findings: &'a [Finding],
}

fn is_secret_field(entry: &Entry, field: &str) -> bool {
    entry
        .findings
        .iter()
        .any(|f| f.rule == FindingRule::PlaintextSecret && f.field.as_deref() == Some(field))
}

impl<'a> ServerView<'a> {
    fn new(entry: &'a Entry) -> Self {
        let args = entry
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if is_secret_field(entry, &format!("args.{i}")) {
                    REDACTED
                } else {
                    a.as_str()
                }
            })
            .collect();
        let url = entry.url.as_deref().map(|u| {
            if is_secret_field(entry, "url") {
                REDACTED
            } else {
                u
            }
        });
        Self {
            name: &entry.name,
            scope: entry.scope.as_deref(),
            routed: entry.routed(),
            routed_to: entry.routed_to(),
            transport: &entry.transport,
            disabled: entry.disabled,
            command: entry.command.as_deref(),
            args,
            url,
            env_keys: entry.env.keys().map(String::as_str).collect(),
            env_refs: &entry.env_refs,
            header_names: entry.headers.keys().map(String::as_str).collect(),
            findings: &entry.findings,
        }
    }

    /// What the entry launches or connects to, on one line.
    fn target(&self) -> String {
        match (self.command, self.url) {
            (Some(command), _) => {
                let mut line = command.to_string();
                for arg in &self.args {
                    line.push(' ');
                    line.push_str(arg);
                }
                line
            }
            (None, Some(url)) => url.to_string(),
            (None, None) => "(provided by the client)".into(),
        }
    }
}

fn view(config: &ClientConfig) -> ClientView<'_> {
    ClientView {
        client: config.client,
        display_name: config.client.display_name(),
        path: &config.path,
        source: &config.source,
        error: config.error.as_deref(),
        findings: &config.findings,
        servers: config.servers.iter().map(ServerView::new).collect(),
    }
}

fn list(projects: &ProjectArgs, json: bool) -> anyhow::Result<()> {
    let home = home()?;
    let configs = discover(&home, projects)?;
    let views: Vec<ClientView<'_>> = configs.iter().map(view).collect();
    if json {
        return output::json(&views);
    }
    if views.is_empty() {
        println!(
            "no MCP client configs found under {}; looked for {}",
            home.display(),
            Client::ALL.map(Client::display_name).join(", ")
        );
        return Ok(());
    }
    for (i, client) in views.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let whose = match client.source {
            ConfigSource::User => String::new(),
            ConfigSource::Project { dir } => format!("  (project {})", dir.display()),
            ConfigSource::System => "  (system-wide, read-only)".into(),
        };
        println!("{}  {}{whose}", client.display_name, client.path.display());
        if let Some(error) = client.error {
            println!("  error: {error}");
            continue;
        }
        for finding in client.findings {
            println!("  ! {}", finding.message);
        }
        if client.servers.is_empty() {
            println!("  no servers");
            continue;
        }
        let rows: Vec<Vec<String>> = client
            .servers
            .iter()
            .map(|s| {
                let mut name = s.name.to_string();
                if let Some(scope) = s.scope {
                    name.push_str(&format!(" [{scope}]"));
                }
                let mut kinds: Vec<&str> = s.findings.iter().map(|f| short(f.rule)).collect();
                kinds.dedup();
                vec![
                    name,
                    if s.routed { "yes" } else { "no" }.into(),
                    if s.disabled {
                        format!("{} (disabled)", s.transport)
                    } else {
                        s.transport.to_string()
                    },
                    s.target(),
                    kinds.join(", "),
                ]
            })
            .collect();
        output::table(
            &["SERVER", "ROUTED", "TRANSPORT", "TARGET", "FINDINGS"],
            &rows,
        )?;
        for server in &client.servers {
            for finding in server.findings {
                println!("  ! {}: {}", server.name, finding.message);
            }
        }
    }
    Ok(())
}

fn short(rule: FindingRule) -> &'static str {
    match rule {
        FindingRule::PlaintextSecret => "secret",
        FindingRule::UnpinnedPackage => "unpinned",
        FindingRule::Duplicate => "duplicate",
    }
}

/// The discovered configs `target` names: one client, or all.
fn targeted(target: &crate::cli::ClientTarget) -> anyhow::Result<Vec<ClientConfig>> {
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

fn import(args: &crate::cli::ImportArgs, json: bool) -> anyhow::Result<()> {
    let configs = targeted(&args.target)?;
    for config in &configs {
        if let Some(error) = &config.error {
            eprintln!("gatehouse: skipped {}: {error}", config.path.display());
        }
    }
    let engine = super::engine()?;
    let report = clients::import::import(&engine, &configs)?;
    if args.pin_review {
        for item in &report {
            if item.outcome == clients::import::Outcome::Added {
                engine.pins_set_mode(
                    Some(item.server.clone()),
                    Some(gatehouse_engine::pins::PinMode::ReviewFirst),
                )?;
            }
        }
    }
    if json {
        output::json(&report)?;
    } else {
        print_import(&report);
    }
    if report
        .iter()
        .any(|i| matches!(i.outcome, clients::import::Outcome::Skipped { .. }))
    {
        anyhow::bail!("some servers were not imported: see the reasons above");
    }
    Ok(())
}

fn print_import(report: &[clients::import::Imported]) {
    if report.is_empty() {
        println!("no servers to import (entries already routed through Gatehouse are left out)");
    }
    for item in report {
        let from: Vec<&str> = item
            .sources
            .iter()
            .map(|s| s.client.display_name())
            .collect();
        let what = match &item.outcome {
            clients::import::Outcome::Added => "added",
            clients::import::Outcome::AlreadyRegistered => "already registered",
            clients::import::Outcome::Skipped { .. } => "skipped",
        };
        println!("{what}: {} (from {})", item.server, from.join(", "));
        if let clients::import::Outcome::Skipped { reason } = &item.outcome {
            println!("  {reason}");
        }
        if !item.secrets_moved.is_empty() {
            println!(
                "  moved to the OS keychain: {}",
                item.secrets_moved.join(", ")
            );
        }
        for key in &item.secrets_needed {
            println!(
                "  {key} is filled in by the client; give Gatehouse its value: gatehouse secret set {} {key}",
                item.server
            );
        }
    }
}

// ---- connect and restore ----------------------------------------------------

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

fn connect(args: ConnectArgs, json: bool) -> anyhow::Result<()> {
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
    let engine = super::engine()?;
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

fn restore(args: RestoreArgs, json: bool) -> anyhow::Result<()> {
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
