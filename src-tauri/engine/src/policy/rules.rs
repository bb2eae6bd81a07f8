//! What the person set besides the per-tool switch, as the store keeps it:
//! the global and per-server defaults, each tool's argument rules, flow
//! marks and rate limit, a server-wide rate limit, "always allow" rules,
//! and the tools each server last listed (the input for risk tiers).
//!
//! Rate limits are counted in the store ([`Store::rate_take`]), so every
//! proxy process of a server shares one count.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Decision;
use super::args::ArgumentRules;
use crate::{Error, Result, Store, now_micros};

/// At most `max` calls in any `window_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RateLimit {
    /// Calls allowed in one window.
    pub max: u32,
    /// The window's length, in seconds.
    pub window_secs: u32,
}

impl RateLimit {
    /// The window as a duration.
    pub fn window(self) -> Duration {
        Duration::from_secs(u64::from(self.window_secs))
    }
}

impl FromStr for RateLimit {
    type Err = Error;

    /// `10/hour`, `5/min`, `100/day`, `3/30s`, `2/second`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidSpec(format!(
                "bad rate limit {s:?}: write CALLS/WINDOW, e.g. 10/hour, 5/min, 100/day or 3/30s"
            ))
        };
        let (max, window) = s.trim().split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let window = window.trim().to_ascii_lowercase();
        let digits = window.chars().take_while(char::is_ascii_digit).count();
        let count: u32 = if digits == 0 {
            1
        } else {
            window[..digits].parse().map_err(|_| bad())?
        };
        let unit: u32 = match window[digits..].trim() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            _ => return Err(bad()),
        };
        let window_secs = count.checked_mul(unit).ok_or_else(bad)?;
        if max == 0 || window_secs == 0 {
            return Err(bad());
        }
        Ok(RateLimit { max, window_secs })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.window_secs;
        match w {
            86_400 => write!(f, "{}/day", self.max),
            3600 => write!(f, "{}/hour", self.max),
            60 => write!(f, "{}/min", self.max),
            1 => write!(f, "{}/second", self.max),
            _ if w.is_multiple_of(86_400) => write!(f, "{}/{}d", self.max, w / 86_400),
            _ if w.is_multiple_of(3600) => write!(f, "{}/{}h", self.max, w / 3600),
            _ if w.is_multiple_of(60) => write!(f, "{}/{}m", self.max, w / 60),
            _ => write!(f, "{}/{}s", self.max, w),
        }
    }
}

/// What the person set for one tool besides its switch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ToolRules {
    /// Rules on the call's arguments.
    #[serde(default)]
    pub args: ArgumentRules,
    /// The person's flow mark: the tool reads private data. `None`: as
    /// suggested from its definition.
    #[serde(default)]
    pub reads_private: Option<bool>,
    /// The person's flow mark: the tool sends data out.
    #[serde(default)]
    pub sends_out: Option<bool>,
    /// Calls allowed per window, counted across all proxies.
    #[serde(default)]
    pub rate: Option<RateLimit>,
}

/// An "always allow" rule: the tool's calls pass without asking, for any
/// arguments or for those matching `pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AllowRule {
    /// Its id, to remove it.
    #[ts(type = "number")]
    pub id: i64,
    /// The tool.
    pub tool: String,
    /// Argument (top-level name) → glob its string value must match; every
    /// named argument must match. `None`: any arguments.
    pub pattern: Option<BTreeMap<String, String>>,
    /// Where it came from: `approval` (the popup's "Always allow") or `user`.
    pub origin: String,
    /// When, in microseconds since the epoch.
    #[ts(type = "number")]
    pub created_at: i64,
}

/// A call that would exceed a rate limit: refused, with how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateExceeded {
    /// The limit.
    pub limit: RateLimit,
    /// When the oldest counted call leaves the window.
    pub retry_after: Duration,
}

fn decision_text(d: Option<Decision>) -> Option<&'static str> {
    d.map(Decision::as_str)
}

fn parse_decision(s: Option<String>) -> Result<Option<Decision>> {
    s.map(|s| {
        Decision::parse(&s)
            .ok_or_else(|| Error::InvalidSpec(format!("unknown decision {s:?} in the store")))
    })
    .transpose()
}

fn rate_of(max: Option<i64>, window: Option<i64>) -> Option<RateLimit> {
    match (max, window) {
        (Some(max), Some(window)) => Some(RateLimit {
            max: u32::try_from(max).ok()?,
            window_secs: u32::try_from(window).ok()?,
        }),
        _ => None,
    }
}

const GLOBAL_DEFAULT: &str = "policy.default";

impl Store {
    /// A setting's value, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets (or with `None` removes) a setting.
    pub fn set_setting(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.conn().execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value <> excluded.value",
                params![key, v],
            )?,
            None => self
                .conn()
                .execute("DELETE FROM settings WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    /// How long a call waits for the person's approval.
    pub fn approval_timeout(&self) -> Result<Duration> {
        match self.setting(crate::approvals::TIMEOUT_SETTING)? {
            None => Ok(crate::approvals::DEFAULT_TIMEOUT),
            Some(v) => v.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                Error::InvalidSpec(format!(
                    "the approval timeout in the store ({v:?}) is not a number of seconds"
                ))
            }),
        }
    }

    /// The decision for tools of every server that nothing else decides;
    /// `None`: the risk tier's default.
    pub fn global_default(&self) -> Result<Option<Decision>> {
        parse_decision(self.setting(GLOBAL_DEFAULT)?)
    }

    /// Sets (or with `None` clears) the global default.
    pub fn set_global_default(&mut self, decision: Option<Decision>) -> Result<()> {
        self.set_setting(GLOBAL_DEFAULT, decision_text(decision))
    }

    /// The decision for `server`'s tools that nothing more specific decides.
    pub fn server_default(&self, server: &str) -> Result<Option<Decision>> {
        let value: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT default_decision FROM servers WHERE name = ?1",
                [server],
                |r| r.get(0),
            )
            .optional()?;
        match value {
            None => Err(Error::ServerNotFound(server.to_string())),
            Some(v) => parse_decision(v),
        }
    }

    /// Sets (or clears) `server`'s default.
    pub fn set_server_default(&mut self, server: &str, decision: Option<Decision>) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE servers SET default_decision = ?2 WHERE name = ?1",
            params![server, decision_text(decision)],
        )?;
        if changed == 0 {
            return Err(Error::ServerNotFound(server.to_string()));
        }
        Ok(())
    }

    /// `server`'s own rate limit, over all its tools.
    pub fn server_rate(&self, server: &str) -> Result<Option<RateLimit>> {
        let row: Option<(Option<i64>, Option<i64>)> = self
            .conn()
            .query_row(
                "SELECT rate_max, rate_window_secs FROM servers WHERE name = ?1",
                [server],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (max, window) = row.ok_or_else(|| Error::ServerNotFound(server.to_string()))?;
        Ok(rate_of(max, window))
    }

    /// Sets (or clears) `server`'s rate limit.
    pub fn set_server_rate(&mut self, server: &str, rate: Option<RateLimit>) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE servers SET rate_max = ?2, rate_window_secs = ?3 WHERE name = ?1",
            params![server, rate.map(|r| r.max), rate.map(|r| r.window_secs)],
        )?;
        if changed == 0 {
            return Err(Error::ServerNotFound(server.to_string()));
        }
        Ok(())
    }

    /// What is set for `server`'s tool `tool` (defaults if nothing).
    pub fn tool_rules(&self, server: &str, tool: &str) -> Result<ToolRules> {
        self.server(server)?;
        Ok(self
            .all_tool_rules(server)?
            .remove(tool)
            .unwrap_or_default())
    }

    /// Every tool of `server` with rules, by name.
    pub fn all_tool_rules(&self, server: &str) -> Result<BTreeMap<String, ToolRules>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.tool, r.args, r.reads_private, r.sends_out, r.rate_max, r.rate_window_secs
             FROM tool_rules r JOIN servers s ON s.id = r.server_id WHERE s.name = ?1",
        )?;
        let rows = stmt.query_map([server], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<bool>>(2)?,
                r.get::<_, Option<bool>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (tool, args, reads_private, sends_out, max, window) = row?;
            let args: ArgumentRules = serde_json::from_str(&args).map_err(|e| {
                Error::InvalidSpec(format!(
                    "the argument rules of tool {tool} in the store are unreadable: {e}"
                ))
            })?;
            out.insert(
                tool,
                ToolRules {
                    args,
                    reads_private,
                    sends_out,
                    rate: rate_of(max, window),
                },
            );
        }
        Ok(out)
    }

    /// Replaces what is set for `server`'s tool `tool`. The argument rules
    /// must compile (checked against the tool's last known schema).
    pub fn set_tool_rules(&mut self, server: &str, tool: &str, rules: &ToolRules) -> Result<()> {
        if tool.is_empty() {
            return Err(Error::InvalidSpec("the tool name is empty".into()));
        }
        let schema = self
            .tool_definition(server, tool)?
            .and_then(|d| d.get("inputSchema").cloned())
            .unwrap_or(serde_json::Value::Null);
        super::args::CompiledRules::compile(
            &rules.args,
            tool,
            &schema,
            super::args::PathContext::from_env(),
        )?;
        let args =
            serde_json::to_string(&rules.args).map_err(|e| Error::InvalidSpec(e.to_string()))?;
        let changed = self.conn().execute(
            "INSERT INTO tool_rules (server_id, tool, args, reads_private, sends_out, rate_max, rate_window_secs, updated_at)
             SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM servers WHERE name = ?1
             ON CONFLICT (server_id, tool) DO UPDATE SET
                args = excluded.args, reads_private = excluded.reads_private,
                sends_out = excluded.sends_out, rate_max = excluded.rate_max,
                rate_window_secs = excluded.rate_window_secs, updated_at = excluded.updated_at",
            params![
                server,
                tool,
                args,
                rules.reads_private,
                rules.sends_out,
                rules.rate.map(|r| r.max),
                rules.rate.map(|r| r.window_secs),
                now_micros()
            ],
        )?;
        if changed == 0 {
            return Err(Error::ServerNotFound(server.to_string()));
        }
        Ok(())
    }

    /// Records the tools `server` just listed (name and `tools/list`
    /// entry); with `whole`, the list is complete and tools not in it are
    /// forgotten. Unchanged rows are not rewritten, so watchers only hear of
    /// real changes.
    pub fn record_tools(
        &mut self,
        server: &str,
        tools: &[(String, String)],
        whole: bool,
    ) -> Result<()> {
        let now = now_micros();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id: i64 = tx
            .query_row("SELECT id FROM servers WHERE name = ?1", [server], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| Error::ServerNotFound(server.to_string()))?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO tools (server_id, name, definition, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (server_id, name) DO UPDATE SET definition = excluded.definition, seen_at = excluded.seen_at
                 WHERE definition <> excluded.definition",
            )?;
            for (name, definition) in tools {
                upsert.execute(params![id, name, definition, now])?;
            }
            if whole {
                let names: Vec<&str> = tools.iter().map(|(n, _)| n.as_str()).collect();
                let listed = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
                tx.execute(
                    "DELETE FROM tools WHERE server_id = ?1
                     AND name NOT IN (SELECT value FROM json_each(?2))",
                    params![id, listed],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The tools `server` last listed: name and definition, by name.
    pub fn tools(&self, server: &str) -> Result<BTreeMap<String, serde_json::Value>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT t.name, t.definition FROM tools t JOIN servers s ON s.id = t.server_id
             WHERE s.name = ?1",
        )?;
        let rows = stmt.query_map([server], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (name, definition) = row?;
            // A definition that no longer parses is treated as unknown.
            if let Ok(value) = serde_json::from_str(&definition) {
                out.insert(name, value);
            }
        }
        Ok(out)
    }

    fn tool_definition(&self, server: &str, tool: &str) -> Result<Option<serde_json::Value>> {
        Ok(self.tools(server)?.remove(tool))
    }

    /// Adds an "always allow" rule for `server`'s `tool`; returns its id.
    pub fn add_allow_rule(
        &mut self,
        server: &str,
        tool: &str,
        pattern: Option<&BTreeMap<String, String>>,
        origin: &str,
    ) -> Result<i64> {
        if let Some(pattern) = pattern {
            for glob in pattern.values() {
                globset::Glob::new(glob).map_err(|e| {
                    Error::InvalidSpec(format!("bad argument pattern {glob:?}: {e}"))
                })?;
            }
        }
        let pattern = pattern
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::InvalidSpec(e.to_string()))?;
        let changed = self.conn().execute(
            "INSERT INTO allow_rules (server_id, tool, pattern, origin, created_at)
             SELECT id, ?2, ?3, ?4, ?5 FROM servers WHERE name = ?1",
            params![server, tool, pattern, origin, now_micros()],
        )?;
        if changed == 0 {
            return Err(Error::ServerNotFound(server.to_string()));
        }
        Ok(self.conn().last_insert_rowid())
    }

    /// `server`'s "always allow" rules, oldest first.
    pub fn allow_rules(&self, server: &str) -> Result<Vec<AllowRule>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT a.id, a.tool, a.pattern, a.origin, a.created_at
             FROM allow_rules a JOIN servers s ON s.id = a.server_id WHERE s.name = ?1
             ORDER BY a.id",
        )?;
        let rows = stmt.query_map([server], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, tool, pattern, origin, created_at) = row?;
            let pattern = pattern
                .map(|p| serde_json::from_str(&p))
                .transpose()
                .map_err(|e| Error::InvalidSpec(format!("allow rule {id} is unreadable: {e}")))?;
            out.push(AllowRule {
                id,
                tool,
                pattern,
                origin,
                created_at,
            });
        }
        Ok(out)
    }

    /// Removes an "always allow" rule; an unknown id is an error.
    pub fn remove_allow_rule(&mut self, id: i64) -> Result<()> {
        let changed = self
            .conn()
            .execute("DELETE FROM allow_rules WHERE id = ?1", [id])?;
        if changed == 0 {
            return Err(Error::InvalidSpec(format!("no allow rule with id {id}")));
        }
        Ok(())
    }

    /// Counts one call of `server`'s `tool` (`""`: the server as a whole)
    /// against `limit`, unless that would exceed it. One immediate
    /// transaction, so concurrent proxies of the server never both take the
    /// last slot.
    pub fn rate_take(
        &mut self,
        server: &str,
        tool: &str,
        limit: RateLimit,
    ) -> Result<std::result::Result<(), RateExceeded>> {
        let now = now_micros();
        let window = i64::from(limit.window_secs) * 1_000_000;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id: i64 = tx
            .query_row("SELECT id FROM servers WHERE name = ?1", [server], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| Error::ServerNotFound(server.to_string()))?;
        tx.execute(
            "DELETE FROM rate_events WHERE server_id = ?1 AND tool = ?2 AND at <= ?3",
            params![id, tool, now - window],
        )?;
        let (count, oldest): (i64, Option<i64>) = tx.query_row(
            "SELECT count(*), min(at) FROM rate_events WHERE server_id = ?1 AND tool = ?2",
            params![id, tool],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if count >= i64::from(limit.max) {
            let free_at = oldest.unwrap_or(now) + window;
            let wait = u64::try_from(free_at - now).unwrap_or(0);
            return Ok(Err(RateExceeded {
                limit,
                retry_after: Duration::from_micros(wait),
            }));
        }
        tx.execute(
            "INSERT INTO rate_events (server_id, tool, at) VALUES (?1, ?2, ?3)",
            params![id, tool, now],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
