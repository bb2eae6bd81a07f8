//! What each tool may do: allow, ask or deny.
//!
//! The user's switches live in the store (`tool_policies`). A proxy holds a
//! [`PolicySnapshot`] of its server's switches in memory, so deciding a call
//! costs a hash lookup; a watcher swaps in a new snapshot when the store
//! changes. Tools without a switch are allowed for now; risk tiers, argument
//! rules and rate limits build on this.

pub mod args;
mod lexicon;
pub mod risk;
mod words;

use std::collections::{BTreeMap, HashMap};

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

/// Why a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The user's switch for this tool.
    ToolSwitch,
    /// No switch is set: the default applies.
    Default,
}

/// A decision and the rule that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub decision: Decision,
    /// What decided it.
    pub rule: Rule,
}

/// One server's policy, held in memory by a proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySnapshot {
    switches: HashMap<String, Decision>,
}

impl PolicySnapshot {
    /// Decides a call to `tool`.
    pub fn decide(&self, tool: &str) -> Verdict {
        match self.switches.get(tool) {
            Some(&decision) => Verdict {
                decision,
                rule: Rule::ToolSwitch,
            },
            None => Verdict {
                decision: Decision::Allow,
                rule: Rule::Default,
            },
        }
    }

    /// Whether `tool` is hidden from `tools/list`.
    pub fn hides(&self, tool: &str) -> bool {
        self.decide(tool).decision == Decision::Deny
    }

    /// Whether any tool is hidden: if not, `tools/list` passes untouched.
    pub fn hides_any(&self) -> bool {
        self.switches.values().any(|&d| d == Decision::Deny)
    }
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

    /// The in-memory snapshot a proxy decides with.
    pub fn policy_snapshot(&self, server: &str) -> Result<PolicySnapshot> {
        Ok(PolicySnapshot {
            switches: self.tool_policies(server)?.into_iter().collect(),
        })
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
    fn switches_decide_and_unset_tools_are_allowed() {
        let (_tmp, mut store) = store_with("fs");
        store
            .set_tool_policy("fs", "delete_file", Decision::Deny)
            .unwrap();
        store
            .set_tool_policy("fs", "write_file", Decision::Ask)
            .unwrap();
        let snap = store.policy_snapshot("fs").unwrap();
        assert_eq!(snap.decide("delete_file").decision, Decision::Deny);
        assert_eq!(snap.decide("write_file").decision, Decision::Ask);
        assert_eq!(
            snap.decide("read_file"),
            Verdict {
                decision: Decision::Allow,
                rule: Rule::Default
            }
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
