//! `gatehouse registry search|show|install`: the official MCP Registry and
//! the vetting report shown before anything is installed.
//!
//! `show` exits 0 when the version is installable as it stands (status
//! active, and a package whose ownership checks out with an exact version
//! and a checksum), 1 otherwise, after printing the report.

use gatehouse_engine::registry::{
    PackageReport, RegistryEntry, Status, VetOutcome, VettingReport, block_on, split_name_version,
};

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
        RegistryCommand::Show { name } => show(&name, json),
        RegistryCommand::Install { .. } => super::not_yet("registry install"),
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

fn show(spec: &str, json: bool) -> anyhow::Result<()> {
    let (name, version) = split_name_version(spec);
    let engine = super::engine()?;
    let report = engine.registry_vet(name.to_string(), version.map(String::from))?;
    if json {
        output::json(&report)?;
    } else {
        print_report(&report);
    }
    let clean = report.installable() && report.packages.iter().any(PackageReport::clean);
    if !clean {
        std::process::exit(1);
    }
    Ok(())
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
