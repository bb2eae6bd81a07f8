//! `gatehouse audit list` and `gatehouse audit export`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use gatehouse_engine::audit::{AuditDecision, AuditFilter, ExportFormat};
use gatehouse_engine::{Engine, parse_rfc3339};

use crate::cli::{AuditCommand, AuditFilter as Args, ExportFormat as Format};
use crate::output;

pub fn run(cmd: AuditCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::List { filter, limit } => list(filter, limit, json),
        AuditCommand::Verify => super::audit_chain::verify(json),
        AuditCommand::Retention {
            days,
            max_mb,
            preview_bytes,
        } => super::audit_chain::retention(days, max_mb, preview_bytes, json),
        AuditCommand::Prune => super::audit_chain::prune(json),
        AuditCommand::Export {
            format,
            out,
            filter,
            limit,
        } => export(filter, limit, format, out),
    }
}

/// The engine's filter from the command line's flags.
fn filter(args: Args, limit: u32) -> anyhow::Result<AuditFilter> {
    let decision = match args.decision.as_deref() {
        None => None,
        Some(d) => Some(AuditDecision::parse(d).with_context(|| {
            format!("unknown decision {d:?}: use allowed, denied, asked or error")
        })?),
    };
    let time = |flag: &str, value: Option<String>| -> anyhow::Result<Option<i64>> {
        value
            .map(|t| {
                parse_rfc3339(&t).with_context(|| {
                    format!("--{flag} {t:?} is not an RFC 3339 time, e.g. 2026-11-21T10:00:00Z")
                })
            })
            .transpose()
    };
    Ok(AuditFilter {
        server: args.server,
        tool: args.tool,
        client: args.client,
        decision,
        since: time("since", args.since)?,
        until: time("until", args.until)?,
        search: args.search,
        before: None,
        limit,
    })
}

/// The engine, with what proxies that died left in their spools imported.
fn engine_with_spools() -> anyhow::Result<Engine> {
    let engine = super::engine()?;
    let mut store = engine.store();
    if let Err(e) = gatehouse_engine::audit::recover_spools(engine.data_dir(), &mut store) {
        eprintln!("gatehouse: could not import the audit spools of stopped proxies: {e}");
    }
    drop(store);
    Ok(engine)
}

fn export(
    args: Args,
    limit: Option<u32>,
    format: Format,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    if limit == Some(0) {
        bail!("--limit must be at least 1");
    }
    let filter = filter(args, limit.unwrap_or(0))?;
    let format = match format {
        Format::Jsonl => ExportFormat::Jsonl,
        Format::Csv => ExportFormat::Csv,
    };
    let engine = engine_with_spools()?;
    let store = engine.store();
    match out {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let count = store
                .audit_write_export(&filter, format, std::io::BufWriter::new(file))
                .with_context(|| format!("exporting to {}", path.display()))?;
            eprintln!(
                "gatehouse: exported {count} audit records to {}",
                path.display()
            );
        }
        None => {
            let stdout = std::io::stdout().lock();
            store.audit_write_export(&filter, format, std::io::BufWriter::new(stdout))?;
        }
    }
    Ok(())
}

fn list(args: Args, limit: u32, json: bool) -> anyhow::Result<()> {
    if limit == 0 {
        bail!("--limit must be at least 1");
    }
    let filter = filter(args, limit)?;
    let engine = engine_with_spools()?;
    let store = engine.store();
    let entries = store.audit_list(&filter)?;
    if json {
        return output::json(&entries);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.id.to_string(),
                e.time.clone(),
                e.client.clone().unwrap_or_default(),
                e.server.clone(),
                e.method.clone().unwrap_or_default(),
                e.tool.clone().unwrap_or_default(),
                e.decision.as_str().to_string(),
                format!("{}µs", e.latency_us),
            ]
        })
        .collect();
    output::table(
        &[
            "ID", "TIME", "CLIENT", "SERVER", "METHOD", "TOOL", "DECISION", "LATENCY",
        ],
        &rows,
    )
}
