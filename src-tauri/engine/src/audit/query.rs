//! Reading the audit log back, newest first.

use rusqlite::types::Value;
use serde::Serialize;
use ts_rs::TS;

use super::AuditDecision;
use crate::{Error, Result, Store, rfc3339};

/// Which records to return.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this server.
    pub server: Option<String>,
    /// Only this tool.
    pub tool: Option<String>,
    /// Only this decision.
    pub decision: Option<AuditDecision>,
    /// Only records at or after this time (microseconds since the epoch).
    pub since: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// One record as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
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

impl Store {
    /// Audit records matching `filter`, newest first.
    pub fn audit_list(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from(
            "SELECT id, time, session, client, server, method, tool, arguments, decision, reason,
                    result_size, is_error, rpc_error, latency_us FROM audit WHERE 1 = 1",
        );
        let mut args: Vec<Value> = Vec::new();
        let mut clause = |sql_part: &str, value: Value| {
            args.push(value);
            sql.push_str(&format!(" AND {sql_part} ?{}", args.len()));
        };
        if let Some(server) = &filter.server {
            clause("server =", Value::Text(server.clone()));
        }
        if let Some(tool) = &filter.tool {
            clause("tool =", Value::Text(tool.clone()));
        }
        if let Some(decision) = filter.decision {
            clause("decision =", Value::Text(decision.as_str().into()));
        }
        if let Some(since) = filter.since {
            clause("time >=", Value::Integer(since));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", filter.limit));
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            let json = |idx: usize| -> rusqlite::Result<Option<serde_json::Value>> {
                Ok(r.get::<_, Option<String>>(idx)?.map(|text| {
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
                }))
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
        })?;
        rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
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
