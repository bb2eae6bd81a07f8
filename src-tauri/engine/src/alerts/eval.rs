//! Evaluating the rules: a cursor over the audit log, in id order, with the
//! rules' state stored beside it (`alert_state`) in the same transaction as
//! the alerts a pass raises.

use rusqlite::{Connection, TransactionBehavior, params};

use super::quiet::local_offset;
use super::rules::{Pass, Row, State};
use super::{Alert, AlertRule, DenialBurst, QuietHours};
use crate::{Result, Store, now_micros};

/// Records evaluated per transaction, so a large backlog does not hold the
/// write lock for long.
const CHUNK: i64 = 5_000;
/// A session with no record for this long (by the records' times) is
/// forgotten: its streaks end.
const SESSION_IDLE_MICROS: i64 = 24 * 3600 * 1_000_000;

/// What a pass needs besides the records.
pub(super) struct Config {
    pub muted: Vec<AlertRule>,
    pub quiet: Option<QuietHours>,
    pub burst: DenialBurst,
    /// The local time zone's offset (seconds east of UTC) at a UTC time in
    /// seconds.
    pub offset: fn(i64) -> i64,
}

impl Store {
    /// Evaluates the alert rules over the records written since the last
    /// pass and stores the alerts they raise (muted rules raise none);
    /// returns the new alerts, oldest first. Safe to call from several
    /// processes at once: each record is evaluated once.
    pub fn alerts_evaluate(&mut self) -> Result<Vec<Alert>> {
        let config = Config {
            muted: self.alerts_muted()?,
            quiet: self.alerts_quiet_hours()?,
            burst: self.alerts_denial_burst()?,
            offset: local_offset,
        };
        self.alerts_evaluate_with(&config)
    }

    /// [`Store::alerts_evaluate`] with a given configuration (tests fix
    /// the time zone).
    pub(super) fn alerts_evaluate_with(&mut self, config: &Config) -> Result<Vec<Alert>> {
        let mut raised = Vec::new();
        loop {
            let tx = self
                .conn_mut()
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (from, state): (i64, String) = tx.query_row(
                "SELECT evaluated_to, state FROM alert_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            // State that cannot be read (written by a newer Gatehouse, or
            // damaged) restarts the streaks rather than stopping the rules.
            let mut state: State = serde_json::from_str(&state).unwrap_or_default();
            let rows = read_rows(&tx, from)?;
            let Some(last) = rows.last().map(|r| r.id) else {
                return Ok(raised);
            };
            let mut pass = Pass::new(&tx, config, &mut state);
            for row in &rows {
                pass.record(row)?;
            }
            let alerts = pass.finish();
            let newest = rows.iter().map(|r| r.time).max().unwrap_or(0);
            state
                .sessions
                .retain(|_, s| s.last >= newest - SESSION_IDLE_MICROS);
            let now = now_micros();
            let mut ids = Vec::new();
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO alerts (rule, raised_at, time, server, session, tool, summary, records)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for a in alerts.iter().filter(|a| !config.muted.contains(&a.rule)) {
                    let records = serde_json::to_string(&a.records).unwrap_or_else(|_| "[]".into());
                    insert.execute(params![
                        a.rule.as_str(),
                        now,
                        a.time,
                        a.server,
                        a.session,
                        a.tool,
                        a.summary,
                        records
                    ])?;
                    ids.push(tx.last_insert_rowid());
                }
            }
            let state = serde_json::to_string(&state).unwrap_or_else(|_| "{}".into());
            tx.execute(
                "UPDATE alert_state SET evaluated_to = ?1, state = ?2 WHERE id = 1",
                params![last, state],
            )?;
            tx.commit()?;
            if !ids.is_empty() {
                let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
                let sql = format!(
                    "SELECT {} FROM alerts WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
                    super::ALERT_COLUMNS
                );
                raised.extend(self.read_alerts(&sql, [ids])?);
            }
            if (rows.len() as i64) < CHUNK {
                return Ok(raised);
            }
        }
    }
}

fn read_rows(conn: &Connection, from: i64) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, time, session, server, method, tool, arguments, decision, reason, rpc_error,
                coalesce(is_error, 0), result
         FROM audit_named WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![from, CHUNK], |r| {
        Ok(Row {
            id: r.get(0)?,
            time: r.get(1)?,
            session: r.get(2)?,
            server: r.get(3)?,
            method: r.get(4)?,
            tool: r.get(5)?,
            arguments: r.get(6)?,
            decision: r.get(7)?,
            reason: r.get(8)?,
            rpc_error: r.get(9)?,
            is_error: r.get(10)?,
            result: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
