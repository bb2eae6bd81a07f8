//! `gatehouse audit list`.

use anyhow::{Context, bail};
use gatehouse_engine::audit::{AuditDecision, AuditFilter};
use gatehouse_engine::parse_rfc3339;

use crate::cli::{AuditCommand, AuditFilter as Args};
use crate::output;

pub fn run(cmd: AuditCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::List(args) => list(args, json),
        AuditCommand::Verify => super::not_yet("audit verify"),
        AuditCommand::Export { .. } => super::not_yet("audit export"),
    }
}

fn list(args: Args, json: bool) -> anyhow::Result<()> {
    let decision = match args.decision.as_deref() {
        None => None,
        Some(d) => Some(AuditDecision::parse(d).with_context(|| {
            format!("unknown decision {d:?}: use allowed, denied, asked or error")
        })?),
    };
    let since = match args.since.as_deref() {
        None => None,
        Some(t) => Some(parse_rfc3339(t).with_context(|| {
            format!("--since {t:?} is not an RFC 3339 time, e.g. 2026-11-21T10:00:00Z")
        })?),
    };
    if args.limit == 0 {
        bail!("--limit must be at least 1");
    }
    let filter = AuditFilter {
        server: args.server,
        tool: args.tool,
        decision,
        since,
        limit: args.limit,
    };
    let engine = super::engine()?;
    let mut store = engine.store();
    // Include what proxies that died left in their spools.
    if let Err(e) = gatehouse_engine::audit::recover_spools(engine.data_dir(), &mut store) {
        eprintln!("gatehouse: could not import the audit spools of stopped proxies: {e}");
    }
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
