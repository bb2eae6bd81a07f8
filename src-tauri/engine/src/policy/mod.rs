//! What each tool may do: allow, ask or deny, and why.
//!
//! The person's settings live in the store: per-tool switches
//! (`tool_policies`, here), defaults, argument rules, flow marks, rate
//! limits and "always allow" rules ([`rules`]). Defaults for tools nobody
//! set come from each tool's risk tier ([`risk`]); argument rules are
//! compiled once ([`args`]). A proxy holds a [`PolicySnapshot`]
//! ([`snapshot`]) of its server's policy in memory, so deciding a call costs
//! a hash lookup (plus the tool's argument rules); a watcher swaps in a new
//! snapshot when the store changes.

pub mod args;
mod lexicon;
pub mod risk;
pub mod rules;
pub mod snapshot;
pub mod view;
mod words;

use std::collections::BTreeMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result, Store, now_micros};

/// What a tool may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Decision {
    /// Calls pass.
    Allow,
    /// Calls wait for the person's approval.
    Ask,
    /// Calls are refused and the tool is hidden from the client.
    Deny,
}

impl Decision {
    /// The lowercase name used in the store and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "allow" => Some(Decision::Allow),
            "ask" => Some(Decision::Ask),
            "deny" => Some(Decision::Deny),
            _ => None,
        }
    }
}

pub use snapshot::{PolicySnapshot, Rule, Verdict};

/// Whether `a` is stricter than `b` (allow < ask < deny).
pub(crate) fn stricter(a: Decision, b: Decision) -> bool {
    let rank = |d| match d {
        Decision::Allow => 0,
        Decision::Ask => 1,
        Decision::Deny => 2,
    };
    rank(a) > rank(b)
}

impl Store {
    /// Sets the switch of one tool of a registered server.
    pub fn set_tool_policy(&mut self, server: &str, tool: &str, decision: Decision) -> Result<()> {
        if tool.is_empty() {
            return Err(Error::InvalidSpec("the tool name is empty".into()));
        }
        let changed = self.conn().execute(
            "INSERT INTO tool_policies (server_id, tool, decision, updated_at)
             SELECT id, ?2, ?3, ?4 FROM servers WHERE name = ?1
             ON CONFLICT (server_id, tool) DO UPDATE SET decision = excluded.decision, updated_at = excluded.updated_at
             WHERE decision <> excluded.decision",
            params![server, tool, decision.as_str(), now_micros()],
        )?;
        if changed == 0 {
            // Either unchanged, or the server does not exist: tell them apart.
            self.server(server)?;
        }
        Ok(())
    }

    /// Removes the switch of one tool: its defaults apply again.
    pub fn unset_tool_policy(&mut self, server: &str, tool: &str) -> Result<()> {
        self.server(server)?;
        self.conn().execute(
            "DELETE FROM tool_policies WHERE tool = ?2
             AND server_id = (SELECT id FROM servers WHERE name = ?1)",
            params![server, tool],
        )?;
        Ok(())
    }

    /// Every switch set for `server`, by tool name.
    pub fn tool_policies(&self, server: &str) -> Result<BTreeMap<String, Decision>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT p.tool, p.decision FROM tool_policies p JOIN servers s ON s.id = p.server_id
             WHERE s.name = ?1",
        )?;
        let rows = stmt.query_map([server], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (tool, decision) = row?;
            let decision = Decision::parse(&decision).ok_or_else(|| {
                Error::InvalidSpec(format!(
                    "unknown decision {decision:?} for tool {tool} in the store"
                ))
            })?;
            out.insert(tool, decision);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataDir, NewServer, Transport};

    fn store_with(name: &str) -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
        store
            .add_server(&NewServer {
                name: name.into(),
                transport: Transport::stdio("node", ["s.js"]),
            })
            .unwrap();
        (tmp, store)
    }

    #[test]
    fn switches_decide_and_unset_low_risk_tools_are_allowed() {
        let (_tmp, mut store) = store_with("fs");
        store
            .set_tool_policy("fs", "delete_file", Decision::Deny)
            .unwrap();
        store
            .set_tool_policy("fs", "write_file", Decision::Ask)
            .unwrap();
        let snap = store.policy_snapshot("fs").unwrap();
        assert_eq!(snap.decide("delete_file", None).decision, Decision::Deny);
        assert_eq!(snap.decide("write_file", None).decision, Decision::Ask);
        let read = snap.decide("read_file", None);
        assert_eq!(
            (read.decision, read.rule),
            (Decision::Allow, Rule::RiskTier)
        );
        assert!(snap.hides("delete_file"));
        assert!(!snap.hides("write_file"));
    }

    #[test]
    fn setting_again_replaces_and_unknown_servers_are_errors() {
        let (_tmp, mut store) = store_with("fs");
        store.set_tool_policy("fs", "t", Decision::Deny).unwrap();
        store.set_tool_policy("fs", "t", Decision::Deny).unwrap();
        store.set_tool_policy("fs", "t", Decision::Allow).unwrap();
        assert_eq!(
            store.tool_policies("fs").unwrap().get("t"),
            Some(&Decision::Allow)
        );
        assert_eq!(
            store
                .set_tool_policy("ghost", "t", Decision::Deny)
                .unwrap_err()
                .code(),
            "server_not_found"
        );
    }

    #[test]
    fn removing_the_server_removes_its_policies() {
        let (_tmp, mut store) = store_with("fs");
        store.set_tool_policy("fs", "t", Decision::Deny).unwrap();
        store.remove_server("fs").unwrap();
        store
            .add_server(&NewServer {
                name: "fs".into(),
                transport: Transport::stdio("x", [""; 0]),
            })
            .unwrap();
        assert!(store.tool_policies("fs").unwrap().is_empty());
    }
}
