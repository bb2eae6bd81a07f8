//! Exporting the audit log: every record a filter matches, as JSON Lines or
//! CSV, streamed one record at a time from the database to the writer.
//! Arguments are already redacted in the store, so the export holds no more
//! than `audit list` shows.

use std::io::Write;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{AuditEntry, AuditFilter};
use crate::{Error, Store};

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ExportFormat {
    /// One JSON object per line, shaped like `audit list --json`'s entries.
    Jsonl,
    /// A header row, then one row per record (RFC 4180 quoting).
    Csv,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the records failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// Writing the export failed.
    #[error("could not write the audit export: {0}")]
    Write(#[from] std::io::Error),
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 16] = [
    "id",
    "time",
    "session",
    "client",
    "server",
    "method",
    "tool",
    "decision",
    "reason",
    "result_size",
    "is_error",
    "latency_us",
    "arguments",
    "rpc_error",
    "result",
    "result_hash",
];

impl Store {
    /// Writes every record `filter` matches (newest first; its `limit`, if
    /// not 0, caps them) to `out` as `format`. Returns how many it wrote.
    /// `out` should be buffered; it is flushed at the end.
    pub fn audit_write_export(
        &self,
        filter: &AuditFilter,
        format: ExportFormat,
        mut out: impl Write,
    ) -> Result<u64, ExportError> {
        let count = match format {
            ExportFormat::Jsonl => self.audit_export(filter, |entry| {
                serde_json::to_writer(&mut out, entry).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                Ok::<_, ExportError>(())
            })?,
            ExportFormat::Csv => {
                let mut line = String::new();
                write_row(&mut line, CSV_HEADER.iter().map(|h| Cell::Plain(h)));
                out.write_all(line.as_bytes())?;
                self.audit_export(filter, |entry| {
                    line.clear();
                    csv_row(&mut line, entry);
                    out.write_all(line.as_bytes())?;
                    Ok::<_, ExportError>(())
                })?
            }
        };
        out.flush()?;
        Ok(count)
    }
}

/// A CSV cell: numbers and Gatehouse's own words are written as they are;
/// text from clients and servers is guarded against spreadsheet formulas.
enum Cell<'a> {
    Plain(&'a str),
    Text(&'a str),
}

fn csv_row(line: &mut String, e: &AuditEntry) {
    let id = e.id.to_string();
    let size = e.result_size.map(|s| s.to_string()).unwrap_or_default();
    let is_error = e.is_error.map(|b| b.to_string()).unwrap_or_default();
    let latency = e.latency_us.to_string();
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    let arguments = json(&e.arguments).unwrap_or_default();
    let rpc_error = json(&e.rpc_error).unwrap_or_default();
    let result = json(&e.result).unwrap_or_default();
    write_row(
        line,
        [
            Cell::Plain(&id),
            Cell::Plain(&e.time),
            Cell::Text(&e.session),
            opt(&e.client),
            Cell::Text(&e.server),
            opt(&e.method),
            opt(&e.tool),
            Cell::Plain(e.decision.as_str()),
            opt(&e.reason),
            Cell::Plain(&size),
            Cell::Plain(&is_error),
            Cell::Plain(&latency),
            Cell::Text(&arguments),
            Cell::Text(&rpc_error),
            Cell::Text(&result),
            opt(&e.result_hash),
        ],
    );
}

/// An optional text as a cell; `None` is empty.
fn opt(v: &Option<String>) -> Cell<'_> {
    Cell::Text(v.as_deref().unwrap_or(""))
}

/// Appends one CSV row (ending in CRLF, per RFC 4180) to `line`.
fn write_row<'a>(line: &mut String, cells: impl IntoIterator<Item = Cell<'a>>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let (value, guard) = match cell {
            Cell::Plain(v) => (v, false),
            // A leading = + - @ (or tab/CR) makes spreadsheets evaluate the
            // cell; an apostrophe keeps it text (OWASP's advice).
            Cell::Text(v) => (v, v.starts_with(['=', '+', '-', '@', '\t', '\r'])),
        };
        let quote = guard || value.contains([',', '"', '\n', '\r']) || value.starts_with(' ');
        if quote {
            line.push('"');
        }
        if guard {
            line.push('\'');
        }
        if value.contains('"') {
            line.push_str(&value.replace('"', "\"\""));
        } else {
            line.push_str(value);
        }
        if quote {
            line.push('"');
        }
    }
    line.push_str("\r\n");
}
