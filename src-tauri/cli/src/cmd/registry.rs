//! `gatehouse registry search|show|install`: the official MCP Registry and
//! the vetting report shown before anything is installed.
//!
//! `show` exits 0 when the version is installable as it stands (status
//! active, and a package whose ownership checks out with an exact version
//! and a checksum), 1 otherwise, after printing the report. With
//! `--dry-start` it then launches the vetted package unregistered, prints
//! its tools with the scanner's findings (`--json`: the report's fields
//! and `dry_start`), and exits 1 also when a tool is flagged.
//!
//! `install` takes the values of `--secret KEY` from a prompt without echo
//! at a terminal, or as `KEY=VALUE` lines on stdin otherwise; they go to
//! the OS keychain and nowhere else.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use anyhow::{Context, bail};
use gatehouse_engine::registry::{
    DryStart, InstallOptions, InstallPhase, PackageReport, RegistryEntry, Status, VetOutcome,
    VettingReport, block_on, split_name_version,
};

use gatehouse_engine::scan::flagged;

use crate::cli::RegistryCommand;
use crate::output;

/// At most this many pages are read for one search.
const MAX_PAGES: usize = 20;

pub fn run(cmd: RegistryCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        RegistryCommand::Search {
            query,
            all_versions,
        } => search(&query, all_versions, json),
        RegistryCommand::Show {
            name,
            dry_start,
            timeout,
        } => show(&name, dry_start.then(|| Duration::from_secs(timeout)), json),
        RegistryCommand::Install {
            name,
            local_name,
            confirm_mismatch,
            allow_deprecated,
            secrets,
        } => {
            let secrets = read_secrets(&name, &secrets)?;
            let options = InstallOptions {
                local_name,
                confirm_mismatch,
                allow_deprecated,
                secrets,
            };
            install(&name, options, json)
        }
    }
}

fn search(query: &str, all_versions: bool, json: bool) -> anyhow::Result<()> {
    let engine = super::engine()?;
    let client = engine.registry_client()?;
    let version = (!all_versions).then_some("latest");
    let entries = block_on(client.search_all(query, version, MAX_PAGES))??;
    if json {
        return output::json(&entries);
    }
    if entries.is_empty() {
        println!(
            "No server in {} matches {query:?}.",
            client.config().registry_url
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
    output::table(&["NAME", "VERSION", "STATUS", "DESCRIPTION"], &rows)
}

fn row(e: &RegistryEntry) -> Vec<String> {
    let mut description: String = e.server.description.chars().take(60).collect();
    if e.server.description.chars().count() > 60 {
        description.push('…');
    }
    vec![
        e.server.name.clone(),
        e.server.version.clone(),
        e.status.as_str().to_string(),
        description,
    ]
}

fn show(spec: &str, dry_start: Option<Duration>, json: bool) -> anyhow::Result<()> {
    let (name, version) = split_name_version(spec);
    let engine = super::engine()?;
    let report = engine.registry_vet(name.to_string(), version.map(String::from))?;
    let mut clean = report.installable() && report.packages.iter().any(PackageReport::clean);
    match dry_start {
        None if json => output::json(&report)?,
        None => print_report(&report),
        Some(timeout) => {
            if !json {
                print_report(&report);
                println!("\nDry start (not registered, no secrets):");
            }
            // The exact version the report vetted, not a newer `latest`.
            let dry = engine.registry_dry_start_within(
                report.name.clone(),
                Some(report.version.clone()),
                timeout,
            )?;
            if json {
                let mut value = serde_json::to_value(&report)?;
                value["dry_start"] = serde_json::to_value(&dry)?;
                output::json(&value)?;
            } else {
                print_dry_start(&report, &dry);
            }
            clean &= !dry.tools.iter().any(|t| flagged(&t.findings))
                && !flagged(&dry.instruction_findings);
        }
    }
    if !clean {
        std::process::exit(1);
    }
    Ok(())
}

/// The dry start's tools and instructions with their findings, as `gatehouse
/// scan` prints them.
fn print_dry_start(report: &VettingReport, dry: &DryStart) {
    let what = format!("{} {}", report.name, report.version);
    super::scan::print_scans(&dry.tools, None, &what);
    if !dry.instruction_findings.is_empty() {
        println!("instructions:");
        super::scan::print_findings(&dry.instruction_findings);
    }
}

fn install(spec: &str, options: InstallOptions, json: bool) -> anyhow::Result<()> {
    let (name, version) = split_name_version(spec);
    let engine = super::engine()?;
    let installed = engine.registry_install_with(
        name.to_string(),
        version.map(String::from),
        options,
        |phase| {
            if !json {
                eprintln!("{}", phase_text(phase));
            }
        },
    )?;
    if json {
        return output::json(&installed);
    }
    println!(
        "Installed {name} as '{}': {} {}@{}, tree {}",
        installed.server.name,
        installed.package.kind.as_str(),
        installed.package.identifier,
        installed.package.version,
        &installed.tree_hash[..installed.tree_hash.len().min(16)],
    );
    println!(
        "Run it with `gatehouse run {}`; connect your clients with `gatehouse clients connect`.",
        installed.server.name
    );
    Ok(())
}

pub(super) fn phase_text(phase: InstallPhase) -> &'static str {
    match phase {
        InstallPhase::Vetting => "vetting…",
        InstallPhase::Downloading => "downloading…",
        InstallPhase::Verifying => "verifying the checksum…",
        InstallPhase::Installing => "installing into the cache…",
        InstallPhase::Hashing => "hashing the installed files…",
        InstallPhase::Registering => "registering and pinning…",
    }
}

/// The values of `keys`: prompted without echo at a terminal, otherwise read
/// as `KEY=VALUE` lines from stdin (every key once, no other key).
pub(super) fn read_secrets(server: &str, keys: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    for (i, key) in keys.iter().enumerate() {
        gatehouse_engine::validate_env_key(key)?;
        if keys[..i].contains(key) {
            bail!("--secret {key} is given twice");
        }
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return keys
            .iter()
            .map(|key| {
                let value = rpassword::prompt_password(format!("{key} for {server}: "))
                    .context("could not read the value from the terminal")?;
                if value.is_empty() {
                    bail!("the value of {key} is empty");
                }
                Ok((key.clone(), value))
            })
            .collect();
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .context("could not read KEY=VALUE lines from stdin (it must be UTF-8)")?;
    parse_secret_lines(&text, keys)
}

/// `KEY=VALUE` lines for exactly `keys`; blank lines are skipped. A value is
/// never echoed in an error.
fn parse_secret_lines(text: &str, keys: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut values: Vec<(String, String)> = Vec::with_capacity(keys.len());
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("stdin line {} is not KEY=VALUE", n + 1);
        };
        if !keys.iter().any(|k| k == key) {
            bail!(
                "stdin line {} sets {key:?}, which no --secret names; refusing to store it",
                n + 1
            );
        }
        if values.iter().any(|(k, _)| k == key) {
            bail!("stdin sets {key} twice");
        }
        if value.is_empty() {
            bail!("the value of {key} on stdin is empty");
        }
        values.push((key.to_string(), value.to_string()));
    }
    if let Some(missing) = keys.iter().find(|k| !values.iter().any(|(v, _)| v == *k)) {
        bail!(
            "no value for {missing}: with no terminal, give each --secret as a KEY=VALUE line on stdin"
        );
    }
    Ok(values)
}

fn mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

fn print_report(r: &VettingReport) {
    let title = r
        .title
        .as_deref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    println!("{}@{}{title}", r.name, r.version);
    if !r.description.is_empty() {
        println!("  {}", r.description);
    }
    let status_line = match r.status {
        Status::Active => "status: active".to_string(),
        s => format!(
            "status: {}{}: not installable without --allow-deprecated",
            s.as_str(),
            r.status_message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ),
    };
    println!("{} {status_line}", mark(r.installable()));
    println!(
        "{} {}",
        mark(r.namespace.kind != gatehouse_engine::registry::NamespaceKind::Unknown),
        r.namespace.explanation
    );
    if let Some(repo) = &r.repository {
        println!("  repository: {}", repo.url);
    }
    if let Some(site) = &r.website_url {
        println!("  website: {site}");
    }
    for p in &r.packages {
        println!();
        println!(
            "package {} {}{}",
            p.registry_type,
            p.identifier,
            p.version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default()
        );
        println!(
            "  {} version: {}",
            mark(p.version_check.outcome.is_ok()),
            p.version_check.explanation
        );
        let owned = p.ownership.outcome.is_ok();
        println!("  {} ownership: {}", mark(owned), p.ownership.explanation);
        if matches!(
            p.ownership.outcome,
            VetOutcome::Mismatch { .. } | VetOutcome::Missing
        ) && p.spec.is_some()
        {
            println!("    installing it needs --confirm-mismatch");
        }
        match &p.checksum {
            Some(sum) => println!(
                "  ✓ checksum: {} ({})",
                serde_json::to_value(sum)
                    .ok()
                    .and_then(|v| v.get("value").and_then(|v| v.as_str()).map(String::from))
                    .unwrap_or_default(),
                p.checksum_note
            ),
            None => println!("  ✗ {}", p.checksum_note),
        }
        if let Some(t) = &p.transport {
            println!(
                "  transport: {}{}",
                t.kind,
                t.url
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default()
            );
        }
        for e in &p.environment_variables {
            let mut flags = Vec::new();
            if e.is_secret {
                flags.push("secret, kept in the OS keychain");
            }
            if e.is_required {
                flags.push("required");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!(" ({})", flags.join(", "))
            };
            let about = e
                .description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            println!("  env {}{flags}{about}", e.name);
        }
    }
    for remote in &r.remotes {
        println!();
        println!("remote {} {}", remote.kind, remote.url);
    }
    println!();
    match (&r.publisher_error, r.publisher_servers.is_empty()) {
        (Some(e), _) => println!("publisher's other servers: could not list them: {e}"),
        (None, true) => println!("publisher's other servers: none"),
        (None, false) => println!(
            "publisher's other servers: {}",
            r.publisher_servers.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secret_lines_give_each_named_key_once() {
        let v = parse_secret_lines("A=1\r\n\nB=x=y\n", &keys(&["A", "B"])).unwrap();
        assert_eq!(v, [("A".into(), "1".into()), ("B".into(), "x=y".into())]);
    }

    #[test]
    fn secret_lines_refuse_unnamed_missing_or_repeated_keys_without_echoing_values() {
        let err = parse_secret_lines("A=1\nC=hunter2\n", &keys(&["A"])).unwrap_err();
        assert!(err.to_string().contains("\"C\""), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = parse_secret_lines("A=1\n", &keys(&["A", "B"])).unwrap_err();
        assert!(err.to_string().contains("no value for B"), "{err}");
        let err = parse_secret_lines("A=1\nA=2\n", &keys(&["A"])).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        let err = parse_secret_lines("hunter2\n", &keys(&["A"])).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
