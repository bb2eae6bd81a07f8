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
    /// Only records whose arguments, reason or JSON-RPC error contain every
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
}

const COLUMNS: &str = "a.id, a.time, a.session, a.client, a.server, a.method, a.tool, a.arguments,
    a.decision, a.reason, a.result_size, a.is_error, a.rpc_error, a.latency_us";

/// Turns the user's search text into an FTS5 query: each word quoted (so
/// FTS5 syntax in it is taken literally) and all required; the last one
/// also matches as a prefix, for search-as-you-type. `None` if the text has
/// nothing the index could hold (no letters or digits).
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
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
    let mut clause = |sql_part: &str, value: Value| {
        args.push(value);
        sql.push_str(&format!(" AND a.{sql_part} ?{}", args.len()));
    };
    if let Some(server) = &filter.server {
        clause("server =", Value::Text(server.clone()));
    }
    if let Some(tool) = &filter.tool {
        clause("tool =", Value::Text(tool.clone()));
    }
    if let Some(client) = &filter.client {
        clause("client =", Value::Text(client.clone()));
    }
    if let Some(decision) = filter.decision {
        clause("decision =", Value::Text(decision.as_str().into()));
    }
    // Unless the time index was chosen above, `+ 0` keeps SQLite from it.
    let time = if time_index { "time" } else { "time + 0" };
    if let Some(since) = filter.since {
        clause(&format!("{time} >="), Value::Integer(since));
    }
    if let Some(until) = filter.until {
        clause(&format!("{time} <"), Value::Integer(until));
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
        let conn = self.conn();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let indexed = (|| -> Result<u64> {
            let from: i64 =
                conn.query_row("SELECT indexed_to FROM audit_fts_state", [], |r| r.get(0))?;
            let to: i64 =
                conn.query_row("SELECT coalesce(max(id), 0) FROM audit", [], |r| r.get(0))?;
            if to <= from {
                return Ok(0);
            }
            let added = conn.execute(
                "INSERT INTO audit_fts (rowid, arguments, reason, rpc_error)
                 SELECT id, arguments, reason, rpc_error FROM audit WHERE id > ?1 AND id <= ?2",
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
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::DataDir;
    use crate::audit::{AuditRecord, AuditWriter};

    fn record(server: &str, tool: &str, decision: AuditDecision, time: i64) -> AuditRecord {
        AuditRecord {
            time,
            session: Arc::from("s1"),
            client: Some(Arc::from("test-client")),
            server: Arc::from(server),
            method: Some("tools/call".into()),
            tool: Some(tool.into()),
            arguments: Some(r#"{"path":"/tmp/x"}"#.into()),
            decision,
            reason: None,
            result_size: Some(42),
            is_error: Some(false),
            rpc_error: None,
            latency_us: 17,
            seq: None,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn appended_records_are_committed_and_filterable_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        let store = Store::open(&dir).unwrap();
        let writer = AuditWriter::spawn(&dir.database(), Some(Default::default())).unwrap();
        writer
            .append(record("fs", "read", AuditDecision::Allowed, 1_000))
            .await
            .unwrap();
        writer
            .append(record("fs", "delete", AuditDecision::Denied, 2_000))
            .await
            .unwrap();
        writer
            .append(record("web", "fetch", AuditDecision::Allowed, 3_000))
            .await
            .unwrap();

        let all = store
            .audit_list(&AuditFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            all.iter()
                .map(|e| e.tool.as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["fetch", "delete", "read"]
        );
        assert_eq!(
            all[0].arguments,
            Some(serde_json::json!({"path": "/tmp/x"}))
        );
        assert_eq!(all[0].time, "1970-01-01T00:00:00.003000Z");

        let fs = AuditFilter {
            server: Some("fs".into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(store.audit_list(&fs).unwrap().len(), 2);
        let denied = AuditFilter {
            decision: Some(AuditDecision::Denied),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            store.audit_list(&denied).unwrap()[0].tool.as_deref(),
            Some("delete")
        );
        let since = AuditFilter {
            since: Some(2_000),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(store.audit_list(&since).unwrap().len(), 2);
        let one = AuditFilter {
            limit: 1,
            ..Default::default()
        };
        assert_eq!(store.audit_list(&one).unwrap().len(), 1);
    }

    /// A store with `records` appended in order (ids 1, 2, ...).
    async fn store_with(records: Vec<AuditRecord>) -> (tempfile::TempDir, Store, AuditWriter) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        let store = Store::open(&dir).unwrap();
        let writer = AuditWriter::spawn(&dir.database(), Some(Default::default())).unwrap();
        for r in records {
            writer.append(r).await.unwrap();
        }
        (tmp, store, writer)
    }

    fn tools(entries: &[AuditEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.tool.as_deref().unwrap()).collect()
    }

    fn page(filter: AuditFilter) -> AuditFilter {
        AuditFilter {
            limit: 50,
            ..filter
        }
    }

    #[test]
    fn the_bundled_sqlite_has_fts5() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5 (body)")
            .expect("SQLite is built with FTS5");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_filter_narrows_the_records() {
        let mut web = record("web", "fetch", AuditDecision::Error, 3_000);
        web.client = Some(Arc::from("other-client"));
        let (_tmp, store, _w) = store_with(vec![
            record("fs", "read", AuditDecision::Allowed, 1_000),
            record("fs", "delete", AuditDecision::Denied, 2_000),
            web,
            record("fs", "write", AuditDecision::Asked, 4_000),
        ])
        .await;
        let found = |filter: AuditFilter| {
            tools(&store.audit_search(&page(filter)).unwrap().entries)
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let server = found(AuditFilter {
            server: Some("web".into()),
            ..Default::default()
        });
        assert_eq!(server, ["fetch"]);
        let tool = found(AuditFilter {
            tool: Some("delete".into()),
            ..Default::default()
        });
        assert_eq!(tool, ["delete"]);
        let client = found(AuditFilter {
            client: Some("test-client".into()),
            ..Default::default()
        });
        assert_eq!(client, ["write", "delete", "read"]);
        let decision = found(AuditFilter {
            decision: Some(AuditDecision::Asked),
            ..Default::default()
        });
        assert_eq!(decision, ["write"]);
        let since = found(AuditFilter {
            since: Some(3_000),
            ..Default::default()
        });
        assert_eq!(since, ["write", "fetch"]);
        let until = found(AuditFilter {
            until: Some(3_000),
            ..Default::default()
        });
        assert_eq!(until, ["delete", "read"], "until is exclusive");
        let range = found(AuditFilter {
            since: Some(2_000),
            until: Some(4_000),
            ..Default::default()
        });
        assert_eq!(range, ["fetch", "delete"]);
        let both = found(AuditFilter {
            server: Some("fs".into()),
            decision: Some(AuditDecision::Allowed),
            ..Default::default()
        });
        assert_eq!(both, ["read"]);
        let none = found(AuditFilter {
            server: Some("nope".into()),
            ..Default::default()
        });
        assert!(none.is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn full_text_search_finds_words_in_arguments_reasons_and_errors() {
        let mut report = record("fs", "read", AuditDecision::Allowed, 1_000);
        report.arguments = Some(r#"{"path":"/home/ann/quarterly-report.pdf"}"#.into());
        let mut refused = record("fs", "delete", AuditDecision::Denied, 2_000);
        refused.reason = Some("argument rule: path outside the workspace".into());
        let mut failed = record("web", "fetch", AuditDecision::Error, 3_000);
        failed.rpc_error =
            Some(r#"{"code":-32000,"message":"upstream said 429 Too Many Requests"}"#.into());
        let (_tmp, store, _w) = store_with(vec![
            report,
            refused,
            failed,
            record("fs", "list", AuditDecision::Allowed, 4_000),
        ])
        .await;
        let search = |text: &str, server: Option<&str>| {
            let filter = page(AuditFilter {
                search: Some(text.into()),
                server: server.map(String::from),
                ..Default::default()
            });
            tools(&store.audit_search(&filter).unwrap().entries)
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(search("quarterly", None), ["read"]);
        assert_eq!(
            search("ann quarterly-report", None),
            ["read"],
            "a phrase, words all required"
        );
        assert_eq!(
            search("quart", None),
            ["read"],
            "the last word matches as a prefix"
        );
        assert!(search("ann missing", None).is_empty());
        assert_eq!(
            search("WORKSPACE", None),
            ["delete"],
            "case does not matter"
        );
        assert_eq!(search("429 requests", None), ["fetch"]);
        // Every record has /tmp/x except the rewritten ones; newest first.
        assert_eq!(search("tmp", None), ["list", "fetch", "delete"]);
        assert_eq!(
            search("tmp", Some("fs")),
            ["list", "delete"],
            "filters apply too"
        );
        // FTS5 syntax in the text is taken literally, not as a query.
        assert!(search("NOT OR \"* (", None).is_empty());
        let err = store
            .audit_search(&page(AuditFilter {
                search: Some("*** /".into()),
                ..Default::default()
            }))
            .unwrap_err();
        assert!(err.to_string().contains("no words"), "{err}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_index_follows_deleted_and_edited_records() {
        let mut secretish = record("fs", "read", AuditDecision::Allowed, 1_000);
        secretish.arguments = Some(r#"{"path":"/srv/alpha"}"#.into());
        let (tmp, store, _w) = store_with(vec![secretish]).await;
        let search = |text: &str| {
            store
                .audit_search(&page(AuditFilter {
                    search: Some(text.into()),
                    ..Default::default()
                }))
                .unwrap()
                .entries
                .len()
        };
        assert_eq!(search("alpha"), 1);
        let conn = rusqlite::Connection::open(DataDir::at(tmp.path()).unwrap().database()).unwrap();
        conn.execute(r#"UPDATE audit SET arguments = '{"path":"/srv/beta"}'"#, [])
            .unwrap();
        assert_eq!((search("alpha"), search("beta")), (0, 1));
        conn.execute("DELETE FROM audit", []).unwrap();
        assert_eq!(search("beta"), 0);
        // The index holds no stale rows: an integrity check passes.
        conn.execute(
            "INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_index_catches_up_on_search_and_skips_rows_deleted_before() {
        let mut first = record("fs", "read", AuditDecision::Allowed, 1_000);
        first.arguments = Some(r#"{"path":"/srv/gamma"}"#.into());
        let mut second = record("fs", "read", AuditDecision::Allowed, 2_000);
        second.arguments = Some(r#"{"path":"/srv/delta"}"#.into());
        let (tmp, store, _w) = store_with(vec![first, second]).await;
        let conn = rusqlite::Connection::open(DataDir::at(tmp.path()).unwrap().database()).unwrap();
        let indexed_to = || -> i64 {
            conn.query_row("SELECT indexed_to FROM audit_fts_state", [], |r| r.get(0))
                .unwrap()
        };
        // Written, not yet indexed: the writer no longer tokenises.
        assert_eq!(indexed_to(), 0);
        // A record deleted before it was indexed leaves the index alone.
        conn.execute("DELETE FROM audit WHERE arguments LIKE '%delta%'", [])
            .unwrap();
        let found = store
            .audit_search(&page(AuditFilter {
                search: Some("gamma".into()),
                ..Default::default()
            }))
            .unwrap();
        assert_eq!(found.entries.len(), 1);
        assert!(indexed_to() > 0);
        assert_eq!(store.audit_index_text().unwrap(), 0, "nothing new to index");
        conn.execute(
            "INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn keyset_pages_return_every_record_once_while_records_arrive() {
        let records: Vec<AuditRecord> = (0..95)
            .map(|i| {
                let decision = if i % 3 == 0 {
                    AuditDecision::Denied
                } else {
                    AuditDecision::Allowed
                };
                record("fs", &format!("t{i}"), decision, 1_000 + i)
            })
            .collect();
        let (_tmp, store, writer) = store_with(records).await;
        for (filter, expected) in [
            (AuditFilter::default(), 95),
            (
                AuditFilter {
                    decision: Some(AuditDecision::Denied),
                    ..Default::default()
                },
                32,
            ),
            (
                AuditFilter {
                    search: Some("tmp".into()),
                    ..Default::default()
                },
                95,
            ),
        ] {
            let snapshot: Vec<i64> = store
                .audit_list(&filter)
                .unwrap()
                .iter()
                .map(|e| e.id)
                .collect();
            let mut seen = Vec::new();
            let mut filter = AuditFilter {
                limit: 10,
                ..filter
            };
            let mut pages = 0;
            loop {
                let page = store.audit_search(&filter).unwrap();
                pages += 1;
                assert!(page.entries.len() <= 10);
                seen.extend(page.entries.iter().map(|e| e.id));
                // New records arrive between pages; they are newer than the
                // cursor and must not shift what the next page returns. (They
                // match only the first filter, which has passed by then.)
                let mut late = record("fs", "late", AuditDecision::Allowed, 9_000);
                late.arguments = Some(r#"{"path":"/late"}"#.into());
                writer.append(late).await.unwrap();
                match page.next {
                    Some(next) => filter.before = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen.len(), expected, "{filter:?}");
            assert_eq!(seen, snapshot, "every record once, newest first");
            assert!(
                seen.windows(2).all(|w| w[0] > w[1]),
                "newest first, no repeats"
            );
            assert_eq!(pages, expected.div_ceil(10), "no empty trailing page");
        }
        let err = store.audit_search(&AuditFilter::default()).unwrap_err();
        assert!(err.to_string().contains("1 to 1000"), "{err}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn narrow_and_wide_time_windows_page_alike() {
        // More records than SMALL_WINDOW, so wide windows take the other plan.
        let n = SMALL_WINDOW + 200;
        let (_tmp, store, writer) = store_with(Vec::new()).await;
        let mut last = None;
        for i in 0..n {
            let decision = if i % 7 == 0 {
                AuditDecision::Denied
            } else {
                AuditDecision::Allowed
            };
            last = Some(writer.submit(record("fs", "t", decision, i * 10)));
        }
        AuditWriter::committed(last.unwrap()).await.unwrap();
        let all = store.audit_list(&AuditFilter::default()).unwrap();
        assert_eq!(all.len() as i64, n);
        for (since, until) in [(100, 400), (0, n * 10), (500, (n - 10) * 10)] {
            for decision in [None, Some(AuditDecision::Denied)] {
                let filter = AuditFilter {
                    since: Some(since),
                    until: Some(until),
                    decision,
                    limit: 100,
                    ..Default::default()
                };
                let expected: Vec<i64> = all
                    .iter()
                    .filter(|e| {
                        let t = crate::parse_rfc3339(&e.time).unwrap();
                        t >= since && t < until && decision.is_none_or(|d| e.decision == d)
                    })
                    .map(|e| e.id)
                    .collect();
                let mut seen = Vec::new();
                let mut filter = filter;
                loop {
                    let page = store.audit_search(&filter).unwrap();
                    seen.extend(page.entries.iter().map(|e| e.id));
                    match page.next {
                        Some(next) => filter.before = Some(next),
                        None => break,
                    }
                }
                assert_eq!(seen, expected, "{since}..{until} {decision:?}");
            }
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn exports_stream_every_matching_record() {
        let mut odd = record("fs", "=cmd", AuditDecision::Denied, 2_000);
        odd.reason = Some("said \"no\", twice\nthen left".into());
        let (_tmp, store, _w) = store_with(vec![
            record("fs", "read", AuditDecision::Allowed, 1_000),
            odd,
            record("web", "fetch", AuditDecision::Allowed, 3_000),
        ])
        .await;
        let fs = AuditFilter {
            server: Some("fs".into()),
            ..Default::default()
        };

        let mut jsonl = Vec::new();
        let count = store
            .audit_write_export(&fs, super::super::ExportFormat::Jsonl, &mut jsonl)
            .unwrap();
        assert_eq!(count, 2);
        let lines: Vec<AuditEntry> = String::from_utf8(jsonl)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, store.audit_list(&fs).unwrap());

        let mut csv = Vec::new();
        store
            .audit_write_export(&fs, super::super::ExportFormat::Csv, &mut csv)
            .unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let mut rows = csv.split("\r\n");
        assert_eq!(rows.next().unwrap(), super::super::CSV_HEADER.join(","));
        let second = rows.next().unwrap();
        assert!(
            second.starts_with("2,1970-01-01T00:00:00.002000Z,s1,test-client,fs,tools/call,\"'=cmd\",denied,\"said \"\"no\"\", twice\nthen left\",42,false,17,\"{\"\"path\"\":\"\"/tmp/x\"\"}\","),
            "{second}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_locked_database_fails_the_append_instead_of_dropping_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        let mut blocker = Store::open(&dir).unwrap();
        let writer = AuditWriter::spawn(&dir.database(), Some(Default::default())).unwrap();
        // Another process holds the write lock for longer than the busy timeout.
        let conn = blocker.conn_mut();
        conn.busy_timeout(std::time::Duration::from_millis(1))
            .unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let err = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            writer.append(record("fs", "read", AuditDecision::Allowed, 1)),
        )
        .await
        .expect("the writer gives up after its busy timeout")
        .unwrap_err()
        .to_string();
        assert!(err.contains("could not write its audit log"), "{err}");
        assert!(err.contains("locked"), "{err}");
        conn.execute_batch("ROLLBACK").unwrap();
    }
}
