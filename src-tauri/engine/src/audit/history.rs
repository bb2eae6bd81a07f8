//! What the History and Overview pages read besides pages of records: calls
//! per hour stacked by decision (the timeline above the History table), the
//! last 24 hours in numbers (the Overview's cards and top tools), and one
//! whole record (the History page's detail drawer).
//!
//! The timeline finds the ids its window spans through `audit_by_time` (no
//! table lookups), then counts the rows in that id range in SQL, by the
//! table's order or a filter's `(column, id)` index; it holds no more than
//! one bucket per hour in memory.

use rusqlite::types::Value;
use serde::Serialize;
use ts_rs::TS;

use super::{AuditDecision, AuditEntry, AuditFilter};
use crate::{Engine, Error, Result, Store, now_micros};

/// One hour, in microseconds: the width of a timeline bucket.
pub const HOUR_US: i64 = 3_600_000_000;

/// The most buckets one timeline holds (31 days of hours). A wider window
/// keeps its newest end.
pub const MAX_BUCKETS: i64 = 24 * 31;

/// How many tools the summary ranks.
pub const TOP_TOOLS: u32 = 5;

/// The window a timeline or summary covers when none is given: 24 hours.
const DEFAULT_WINDOW_US: i64 = 24 * HOUR_US;

/// Calls per hour over a time window, each hour split by decision.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Timeline {
    /// The first bucket's start (microseconds since the epoch, on the hour).
    pub since: i64,
    /// The end of the last bucket (exclusive).
    pub until: i64,
    /// Every hour of the window, oldest first, empty hours included.
    pub buckets: Vec<TimelineBucket>,
}

/// One hour of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TimelineBucket {
    /// The hour's start (microseconds since the epoch).
    pub start: i64,
    /// Calls forwarded without asking.
    pub allowed: u32,
    /// Calls forwarded after the person approved them.
    pub asked: u32,
    /// Calls Gatehouse refused.
    pub denied: u32,
    /// Calls that failed.
    pub error: u32,
}

impl TimelineBucket {
    /// Every call in the hour.
    pub fn total(&self) -> u32 {
        self.allowed + self.asked + self.denied + self.error
    }

    fn add(&mut self, decision: AuditDecision, count: u32) {
        match decision {
            AuditDecision::Allowed => self.allowed += count,
            AuditDecision::Asked => self.asked += count,
            AuditDecision::Denied => self.denied += count,
            AuditDecision::Error => self.error += count,
        }
    }
}

/// The last 24 hours, for the Overview page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AuditSummary {
    /// The window's start (microseconds since the epoch).
    pub since: i64,
    /// The window's end (exclusive): when the summary was made.
    pub until: i64,
    /// Tool calls in the window.
    pub calls: u32,
    /// Calls forwarded after the person approved them.
    pub asked: u32,
    /// Calls Gatehouse refused.
    pub denied: u32,
    /// Calls that failed.
    pub errors: u32,
    /// The most called tools, most first (at most [`TOP_TOOLS`]).
    pub top_tools: Vec<ToolCount>,
    /// Calls waiting for the person's approval now (0 where no app serves
    /// approvals).
    pub pending_approvals: u32,
}

/// How often one server's tool was called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ToolCount {
    /// The server's name.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// Calls in the window.
    pub count: u32,
}

/// Where the app saved an export (`audit_export`), and how many records it
/// holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AuditExported {
    /// The file written.
    pub path: String,
    /// Records in it.
    pub records: u64,
}

/// `filter`'s conditions other than time, the cursor and search text, as SQL
/// (` AND ...` clauses on `audit`) appended to `sql`, parameters to `args`.
fn where_columns(filter: &AuditFilter, sql: &mut String, args: &mut Vec<Value>) {
    // Names are stored as ids (schema v11); a name never recorded matches
    // nothing.
    let mut name = |column: &str, value: &str| {
        args.push(Value::Text(value.to_owned()));
        sql.push_str(&format!(
            " AND {column} = (SELECT id FROM audit_names WHERE name = ?{})",
            args.len()
        ));
    };
    if let Some(server) = &filter.server {
        name("server_id", server);
    }
    if let Some(tool) = &filter.tool {
        name("tool_id", tool);
    }
    if let Some(client) = &filter.client {
        name("client_id", client);
    }
    if let Some(decision) = filter.decision {
        args.push(Value::Text(decision.as_str().into()));
        sql.push_str(&format!(" AND decision = ?{}", args.len()));
    }
}

/// The hour-aligned window of a timeline: `filter`'s, or the 24 hours up to
/// the hour after `now`; at most [`MAX_BUCKETS`] hours, keeping the newest.
fn window(filter: &AuditFilter, now: i64) -> Result<(i64, i64)> {
    let until = filter.until.unwrap_or(now + 1);
    let until = until.div_euclid(HOUR_US) * HOUR_US + HOUR_US * i64::from(until % HOUR_US != 0);
    let since = filter.since.unwrap_or(until - DEFAULT_WINDOW_US);
    let since = since.div_euclid(HOUR_US) * HOUR_US;
    if since >= until {
        return Err(Error::InvalidSpec(
            "the timeline's window is empty: its start is not before its end".into(),
        ));
    }
    Ok((since.max(until - MAX_BUCKETS * HOUR_US), until))
}

impl Store {
    /// The lowest and highest id of the records in `[since, until)`, read
    /// from the time index alone (it holds each entry's id); `None` if the
    /// window is empty. Ids grow with time but not strictly (a spool
    /// imported late gets new ids for old times), so readers still check
    /// each record's time within this range.
    fn ids_between(&self, since: i64, until: i64) -> Result<Option<(i64, i64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT min(id), max(id) FROM audit INDEXED BY audit_by_time
             WHERE time >= ?1 AND time < ?2",
        )?;
        let range: (Option<i64>, Option<i64>) =
            stmt.query_row([since, until], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(match range {
            (Some(low), Some(high)) => Some((low, high)),
            _ => None,
        })
    }

    /// Calls per hour matching `filter` (server, tool, client, decision and
    /// search text; its cursor and limit are ignored), split by decision,
    /// over `filter`'s time window widened to whole hours, or the 24 hours
    /// up to `now` when it has none. At most [`MAX_BUCKETS`] hours: a wider
    /// window keeps its newest end.
    pub fn audit_timeline(&self, filter: &AuditFilter, now: i64) -> Result<Timeline> {
        let (since, until) = window(filter, now)?;
        let hours = ((until - since) / HOUR_US) as usize;
        let mut buckets: Vec<TimelineBucket> = (0..hours)
            .map(|h| TimelineBucket {
                start: since + h as i64 * HOUR_US,
                ..Default::default()
            })
            .collect();
        let Some((low, high)) = self.ids_between(since, until)? else {
            return Ok(Timeline {
                since,
                until,
                buckets,
            });
        };
        let mut args = vec![
            Value::Integer(HOUR_US),
            Value::Integer(since),
            Value::Integer(until),
            Value::Integer(low),
            Value::Integer(high),
        ];
        // Rows are read by id (the table's order, or the server's, tool's,
        // client's or decision's `(column, id)` index), within the ids the
        // window spans; `time + 0` keeps SQLite off the time index, whose
        // every entry would cost a lookup in the table.
        let mut sql = String::from(
            "SELECT (time - ?2) / ?1, decision FROM audit
             WHERE id BETWEEN ?4 AND ?5 AND time + 0 >= ?2 AND time + 0 < ?3",
        );
        where_columns(filter, &mut sql, &mut args);
        if let Some(text) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
            let query = super::query::fts_query(text).ok_or_else(|| {
                Error::InvalidSpec(format!(
                    "search text {text:?} has no words to look for (letters or digits)"
                ))
            })?;
            self.audit_index_text()?;
            args.push(Value::Text(query));
            // The rowid range keeps FTS5 to the window's part of each word's list.
            sql.push_str(&format!(
                " AND id IN (SELECT rowid FROM audit_fts WHERE audit_fts MATCH ?{}
                   AND rowid BETWEEN ?4 AND ?5)",
                args.len()
            ));
        }
        // Counted here rather than by GROUP BY, which would sort every row.
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        while let Some(row) = rows.next()? {
            let hour: i64 = row.get(0)?;
            let decision = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            let (Some(bucket), Some(decision)) = (
                usize::try_from(hour).ok().and_then(|h| buckets.get_mut(h)),
                AuditDecision::parse(decision),
            ) else {
                continue;
            };
            bucket.add(decision, 1);
        }
        Ok(Timeline {
            since,
            until,
            buckets,
        })
    }

    /// The 24 hours before `now`: tool calls (`tools/call` records; not the
    /// other requests a proxy records) by decision, and the [`TOP_TOOLS`]
    /// most called tools. `pending_approvals` is left 0 (the store does not
    /// know them; [`Engine::audit_summary`] fills it in).
    pub fn audit_summary(&self, now: i64) -> Result<AuditSummary> {
        let (since, until) = (now - DEFAULT_WINDOW_US, now);
        let mut counts = TimelineBucket::default();
        let mut top_tools = Vec::new();
        if let Some((low, high)) = self.ids_between(since, until)? {
            // Read like the timeline: the window's id range in table order.
            let mut stmt = self.conn().prepare_cached(
                "SELECT decision, count(*) FROM audit
                 WHERE id BETWEEN ?3 AND ?4 AND time + 0 >= ?1 AND time + 0 < ?2
                   AND method_id = (SELECT id FROM audit_names WHERE name = 'tools/call')
                 GROUP BY decision",
            )?;
            let mut rows = stmt.query([since, until, low, high])?;
            while let Some(row) = rows.next()? {
                let decision: String = row.get(0)?;
                let count: i64 = row.get(1)?;
                if let Some(decision) = AuditDecision::parse(&decision) {
                    counts.add(decision, u32::try_from(count).unwrap_or(u32::MAX));
                }
            }
            let mut stmt = self.conn().prepare_cached(
                "SELECT (SELECT name FROM audit_names WHERE id = g.server_id) AS server,
                        (SELECT name FROM audit_names WHERE id = g.tool_id) AS tool, g.n
                 FROM (SELECT server_id, tool_id, count(*) AS n FROM audit
                       WHERE id BETWEEN ?3 AND ?4 AND time + 0 >= ?1 AND time + 0 < ?2
                         AND method_id = (SELECT id FROM audit_names WHERE name = 'tools/call')
                         AND tool_id IS NOT NULL
                       GROUP BY server_id, tool_id) AS g
                 ORDER BY g.n DESC, server, tool LIMIT ?5",
            )?;
            top_tools = stmt
                .query_map(rusqlite::params![since, until, low, high, TOP_TOOLS], |r| {
                    Ok(ToolCount {
                        server: r.get(0)?,
                        tool: r.get(1)?,
                        count: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(u32::MAX),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
        }
        Ok(AuditSummary {
            since,
            until,
            calls: counts.total(),
            asked: counts.asked,
            denied: counts.denied,
            errors: counts.error,
            top_tools,
            pending_approvals: 0,
        })
    }

    /// The record with this id, whole (as redacted as stored), or `None`.
    pub fn audit_get(&self, id: i64) -> Result<Option<AuditEntry>> {
        // The newest record below `id + 1`: a primary-key step, and the
        // same reading (columns, JSON) as the History table's pages.
        let page = self.audit_search(&AuditFilter {
            before: Some(id.saturating_add(1)),
            limit: 1,
            ..Default::default()
        })?;
        Ok(page.entries.into_iter().next().filter(|e| e.id == id))
    }
}

impl Engine {
    /// The History page's timeline: calls per hour matching `filter`, by
    /// decision, over its time window (the last 24 hours by default).
    pub fn audit_timeline(&self, filter: AuditFilter) -> Result<Timeline> {
        self.store().audit_timeline(&filter, now_micros())
    }

    /// The Overview page's last 24 hours: calls, denials, errors, the top
    /// tools and the calls waiting for approval.
    pub fn audit_summary(&self) -> Result<AuditSummary> {
        let mut summary = self.store().audit_summary(now_micros())?;
        summary.pending_approvals = self.approvals_pending().map_or(0, |pending| {
            u32::try_from(pending.len()).unwrap_or(u32::MAX)
        });
        Ok(summary)
    }

    /// One whole record, for the History page's detail drawer; `None` if
    /// there is no record with this id (or retention removed it).
    pub fn audit_get(&self, id: i64) -> Result<Option<AuditEntry>> {
        self.store().audit_get(id)
    }
}

#[cfg(test)]
mod tests;
