//! Reading the audit log back, newest first: filters, full-text search over
//! the redacted arguments, reasons and errors (the `audit_fts` FTS5 index),
//! keyset pages, and streaming export.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::AuditDecision;
use crate::{Engine, Error, Result, Store, rfc3339};

/// The most records one page may hold.
pub const MAX_PAGE: u32 = 1000;

/// Which records to return. Every filter that is set must match. Records
/// come newest first (by id), so a page continues where the previous one
/// ended by passing its [`AuditPage::next`] as `before`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct AuditFilter {
    /// Only this server.
    pub server: Option<String>,
    /// Only this tool.
    pub tool: Option<String>,
    /// Only this client.
    pub client: Option<String>,
    /// Only this decision.
    pub decision: Option<AuditDecision>,
    /// Only records at or after this time (microseconds since the epoch).
    pub since: Option<i64>,
    /// Only records before this time (microseconds since the epoch).
    pub until: Option<i64>,
    /// Only records whose arguments, reason, JSON-RPC error or result contain every
    /// word of this text (the last word may be the start of a word).
    pub search: Option<String>,
    /// The keyset cursor: only records with a smaller id.
    pub before: Option<i64>,
    /// At most this many; 0 means no limit (export only).
    pub limit: u32,
}

/// One page of records and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AuditPage {
    /// The records, newest first.
    pub entries: Vec<AuditEntry>,
    /// The `before` of the next (older) page; `None` on the last page.
    pub next: Option<i64>,
}

/// One record as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditEntry {
    /// Monotonic record id.
    pub id: i64,
    /// When the request arrived (RFC 3339).
    pub time: String,
    /// The proxy session that saw it.
    pub session: String,
    /// The client's name, if it gave one.
    pub client: Option<String>,
    /// The server's name.
    pub server: String,
    /// The JSON-RPC method.
    pub method: Option<String>,
    /// The tool, for tool calls.
    pub tool: Option<String>,
    /// The arguments, redacted.
    #[ts(type = "unknown")]
    pub arguments: Option<serde_json::Value>,
    /// What happened.
    pub decision: AuditDecision,
    /// Why Gatehouse refused or failed.
    pub reason: Option<String>,
    /// Response size in bytes.
    pub result_size: Option<i64>,
    /// `isError` of a tool result.
    pub is_error: Option<bool>,
    /// The JSON-RPC error, if any.
    #[ts(type = "unknown")]
    pub rpc_error: Option<serde_json::Value>,
    /// Request to response, in microseconds.
    pub latency_us: i64,
    /// When `arguments` is only a preview: the full arguments' size in
    /// bytes.
    pub arguments_size: Option<i64>,
    /// When `arguments` is only a preview: the full arguments' SHA-256, in
    /// hex.
    pub arguments_hash: Option<String>,
    /// A tool call's result, redacted: the whole result, or (when
    /// `result_hash` is set) a string holding its first bytes.
    #[ts(type = "unknown")]
    pub result: Option<serde_json::Value>,
    /// When `result` is only a preview: the full result's SHA-256, in hex
    /// (its size is `result_size`).
    pub result_hash: Option<String>,
}

/// The columns of an entry, names looked up by id (schema v11): for a page
/// of 100, five index lookups each, far cheaper than the text would be to
/// store on every record.
const COLUMNS: &str = "a.id, a.time,
    (SELECT name FROM audit_sessions WHERE id = a.session_id),
    (SELECT name FROM audit_names WHERE id = a.client_id),
    (SELECT name FROM audit_names WHERE id = a.server_id),
    (SELECT name FROM audit_names WHERE id = a.method_id),
    (SELECT name FROM audit_names WHERE id = a.tool_id),
    a.arguments, a.decision, a.reason, a.result_size, a.is_error, a.rpc_error, a.latency_us,
    a.arguments_size, a.arguments_hash, a.result, a.result_hash";

/// Turns the user's search text into an FTS5 query: each word quoted (so
/// FTS5 syntax in it is taken literally) and all required; the last one
/// also matches as a prefix, for search-as-you-type. `None` if the text has
/// nothing the index could hold (no letters or digits).
pub(super) fn fts_query(text: &str) -> Option<String> {
    // The index keeps no positions (`detail = column`), so no phrases: the
    // text is cut where the tokenizer cuts it (anything not a letter or a
    // digit), and each piece is required.
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = String::with_capacity(text.len() + 4 * words.len());
    for word in rest {
        query.push('"');
        query.push_str(&word.replace('"', "\"\""));
        query.push_str("\" ");
    }
    query.push('"');
    query.push_str(&last.replace('"', "\"\""));
    query.push_str("\"*");
    Some(query)
}

/// A time window with at most this many records is read through the time
/// index and sorted; a wider one by walking ids down from the newest.
const SMALL_WINDOW: i64 = 4096;

/// Whether `filter` has a time window narrow enough to read through
/// `audit_by_time` (a probe that counts at most [`SMALL_WINDOW`] index
/// entries). Without this, SQLite would take the time index for any
/// two-sided window and sort all of it, however wide.
fn small_window(conn: &rusqlite::Connection, filter: &AuditFilter) -> Result<bool> {
    let (Some(since), Some(until)) = (filter.since, filter.until) else {
        return Ok(false);
    };
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM (SELECT 1 FROM audit INDEXED BY audit_by_time
             WHERE time >= ?1 AND time < ?2 LIMIT ?3)",
        rusqlite::params![since, until, SMALL_WINDOW],
        |r| r.get(0),
    )?;
    Ok(count < SMALL_WINDOW)
}

/// The SELECT for `filter`, newest first, with its parameters.
fn select(
    conn: &rusqlite::Connection,
    filter: &AuditFilter,
    limit: Option<u32>,
) -> Result<(String, Vec<Value>)> {
    let mut args: Vec<Value> = Vec::new();
    let mut sql = format!("SELECT {COLUMNS} ");
    let order;
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let time_index = search.is_none() && small_window(conn, filter)?;
    match search {
        Some(text) => {
            let query = fts_query(text).ok_or_else(|| {
                Error::InvalidSpec(format!(
                    "search text {text:?} has no words to look for (letters or digits)"
                ))
            })?;
            // The index drives the loop, in descending rowid order, so the
            // newest matches come first without sorting them all.
            sql.push_str(
                "FROM audit_fts CROSS JOIN audit AS a ON a.id = audit_fts.rowid
                 WHERE audit_fts MATCH ?1",
            );
            args.push(Value::Text(query));
            order = " ORDER BY audit_fts.rowid DESC";
            if let Some(before) = filter.before {
                args.push(Value::Integer(before));
                sql.push_str(&format!(" AND audit_fts.rowid < ?{}", args.len()));
            }
        }
        None if time_index => {
            sql.push_str("FROM audit AS a INDEXED BY audit_by_time WHERE 1 = 1");
            order = " ORDER BY a.id DESC";
            if let Some(before) = filter.before {
                args.push(Value::Integer(before));
                sql.push_str(&format!(" AND a.id < ?{}", args.len()));
            }
        }
        None => {
            sql.push_str("FROM audit AS a WHERE 1 = 1");
            order = " ORDER BY a.id DESC";
            if let Some(before) = filter.before {
                args.push(Value::Integer(before));
                sql.push_str(&format!(" AND a.id < ?{}", args.len()));
            }
        }
    }
    let mut clause = |sql_part: &str, value: Value, then: &str| {
        args.push(value);
        sql.push_str(&format!(" AND a.{sql_part} ?{}{then}", args.len()));
    };
    // A name filter compares ids; a name never recorded matches nothing.
    let id_of = "(SELECT id FROM audit_names WHERE name =";
    if let Some(server) = &filter.server {
        clause(
            &format!("server_id = {id_of}"),
            Value::Text(server.clone()),
            ")",
        );
    }
    if let Some(tool) = &filter.tool {
        clause(
            &format!("tool_id = {id_of}"),
            Value::Text(tool.clone()),
            ")",
        );
    }
    if let Some(client) = &filter.client {
        clause(
            &format!("client_id = {id_of}"),
            Value::Text(client.clone()),
            ")",
        );
    }
    if let Some(decision) = filter.decision {
        // For any but 'allowed', the condition of the partial index
        // `audit_by_decision`, said outright so SQLite sees it applies.
        let then = match decision {
            AuditDecision::Allowed => "",
            _ => " AND a.decision <> 'allowed'",
        };
        clause("decision =", Value::Text(decision.as_str().into()), then);
    }
    // Unless the time index was chosen above, `+ 0` keeps SQLite from it.
    let time = if time_index { "time" } else { "time + 0" };
    if let Some(since) = filter.since {
        clause(&format!("{time} >="), Value::Integer(since), "");
    }
    if let Some(until) = filter.until {
        clause(&format!("{time} <"), Value::Integer(until), "");
    }
    sql.push_str(order);
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Ok((sql, args))
}

/// One row of [`select`] as an entry.
fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let json = |idx: usize| -> rusqlite::Result<Option<serde_json::Value>> {
        Ok(r.get::<_, Option<String>>(idx)?
            .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))))
    };
    let decision: String = r.get(8)?;
    Ok(AuditEntry {
        id: r.get(0)?,
        time: rfc3339(r.get(1)?),
        session: r.get(2)?,
        client: r.get(3)?,
        server: r.get(4)?,
        method: r.get(5)?,
        tool: r.get(6)?,
        arguments: json(7)?,
        decision: AuditDecision::parse(&decision).unwrap_or(AuditDecision::Error),
        reason: r.get(9)?,
        result_size: r.get(10)?,
        is_error: r.get(11)?,
        rpc_error: json(12)?,
        latency_us: r.get(13)?,
        arguments_size: r.get(14)?,
        arguments_hash: r.get::<_, Option<Vec<u8>>>(15)?.map(hex),
        result: json(16)?,
        result_hash: r.get::<_, Option<Vec<u8>>>(17)?.map(hex),
    })
}

/// Lowercase hex of `bytes`.
fn hex(bytes: Vec<u8>) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Whether `filter` searches text (and so needs the index current).
fn searches(filter: &AuditFilter) -> bool {
    filter
        .search
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty())
}

impl Store {
    /// Brings the full-text index up to the newest record: the records
    /// written since the last search are indexed in one immediate
    /// transaction (so two processes never index a record twice). Searches
    /// call it; the app may call it in the background so a search finds the
    /// index current. Returns how many records it indexed.
    pub fn audit_index_text(&self) -> Result<u64> {
        self.audit_index_text_some(i64::MAX)
    }

    /// Like [`Store::audit_index_text`], but indexes at most `max` records,
    /// the oldest first, so a background task never holds the write lock
    /// long (proxies' writers wait on it). Returns how many it indexed: 0
    /// once the index is current.
    pub fn audit_index_text_some(&self, max: i64) -> Result<u64> {
        let conn = self.conn();
        // Most calls find nothing new: find out without the write lock.
        let current: bool = conn.query_row(
            "SELECT (SELECT indexed_to FROM audit_fts_state)
                 >= (SELECT coalesce(max(id), 0) FROM audit)",
            [],
            |r| r.get(0),
        )?;
        if current {
            return Ok(0);
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let indexed = (|| -> Result<u64> {
            let from: i64 =
                conn.query_row("SELECT indexed_to FROM audit_fts_state", [], |r| r.get(0))?;
            let newest: i64 =
                conn.query_row("SELECT coalesce(max(id), 0) FROM audit", [], |r| r.get(0))?;
            let to = newest.min(from.saturating_add(max.max(1)));
            if to <= from {
                return Ok(0);
            }
            let added = conn.execute(
                "INSERT INTO audit_fts (rowid, arguments, reason, rpc_error, result)
                 SELECT id, arguments, reason, rpc_error, result FROM audit
                 WHERE id > ?1 AND id <= ?2",
                [from, to],
            )?;
            conn.execute("UPDATE audit_fts_state SET indexed_to = ?1", [to])?;
            Ok(added as u64)
        })();
        match indexed {
            Ok(n) => {
                conn.execute_batch("COMMIT")?;
                Ok(n)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Audit records matching `filter`, newest first, at most `filter.limit`
    /// (0: all of them).
    pub fn audit_list(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        if searches(filter) {
            self.audit_index_text()?;
        }
        let limit = (filter.limit > 0).then_some(filter.limit);
        let (sql, args) = select(self.conn(), filter, limit)?;
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), entry)?;
        rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
    }

    /// One page of records matching `filter`: at most `filter.limit`
    /// (1 to [`MAX_PAGE`]) records with ids below `filter.before`, newest
    /// first, and the cursor of the next page. Records added meanwhile have
    /// larger ids, so paging on never repeats or skips one.
    pub fn audit_search(&self, filter: &AuditFilter) -> Result<AuditPage> {
        if filter.limit == 0 || filter.limit > MAX_PAGE {
            return Err(Error::InvalidSpec(format!(
                "a page holds 1 to {MAX_PAGE} audit records, not {}",
                filter.limit
            )));
        }
        if searches(filter) {
            self.audit_index_text()?;
        }
        // One more than asked tells whether another page follows.
        let (sql, args) = select(self.conn(), filter, Some(filter.limit + 1))?;
        let mut stmt = self.conn().prepare(&sql)?;
        let mut entries = stmt
            .query_map(rusqlite::params_from_iter(args), entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let next = if entries.len() > filter.limit as usize {
            entries.truncate(filter.limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }

    /// Calls `each` with every record matching `filter` (ignoring its limit
    /// unless set), newest first, one row at a time, so an export of millions
    /// of records needs no more memory than one. Stops at the first error
    /// `each` returns. Returns how many records it passed on.
    pub fn audit_export<E>(
        &self,
        filter: &AuditFilter,
        mut each: impl FnMut(&AuditEntry) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E>
    where
        E: From<Error>,
    {
        if searches(filter) {
            self.audit_index_text()?;
        }
        let limit = (filter.limit > 0).then_some(filter.limit);
        let (sql, args) = select(self.conn(), filter, limit)?;
        let mut stmt = self.conn().prepare(&sql).map_err(Error::from)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args))
            .map_err(Error::from)?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(Error::from)? {
            each(&entry(row).map_err(Error::from)?)?;
            count += 1;
        }
        Ok(count)
    }
}

impl Engine {
    /// One page of the audit history for the History page: the records
    /// `filter` matches, newest first, and the cursor of the next page.
    pub fn audit_search(&self, filter: AuditFilter) -> Result<AuditPage> {
        self.store().audit_search(&filter)
    }
}

#[cfg(test)]
mod tests;
