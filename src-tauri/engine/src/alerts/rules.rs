//! The rules themselves: what each one remembers between records (stored
//! as JSON between passes) and when it raises an alert. Evaluation
//! (`eval.rs`) feeds them records in id order.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::classify::{Kind, classify, domains, is_rate_limit, result_is_rate_limit};
use super::eval::Config;
use super::{
    AlertRule, CHECKSUM_MISMATCH_METHOD, DESTRUCTIVE_STREAK, RATE_LIMIT_STREAK,
    TOOL_CHANGED_METHOD, WRITES_WITHOUT_READ,
};
use crate::Result;

/// The longest summary, in characters (reasons come from Gatehouse, but
/// keep notifications short).
const MAX_SUMMARY: usize = 300;

/// The rules' memory between passes, stored as JSON in `alert_state`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct State {
    #[serde(default)]
    pub(super) sessions: BTreeMap<String, Session>,
    /// Recent refused calls, `(id, time, server)`, oldest first.
    #[serde(default)]
    denials: VecDeque<(i64, i64, String)>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Session {
    /// The time of its newest record.
    pub(super) last: i64,
    #[serde(default)]
    destructive: Streak,
    #[serde(default)]
    rate_limited: Streak,
    #[serde(default)]
    writes: Streak,
    /// The night of quiet hours last alerted for.
    #[serde(default)]
    quiet_night: Option<i64>,
}

/// A run of records; it raises one alert when it reaches its threshold,
/// and no other until it is broken.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Streak {
    /// The records so far, `(id, tool)`, up to the threshold.
    records: Vec<(i64, String)>,
    alerted: bool,
}

impl Streak {
    /// Adds a record; the run's records when this one reaches `threshold`.
    fn push(&mut self, id: i64, tool: &str, threshold: usize) -> Option<Vec<(i64, String)>> {
        if self.alerted {
            return None;
        }
        self.records.push((id, tool.to_string()));
        if self.records.len() < threshold {
            return None;
        }
        self.alerted = true;
        Some(std::mem::take(&mut self.records))
    }

    fn reset(&mut self) {
        self.records.clear();
        self.alerted = false;
    }
}

/// One audit record, as the rules read it.
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) time: i64,
    pub(super) session: String,
    pub(super) server: String,
    pub(super) method: Option<String>,
    pub(super) tool: Option<String>,
    pub(super) arguments: Option<String>,
    pub(super) decision: String,
    pub(super) reason: Option<String>,
    pub(super) rpc_error: Option<String>,
    pub(super) is_error: bool,
    pub(super) result: Option<String>,
}

/// An alert about to be stored.
pub(super) struct Raised {
    pub(super) rule: AlertRule,
    pub(super) time: i64,
    pub(super) server: Option<String>,
    pub(super) session: Option<String>,
    pub(super) tool: Option<String>,
    pub(super) summary: String,
    pub(super) records: Vec<i64>,
}

/// One pass over a chunk of records.
pub(super) struct Pass<'a> {
    conn: &'a Connection,
    config: &'a Config,
    state: &'a mut State,
    /// Each tool's kind, looked up once per pass.
    kinds: HashMap<(String, String), Kind>,
    raised: Vec<Raised>,
    /// The pin alert refusals in a row join.
    pin_group: Option<PinGroup>,
}

/// A pin alert still open to more refusals from the same session.
struct PinGroup {
    /// Its place in `Pass::raised`.
    index: usize,
    session: String,
    method: String,
    names: Vec<String>,
}

impl<'a> Pass<'a> {
    /// A pass over records after those `state` has seen.
    pub(super) fn new(conn: &'a Connection, config: &'a Config, state: &'a mut State) -> Self {
        Self {
            conn,
            config,
            state,
            kinds: HashMap::new(),
            raised: Vec::new(),
            pin_group: None,
        }
    }

    /// The alerts raised, in the order of their last records.
    pub(super) fn finish(self) -> Vec<Raised> {
        self.raised
    }

    /// Runs every rule on one record.
    pub(super) fn record(&mut self, row: &Row) -> Result<()> {
        let method = row.method.as_deref().unwrap_or_default();
        let denied = row.decision == "denied";
        let session = self.state.sessions.entry(row.session.clone()).or_default();
        session.last = session.last.max(row.time);

        if method == TOOL_CHANGED_METHOD || method == CHECKSUM_MISMATCH_METHOD {
            self.pin_mismatch(row, method);
        }
        // Refused calls; Gatehouse's own refusals (`gatehouse/...`, a
        // changed tool) have their own rule.
        if denied && !method.starts_with("gatehouse/") {
            self.denial(row);
        }
        // Upstream rate limits: only records that reached the server.
        if !denied && row.method.is_some() {
            let limited = row.rpc_error.as_deref().is_some_and(is_rate_limit)
                || (row.is_error && row.result.as_deref().is_some_and(result_is_rate_limit));
            let streak = &mut self.session(row).rate_limited;
            if !limited {
                streak.reset();
            } else if let Some(run) = streak.push(
                row.id,
                row.tool.as_deref().unwrap_or(method),
                RATE_LIMIT_STREAK,
            ) {
                self.raise_run(row, AlertRule::RateLimited, run, |n, tools| {
                    format!("{n} upstream rate-limit errors (HTTP 429) in a row, from {tools}")
                });
            }
        }
        let (Some(tool), "tools/call") = (row.tool.as_deref(), method) else {
            return Ok(());
        };
        self.quiet_hours(row, tool);
        if let Some(arguments) = row.arguments.as_deref() {
            self.new_domains(row, tool, arguments)?;
        }
        let kind = self.kind(&row.server, tool)?;
        let session = self.session(row);
        let destructive = if kind.destructive {
            session.destructive.push(row.id, tool, DESTRUCTIVE_STREAK)
        } else {
            session.destructive.reset();
            None
        };
        let writes = if kind.write {
            session.writes.push(row.id, tool, WRITES_WITHOUT_READ)
        } else {
            if kind.read {
                session.writes.reset();
            }
            None
        };
        if let Some(run) = destructive {
            self.raise_run(row, AlertRule::DestructiveStreak, run, |n, tools| {
                format!("{n} destructive calls in a row: {tools}")
            });
        }
        if let Some(run) = writes {
            self.raise_run(row, AlertRule::WritesWithoutRead, run, |n, tools| {
                format!("{n} writes without a read: {tools}")
            });
        }
        Ok(())
    }

    fn session(&mut self, row: &Row) -> &mut Session {
        self.state.sessions.entry(row.session.clone()).or_default()
    }

    fn kind(&mut self, server: &str, tool: &str) -> Result<Kind> {
        let key = (server.to_string(), tool.to_string());
        if let Some(kind) = self.kinds.get(&key) {
            return Ok(*kind);
        }
        let definition: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT t.definition FROM tools t JOIN servers s ON s.id = t.server_id
                 WHERE s.name = ?1 AND t.name = ?2",
            )?
            .query_row([server, tool], |r| r.get(0))
            .optional()?;
        let kind = classify(tool, definition.as_deref());
        self.kinds.insert(key, kind);
        Ok(kind)
    }

    fn pin_mismatch(&mut self, row: &Row, method: &str) {
        let name = row.tool.clone().unwrap_or_else(|| "?".into());
        // One tools/list can change many tools at once: refusals in a row
        // from one session make one alert, not a notification each.
        if let Some(group) = &mut self.pin_group
            && group.index + 1 == self.raised.len()
            && group.session == row.session
            && group.method == method
        {
            group.names.push(name);
            let n = group.names.len();
            let what = if method == TOOL_CHANGED_METHOD {
                "tools whose definitions changed since they were pinned"
            } else {
                "packages whose checksums do not match"
            };
            let summary = format!(
                "Gatehouse refused {n} {what}: {}; they stay hidden until reviewed",
                group.names.join(", ")
            );
            let alert = &mut self.raised[group.index];
            alert.records.push(row.id);
            alert.time = row.time;
            alert.tool = None;
            alert.summary = clip(summary);
            return;
        }
        let what = if method == TOOL_CHANGED_METHOD {
            "a tool whose definition changed since it was pinned"
        } else {
            "a package whose checksum does not match"
        };
        let mut summary = format!("Gatehouse refused {what}");
        if let Some(tool) = &row.tool {
            summary.push_str(&format!(" ('{tool}')"));
        }
        if let Some(reason) = row.reason.as_deref().filter(|r| !r.is_empty()) {
            summary.push_str(": ");
            summary.push_str(reason);
        }
        self.raise(row, AlertRule::PinMismatch, summary, vec![row.id]);
        self.pin_group = Some(PinGroup {
            index: self.raised.len() - 1,
            session: row.session.clone(),
            method: method.to_string(),
            names: vec![name],
        });
    }

    fn denial(&mut self, row: &Row) {
        let burst = self.config.burst;
        let window = i64::from(burst.secs) * 1_000_000;
        let denials = &mut self.state.denials;
        denials.push_back((row.id, row.time, row.server.clone()));
        while denials
            .front()
            .is_some_and(|(_, t, _)| *t < row.time - window)
        {
            denials.pop_front();
        }
        if denials.len() < burst.count {
            return;
        }
        let one_server = denials.iter().all(|(_, _, s)| *s == row.server);
        let records: Vec<i64> = denials.drain(..).map(|(id, _, _)| id).collect();
        let summary = format!(
            "{} calls refused within {} s (denied by policy, or not approved in time)",
            records.len(),
            burst.secs
        );
        // The burst may span sessions and servers: name them only when shared.
        let mut alert = self.alert(row, AlertRule::DenialBurst, summary, records);
        alert.session = None;
        alert.tool = None;
        if !one_server {
            alert.server = None;
        }
        self.raised.push(alert);
    }

    fn quiet_hours(&mut self, row: &Row, tool: &str) {
        let Some(quiet) = self.config.quiet else {
            return;
        };
        let secs = row.time.div_euclid(1_000_000);
        let local = secs + (self.config.offset)(secs);
        let Some(night) = quiet.night(local) else {
            return;
        };
        let session = self.session(row);
        if session.quiet_night == Some(night) {
            return;
        }
        session.quiet_night = Some(night);
        let of_day = local.rem_euclid(86_400);
        let summary = format!(
            "'{tool}' was called at {:02}:{:02} local time, within the quiet hours {quiet}",
            of_day / 3600,
            of_day % 3600 / 60
        );
        self.raise(row, AlertRule::QuietHours, summary, vec![row.id]);
    }

    fn new_domains(&mut self, row: &Row, tool: &str, arguments: &str) -> Result<()> {
        let found = domains(arguments);
        if found.is_empty() {
            return Ok(());
        }
        let known: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM alert_domains WHERE server = ?1 AND tool = ?2")?
            .query_row([&row.server, tool], |r| r.get(0))?;
        let mut new = Vec::new();
        {
            let mut insert = self.conn.prepare_cached(
                "INSERT INTO alert_domains (server, tool, domain, first_seen) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )?;
            for domain in found {
                if insert.execute(params![row.server, tool, domain, row.id])? > 0 {
                    new.push(domain);
                }
            }
        }
        // A tool's first domains are its baseline, learned silently: a web
        // tool's first call would otherwise always alert, and alerts that
        // always fire teach people to ignore them.
        if known == 0 || new.is_empty() {
            return Ok(());
        }
        let example: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT domain FROM alert_domains WHERE server = ?1 AND tool = ?2 AND first_seen < ?3
                 ORDER BY first_seen LIMIT 1",
            )?
            .query_row(params![row.server, tool, row.id], |r| r.get(0))
            .optional()?;
        let known = match (known, example) {
            (1, Some(d)) => format!("before, only {d}"),
            (n, Some(d)) => format!("before, {n} others such as {d}"),
            (n, None) => format!("{n} others before"),
        };
        let summary = format!(
            "'{tool}' targeted {} for the first time ({known})",
            new.join(", ")
        );
        self.raise(row, AlertRule::NewDomain, summary, vec![row.id]);
        Ok(())
    }

    /// Raises an alert for a run of records; `describe` gets the count and
    /// the tools (`delete_file ×2, drop_table`).
    fn raise_run(
        &mut self,
        row: &Row,
        rule: AlertRule,
        run: Vec<(i64, String)>,
        describe: impl FnOnce(usize, String) -> String,
    ) {
        let mut tools: Vec<(&str, usize)> = Vec::new();
        for (_, tool) in &run {
            match tools.iter_mut().find(|(t, _)| *t == tool.as_str()) {
                Some((_, n)) => *n += 1,
                None => tools.push((tool, 1)),
            }
        }
        let same_tool = (tools.len() == 1).then(|| tools[0].0.to_string());
        let named = tools
            .iter()
            .map(|(t, n)| {
                if *n > 1 {
                    format!("{t} ×{n}")
                } else {
                    t.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let summary = describe(run.len(), named);
        let mut alert = self.alert(
            row,
            rule,
            summary,
            run.into_iter().map(|(id, _)| id).collect(),
        );
        alert.tool = same_tool;
        self.raised.push(alert);
    }

    fn raise(&mut self, row: &Row, rule: AlertRule, summary: String, records: Vec<i64>) {
        let alert = self.alert(row, rule, summary, records);
        self.raised.push(alert);
    }

    fn alert(&self, row: &Row, rule: AlertRule, summary: String, records: Vec<i64>) -> Raised {
        Raised {
            rule,
            time: row.time,
            server: Some(row.server.clone()),
            session: Some(row.session.clone()),
            tool: row.tool.clone(),
            summary: clip(summary),
            records,
        }
    }
}

/// `summary`, cut to [`MAX_SUMMARY`] characters.
fn clip(summary: String) -> String {
    match summary.char_indices().nth(MAX_SUMMARY) {
        Some((cut, _)) => format!("{}…", &summary[..cut]),
        None => summary,
    }
}
