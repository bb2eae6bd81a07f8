//! `gatehouse audit verify`, `audit retention` and `audit prune`: the
//! tamper-evident chain and what is kept of it.

use anyhow::bail;
use gatehouse_engine::{DataDir, Store, now_micros};

use crate::output;

/// Opens the database alone: none of these verbs needs the keychain.
fn store() -> anyhow::Result<Store> {
    Ok(Store::open(&DataDir::from_env()?)?)
}

/// Walks the chain; exits 1 (after printing the report with `--json`) if
/// it is broken. Read-only: spools of stopped proxies are not imported.
pub fn verify(json: bool) -> anyhow::Result<()> {
    let report = store()?.audit_verify()?;
    if json {
        output::json(&report)?;
        if !report.intact() {
            std::process::exit(1);
        }
        return Ok(());
    }
    if let Some(broken) = &report.broken {
        bail!(
            "the audit log has been tampered with: {broken} ({} records before it are intact)",
            report.records
        );
    }
    let mut line = format!("The audit log is intact: {} records", report.records);
    if let (Some(first), Some(last)) = (report.first_id, report.last_id) {
        line.push_str(&format!(" (ids {first} to {last})"));
    }
    if report.pruned > 0 {
        line.push_str(&format!(
            ", after {} older records removed by retention",
            report.pruned
        ));
    }
    println!("{line}.");
    Ok(())
}

/// Sets whichever of the values is given, then shows them all.
pub fn retention(
    days: Option<u32>,
    max_mb: Option<u64>,
    preview_bytes: Option<usize>,
    json: bool,
) -> anyhow::Result<()> {
    let mut store = store()?;
    let mut retention = store.audit_retention()?;
    if days.is_some() || max_mb.is_some() || preview_bytes.is_some() {
        if let Some(days) = days {
            retention.days = (days > 0).then_some(days);
        }
        if let Some(max_mb) = max_mb {
            retention.max_mb = (max_mb > 0).then_some(max_mb);
        }
        if let Some(bytes) = preview_bytes {
            retention.preview_bytes = bytes; // the store refuses one too short
        }
        store.set_audit_retention(&retention)?;
    }
    if json {
        return output::json(&retention);
    }
    let days = retention
        .days
        .map_or("forever".to_string(), |d| format!("{d} days"));
    let size = retention
        .max_mb
        .map_or("no cap".to_string(), |m| format!("{m} MiB"));
    println!("Keep:           {days}");
    println!("Size cap:       {size}");
    println!("Preview bytes:  {}", retention.preview_bytes);
    Ok(())
}

/// Applies retention now.
pub fn prune(json: bool) -> anyhow::Result<()> {
    let report = store()?.audit_prune(now_micros())?;
    if json {
        return output::json(&report);
    }
    match report.anchor_id {
        Some(anchor) => println!(
            "Deleted {} audit records (up to id {anchor}); the chain is anchored there.",
            report.deleted
        ),
        None => println!("Nothing to delete."),
    }
    Ok(())
}
