//! Alert rules: patterns in the audit log that the person should hear of at
//! once, each raised as an [`Alert`] naming the records that triggered it.
//!
//! The rules run over the log as a cursor, never on a proxy's path:
//! [`Store::alerts_evaluate`] reads the records written since the last pass
//! in id order (one order across every proxy), runs every [`AlertRule`]
//! with per-session state, and in one immediate transaction stores the new
//! alerts, the rules' state and the cursor, so a restart neither loses a
//! streak nor raises an alert twice, and two processes evaluating at once
//! do not both raise it. The app evaluates whenever audit records arrive
//! and notifies; `gatehouse alerts list` evaluates first too, so alerts
//! exist without the app.
//!
//! A muted rule still keeps its state (a domain is still learned) but
//! raises nothing. Acknowledging an alert closes it. Alerts keep the ids of
//! their records after retention deletes the records themselves.
//!
//! Summaries hold tool names, domains and counts, never argument values:
//! an alert is evidence of a possible attack and is shown in notifications.

mod classify;
mod eval;
mod quiet;
mod rules;
mod settings;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use quiet::QuietHours;
pub use settings::DenialBurst;

use crate::{Engine, Error, Result, Store, now_micros, rfc3339};

/// The audit `method` of a record Gatehouse writes when it refuses a tool
/// whose definition no longer matches its pin. Raises [`AlertRule::PinMismatch`].
pub const TOOL_CHANGED_METHOD: &str = "gatehouse/tool-changed";
/// The audit `method` of a record Gatehouse writes when it refuses a
/// package whose checksum does not match. Raises [`AlertRule::PinMismatch`].
pub const CHECKSUM_MISMATCH_METHOD: &str = "gatehouse/checksum-mismatch";

/// The setting holding the quiet hours (`HH:MM-HH:MM`, local time); unset: off.
pub const QUIET_HOURS_SETTING: &str = "alerts.quiet_hours";
/// The setting holding the denial burst (`COUNT/SECONDS`).
pub const DENIAL_BURST_SETTING: &str = "alerts.denial_burst";

/// Destructive calls in a row, from one session, that raise an alert.
pub const DESTRUCTIVE_STREAK: usize = 3;
/// Upstream rate-limit errors in a row, from one session, that raise an alert.
pub const RATE_LIMIT_STREAK: usize = 2;
/// Writes without a read in between, from one session, that raise an alert.
pub const WRITES_WITHOUT_READ: usize = 10;
/// The default denial burst: this many refused calls...
pub const DEFAULT_BURST_COUNT: usize = 5;
/// ...within this many seconds.
pub const DEFAULT_BURST_SECS: u32 = 60;

/// A rule that raises alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum AlertRule {
    /// Destructive calls (deletes) in a row from one session.
    DestructiveStreak,
    /// A URL argument targets a domain the tool never targeted before.
    NewDomain,
    /// Upstream rate-limit errors (HTTP 429) in a row from one session.
    RateLimited,
    /// Many writes without a read from one session.
    WritesWithoutRead,
    /// A call within the quiet hours.
    QuietHours,
    /// A burst of refused calls: denied, or not approved in time.
    DenialBurst,
    /// Gatehouse refused a tool whose definition changed, or a package
    /// whose checksum does not match.
    PinMismatch,
}

impl AlertRule {
    /// Every rule, in the order they are listed.
    pub const ALL: [AlertRule; 7] = [
        AlertRule::DestructiveStreak,
        AlertRule::NewDomain,
        AlertRule::RateLimited,
        AlertRule::WritesWithoutRead,
        AlertRule::QuietHours,
        AlertRule::DenialBurst,
        AlertRule::PinMismatch,
    ];

    /// The rule's name, as stored and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertRule::DestructiveStreak => "destructive-streak",
            AlertRule::NewDomain => "new-domain",
            AlertRule::RateLimited => "rate-limited",
            AlertRule::WritesWithoutRead => "writes-without-read",
            AlertRule::QuietHours => "quiet-hours",
            AlertRule::DenialBurst => "denial-burst",
            AlertRule::PinMismatch => "pin-mismatch",
        }
    }

    /// Parses a rule's name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// A short title for lists and notifications.
    pub fn title(self) -> &'static str {
        match self {
            AlertRule::DestructiveStreak => "Destructive calls in a row",
            AlertRule::NewDomain => "Request to a new domain",
            AlertRule::RateLimited => "Upstream rate limit",
            AlertRule::WritesWithoutRead => "Writes without a read",
            AlertRule::QuietHours => "Call during quiet hours",
            AlertRule::DenialBurst => "Burst of refused calls",
            AlertRule::PinMismatch => "Changed tool or package refused",
        }
    }

    /// What the rule watches for, in a sentence.
    pub fn description(self) -> String {
        match self {
            AlertRule::DestructiveStreak => format!(
                "{DESTRUCTIVE_STREAK} or more destructive calls (deletes) in a row from one session"
            ),
            AlertRule::NewDomain => "a URL argument targets a domain the tool never targeted \
                 before (a tool's first domains are learned silently)"
                .into(),
            AlertRule::RateLimited => format!(
                "{RATE_LIMIT_STREAK} or more upstream rate-limit errors (HTTP 429) in a row from one session"
            ),
            AlertRule::WritesWithoutRead => format!(
                "{WRITES_WITHOUT_READ} or more writes without a read in between, from one session"
            ),
            AlertRule::QuietHours => {
                "tool calls within the quiet hours (once per session and night)".into()
            }
            AlertRule::DenialBurst => {
                "many calls refused (denied, or not approved in time) within a short time".into()
            }
            AlertRule::PinMismatch => "Gatehouse refused a tool whose definition changed since \
                 it was pinned, or a package whose checksum does not match"
                .into(),
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Alert {
    /// The alert's id.
    pub id: i64,
    /// The rule that raised it.
    pub rule: AlertRule,
    /// When it was raised (RFC 3339).
    pub raised_at: String,
    /// When the last record that triggered it arrived (RFC 3339).
    pub time: String,
    /// The server, when the records share one.
    pub server: Option<String>,
    /// The proxy session, when the records share one.
    pub session: Option<String>,
    /// The tool, when the records share one.
    pub tool: Option<String>,
    /// What happened, in a sentence with no argument values.
    pub summary: String,
    /// The audit records that triggered it, oldest first.
    pub records: Vec<AlertRecord>,
    /// When the person acknowledged it (RFC 3339); `None` while open.
    pub acked_at: Option<String>,
}

/// An audit record an alert names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlertRecord {
    /// The audit record's id.
    pub id: i64,
    /// Whether the log still holds it (retention deletes old records).
    pub kept: bool,
}

/// Which alerts to acknowledge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum AlertAck {
    /// Every open alert.
    All,
    /// These alerts.
    Ids(Vec<i64>),
}

/// A rule as the Alerts page and `gatehouse alerts list --rules` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlertRuleInfo {
    /// The rule.
    pub rule: AlertRule,
    /// A short title.
    pub title: String,
    /// What it watches for.
    pub description: String,
    /// Whether the person muted it.
    pub muted: bool,
    /// Its setting, when it has one: the quiet hours (`off` when unset)
    /// or the denial burst (`COUNT/SECONDS`).
    pub setting: Option<String>,
}

const ALERT_COLUMNS: &str =
    "id, rule, raised_at, time, server, session, tool, summary, records, acked_at";

impl Store {
    /// The alerts, newest first: only the open ones unless `all`. Records
    /// are not evaluated here; see [`Store::alerts_evaluate`].
    pub fn alerts(&self, all: bool) -> Result<Vec<Alert>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {} ORDER BY id DESC",
            if all { "" } else { "WHERE acked_at IS NULL" }
        );
        self.read_alerts(&sql, [])
    }

    /// The alerts with ids above `after`, oldest first (what a notifier has
    /// not yet shown).
    pub fn alerts_after(&self, after: i64) -> Result<Vec<Alert>> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id > ?1 ORDER BY id");
        self.read_alerts(&sql, [after])
    }

    /// The largest alert id (0: none yet).
    pub fn alerts_newest(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT coalesce(max(id), 0) FROM alerts", [], |r| r.get(0))?)
    }

    fn read_alerts(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Alert>> {
        let conn = self.conn();
        // Retention deletes the oldest records in id order, so a record is
        // kept exactly when its id reaches the oldest one left.
        let first_kept: i64 = conn.query_row(
            "SELECT coalesce(min(id), (SELECT coalesce(max(head_id), 0) + 1 FROM audit_chain)) FROM audit",
            [],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(args, |r| {
            let rule: String = r.get(1)?;
            let records: String = r.get(8)?;
            Ok((
                rule,
                records,
                Alert {
                    id: r.get(0)?,
                    rule: AlertRule::PinMismatch,
                    raised_at: rfc3339(r.get(2)?),
                    time: rfc3339(r.get(3)?),
                    server: r.get(4)?,
                    session: r.get(5)?,
                    tool: r.get(6)?,
                    summary: r.get(7)?,
                    records: Vec::new(),
                    acked_at: r.get::<_, Option<i64>>(9)?.map(rfc3339),
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rule, records, mut alert) = row?;
            alert.rule = AlertRule::parse(&rule).ok_or_else(|| {
                Error::InvalidSpec(format!("alert {} has an unknown rule {rule:?}", alert.id))
            })?;
            let ids: Vec<i64> = serde_json::from_str(&records).map_err(|e| {
                Error::InvalidSpec(format!("alert {} has unreadable records: {e}", alert.id))
            })?;
            alert.records = ids
                .into_iter()
                .map(|id| AlertRecord {
                    id,
                    kept: id >= first_kept,
                })
                .collect();
            out.push(alert);
        }
        Ok(out)
    }

    /// Acknowledges alerts; returns how many were open and now are not.
    /// An id that names no alert is an error (and nothing changes).
    pub fn alerts_ack(&mut self, which: &AlertAck) -> Result<u32> {
        let now = now_micros();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = match which {
            AlertAck::All => tx.execute(
                "UPDATE alerts SET acked_at = ?1 WHERE acked_at IS NULL",
                [now],
            )?,
            AlertAck::Ids(ids) => {
                let mut n = 0;
                for &id in ids {
                    let open: Option<bool> = tx
                        .query_row(
                            "SELECT acked_at IS NULL FROM alerts WHERE id = ?1",
                            [id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match open {
                        None => {
                            return Err(Error::InvalidSpec(format!(
                                "no alert with id {id}; `gatehouse alerts list --all` shows them"
                            )));
                        }
                        Some(false) => {}
                        Some(true) => {
                            n += tx.execute(
                                "UPDATE alerts SET acked_at = ?1 WHERE id = ?2",
                                params![now, id],
                            )?;
                        }
                    }
                }
                n
            }
        };
        tx.commit()?;
        Ok(n as u32)
    }

    /// Mutes (or unmutes) a rule: a muted rule raises no alert.
    pub fn alerts_mute(&mut self, rule: AlertRule, muted: bool) -> Result<()> {
        if muted {
            self.conn().execute(
                "INSERT INTO alert_mutes (rule, muted_at) VALUES (?1, ?2) ON CONFLICT (rule) DO NOTHING",
                params![rule.as_str(), now_micros()],
            )?;
        } else {
            self.conn()
                .execute("DELETE FROM alert_mutes WHERE rule = ?1", [rule.as_str()])?;
        }
        Ok(())
    }

    /// The muted rules.
    pub fn alerts_muted(&self) -> Result<Vec<AlertRule>> {
        let mut stmt = self.conn().prepare_cached("SELECT rule FROM alert_mutes")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for rule in rows {
            // A rule a newer Gatehouse knows is not ours to judge.
            if let Some(rule) = AlertRule::parse(&rule?) {
                out.push(rule);
            }
        }
        Ok(out)
    }

    /// Every rule, with its description, mute state and setting.
    pub fn alerts_rules(&self) -> Result<Vec<AlertRuleInfo>> {
        let muted = self.alerts_muted()?;
        let quiet = self.alerts_quiet_hours()?;
        let burst = self.alerts_denial_burst()?;
        Ok(AlertRule::ALL
            .into_iter()
            .map(|rule| AlertRuleInfo {
                rule,
                title: rule.title().into(),
                description: rule.description(),
                muted: muted.contains(&rule),
                setting: match rule {
                    AlertRule::QuietHours => {
                        Some(quiet.map_or_else(|| "off".into(), |q| q.to_string()))
                    }
                    AlertRule::DenialBurst => Some(burst.to_string()),
                    _ => None,
                },
            })
            .collect())
    }
}

impl Engine {
    /// The alerts, newest first (only open ones unless `all`), after
    /// evaluating the records written since the last pass.
    pub fn alerts_list(&self, all: bool) -> Result<Vec<Alert>> {
        let mut store = self.store();
        store.alerts_evaluate()?;
        store.alerts(all)
    }

    /// Evaluates the records written since the last pass; returns the
    /// alerts this pass raised.
    pub fn alerts_evaluate(&self) -> Result<Vec<Alert>> {
        self.store().alerts_evaluate()
    }

    /// Acknowledges alerts; returns how many were open.
    pub fn alerts_ack(&self, which: AlertAck) -> Result<u32> {
        self.store().alerts_ack(&which)
    }

    /// Mutes or unmutes a rule.
    pub fn alerts_mute(&self, rule: AlertRule, muted: bool) -> Result<()> {
        self.store().alerts_mute(rule, muted)
    }

    /// Every rule, with its description, mute state and setting.
    pub fn alerts_rules(&self) -> Result<Vec<AlertRuleInfo>> {
        self.store().alerts_rules()
    }

    /// Sets a rule's setting (see [`Store::alerts_configure`]).
    pub fn alerts_configure(&self, rule: AlertRule, setting: Option<String>) -> Result<()> {
        self.store().alerts_configure(rule, setting.as_deref())
    }
}

#[cfg(test)]
mod tests;
