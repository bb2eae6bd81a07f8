//! `gatehouse scan`: the poisoning scanner on a file of tools or on a
//! registered server's last seen tools.
//!
//! Exit codes: 0 when no tool is flagged (low findings may be shown), 1 when
//! at least one tool is flagged (a finding of medium severity or more, the
//! report printed first) or on an error, 2 on a usage error. Scripts tell a
//! flagged scan from an error by stdout: a report is printed only for the
//! former.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::Context;
use gatehouse_engine::scan::{Finding, ToolScan, flagged, scan_tools};
use serde::Serialize;
use serde_json::Value;

use crate::cli::ScanArgs;
use crate::output;

/// The `scan --json` shape of the CLI contract.
#[derive(Serialize)]
struct Report<'a> {
    tools: &'a [ToolScan],
}

pub fn run(args: ScanArgs, json: bool) -> anyhow::Result<()> {
    let (scans, sources) = match (&args.file, &args.name) {
        (Some(file), _) => {
            let list = read_list(file)?;
            let scans = scan_tools(&list);
            (scans, Some(list))
        }
        (None, Some(name)) => {
            let engine = super::engine()?;
            let scans = engine.scan_server(name.clone())?;
            let tools = engine.store().tools(name)?;
            (scans, Some(Value::Array(tools.into_values().collect())))
        }
        (None, None) => anyhow::bail!("give a server NAME or --file FILE"),
    };
    if json {
        output::json(&Report { tools: &scans })?;
    } else {
        print_human(&scans, sources.as_ref(), &args);
    }
    if scans.iter().any(|s| flagged(&s.findings)) {
        std::process::exit(1);
    }
    Ok(())
}

/// Reads a `tools/list` result, a JSON-RPC response carrying one, or an
/// array of tools from `path` (`-` for stdin).
fn read_list(path: &Path) -> anyhow::Result<Value> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the tools from stdin")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let list = match value {
        Value::Object(mut o) if o.contains_key("result") && !o.contains_key("tools") => {
            o.remove("result").unwrap_or(Value::Null)
        }
        v => v,
    };
    let ok = list.is_array() || list.get("tools").is_some_and(Value::is_array);
    anyhow::ensure!(
        ok,
        "{} holds neither a tools/list result ({{\"tools\": [...]}}) nor an array of tools",
        path.display()
    );
    Ok(list)
}

/// The tool definitions by name, to show findings inside their field text.
fn definition<'a>(sources: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    let list = sources?;
    let tools = list.as_array().or_else(|| list.get("tools")?.as_array())?;
    tools
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
}

fn print_human(scans: &[ToolScan], sources: Option<&Value>, args: &ScanArgs) {
    let what = match (&args.file, &args.name) {
        (Some(file), _) => file.display().to_string(),
        (None, Some(name)) => name.clone(),
        _ => String::new(),
    };
    print_scans(scans, sources, &what);
}

/// Each tool with its risk and findings, then a summary line naming
/// `what` was scanned. `sources` (the tool definitions) lets a finding be
/// shown inside its field.
pub(crate) fn print_scans(scans: &[ToolScan], sources: Option<&Value>, what: &str) {
    let color = use_color();
    let flagged_count = scans.iter().filter(|s| flagged(&s.findings)).count();
    for scan in scans {
        if scan.findings.is_empty() {
            println!("{}  {}  no findings", scan.name, scan.risk.as_str());
            continue;
        }
        println!(
            "{}  {}  {} finding{}",
            scan.name,
            scan.risk.as_str(),
            scan.findings.len(),
            if scan.findings.len() == 1 { "" } else { "s" }
        );
        let tool = definition(sources, &scan.name);
        for f in &scan.findings {
            print_finding(f, tool, color);
        }
    }
    println!(
        "\n{what}: {} tool{}, {flagged_count} flagged",
        scans.len(),
        if scans.len() == 1 { "" } else { "s" }
    );
}

/// Findings outside any tool (a server's instructions), as spans alone.
pub(crate) fn print_findings(findings: &[Finding]) {
    let color = use_color();
    for f in findings {
        print_finding(f, None, color);
    }
}

fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// One finding: rule, severity and reason, then the line of its field that
/// holds the span with `^^^` under the span (or the span alone when the
/// field's text is not at hand).
fn print_finding(f: &Finding, tool: Option<&Value>, color: bool) {
    let field = if f.span.field.is_empty() {
        "instructions"
    } else {
        &f.span.field
    };
    println!(
        "  {} {:<20} {}  ({field} {}..{})",
        f.severity.as_str(),
        f.rule.as_str(),
        f.message,
        f.span.start,
        f.span.end
    );
    let text = tool
        .and_then(|t| t.pointer(&f.span.field))
        .and_then(Value::as_str)
        .filter(|t| {
            f.span.end <= t.len()
                && t.is_char_boundary(f.span.start)
                && t.is_char_boundary(f.span.end)
        });
    let Some(text) = text else {
        println!("      {}", f.span.text);
        return;
    };
    let line_start = text[..f.span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[f.span.end..]
        .find('\n')
        .map_or(text.len(), |i| f.span.end + i);
    let before = gatehouse_engine::scan::visible(&text[line_start..f.span.start]);
    let inside = gatehouse_engine::scan::visible(&text[f.span.start..f.span.end]);
    let after = gatehouse_engine::scan::visible(&text[f.span.end..line_end]);
    let (before, after) = (clip_left(&before, 60), clip_right(&after, 60));
    if color {
        println!("      {before}\x1b[1;31m{inside}\x1b[0m{after}");
    } else {
        println!("      {before}{inside}{after}");
    }
    let pad = before.chars().count();
    let width = inside.chars().count().max(1);
    println!("      {}{}", " ".repeat(pad), "^".repeat(width));
}

/// The last `n` characters of `s`, with `…` if cut.
fn clip_left(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.to_string();
    }
    let mut out = String::from("…");
    out.extend(s.chars().skip(count - n));
    out
}

/// The first `n` characters of `s`, with `…` if cut.
fn clip_right(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n).collect();
    out.push('…');
    out
}
