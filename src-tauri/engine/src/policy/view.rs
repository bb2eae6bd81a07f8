//! The policy as the app and `gatehouse tools` show it, and the changes
//! they make: one place for both, so the GUI and the CLI agree.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::Decision;
use super::args::{ArgVerdict, ArgumentRules, CompiledRules, PathContext};
use super::risk::{RiskReason, RiskTier};
use super::rules::{AllowRule, RateLimit, ToolRules};
use super::snapshot::{PolicySnapshot, Rule};
use crate::{Engine, Error, Result};

/// One tool of a server: what the person set, what the risk tier says, and
/// what a call gets (before its arguments are looked at).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ToolView {
    /// The tool's name.
    pub name: String,
    /// Its title, if the server gave one.
    pub title: Option<String>,
    /// What the server says it does.
    pub description: Option<String>,
    /// Whether the server listed it last time (else only settings name it).
    pub listed: bool,
    /// The person's switch, if set.
    pub switch: Option<Decision>,
    /// What a call gets before argument rules: the switch, else the
    /// defaults raised to the risk tier's.
    pub decision: Decision,
    /// What decided `decision`.
    pub rule: Rule,
    /// The tool's risk tier.
    pub risk: RiskTier,
    /// Why, one sentence each.
    pub reasons: Vec<RiskReason>,
    /// Setting "allow" needs a confirmation (critical tools).
    pub needs_confirmation: bool,
    /// Argument rules, flow marks and rate limit as set.
    pub rules: ToolRules,
    /// The flow marks in effect (the person's, else the suggested ones).
    pub reads_private: bool,
    /// See `reads_private`.
    pub sends_out: bool,
}

/// A server's whole policy, for its detail page and `gatehouse tools`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ServerPolicy {
    /// The server.
    pub server: String,
    /// The server's default, if set.
    pub default: Option<Decision>,
    /// The global default, if set.
    pub global_default: Option<Decision>,
    /// The server-wide rate limit.
    pub rate: Option<RateLimit>,
    /// Its tools, by name.
    pub tools: Vec<ToolView>,
    /// Its "always allow" rules.
    pub allow_rules: Vec<AllowRule>,
}

/// What the person wants to change in a server's policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "change", rename_all = "snake_case")]
#[ts(export)]
pub enum PolicyChange {
    /// Set a tool's switch; `confirmed` for allowing a critical tool.
    Switch {
        /// The tool.
        tool: String,
        /// The new switch; `None` removes it (defaults apply).
        decision: Option<Decision>,
        /// The person confirmed allowing a critical tool.
        #[serde(default)]
        confirmed: bool,
    },
    /// Replace a tool's argument rules, flow marks and rate limit.
    Rules {
        /// The tool.
        tool: String,
        /// The new settings.
        rules: ToolRules,
    },
    /// Set (or clear) the server's default.
    ServerDefault {
        /// The default; `None` clears it.
        decision: Option<Decision>,
    },
    /// Set (or clear) the global default, for every server.
    GlobalDefault {
        /// The default; `None` clears it.
        decision: Option<Decision>,
    },
    /// Set (or clear) the server-wide rate limit.
    ServerRate {
        /// The limit; `None` clears it.
        rate: Option<RateLimit>,
    },
    /// Add an "always allow" rule.
    AddAllowRule {
        /// The tool.
        tool: String,
        /// Argument → glob; `None`: any arguments.
        pattern: Option<std::collections::BTreeMap<String, String>>,
    },
    /// Remove an "always allow" rule by id.
    RemoveAllowRule {
        /// Its id.
        #[ts(type = "number")]
        id: i64,
    },
}

impl PolicySnapshot {
    /// Every tool the snapshot knows, as shown to the person.
    pub(super) fn views(
        &self,
        definitions: &std::collections::BTreeMap<String, Value>,
    ) -> Vec<ToolView> {
        let mut out: Vec<ToolView> = self
            .tool_names()
            .map(|name| {
                let (verdict, risk, rules, marks) = self.explain(name);
                let definition = definitions.get(name);
                let text = |key: &str| {
                    definition
                        .and_then(|d| d.get(key))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                ToolView {
                    name: name.to_string(),
                    title: text("title"),
                    description: text("description"),
                    listed: definition.is_some(),
                    switch: self.switch(name),
                    decision: verdict.decision,
                    rule: verdict.rule,
                    risk: risk.tier,
                    needs_confirmation: risk.needs_confirmation_to_always_allow,
                    reasons: risk.reasons,
                    rules,
                    reads_private: marks.0,
                    sends_out: marks.1,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

impl Engine {
    /// `server`'s policy: defaults, rate limit, each tool with its risk and
    /// settings, and the "always allow" rules.
    pub fn policy_show(&self, server: String) -> Result<ServerPolicy> {
        let store = self.store();
        store.server(&server)?;
        let snapshot = store.policy_snapshot(&server)?;
        let definitions = store.tools(&server)?;
        Ok(ServerPolicy {
            default: store.server_default(&server)?,
            global_default: store.global_default()?,
            rate: store.server_rate(&server)?,
            tools: snapshot.views(&definitions),
            allow_rules: store.allow_rules(&server)?,
            server,
        })
    }

    /// Makes one change to `server`'s policy (or the global default).
    /// Allowing a critical tool without `confirmed` is refused with
    /// `needs_confirmation`, so the app can ask and try again.
    pub fn policy_change(&self, server: String, change: PolicyChange) -> Result<()> {
        let mut store = self.store();
        match change {
            PolicyChange::Switch {
                tool,
                decision,
                confirmed,
            } => match decision {
                Some(Decision::Allow) if !confirmed => {
                    let snapshot = store.policy_snapshot(&server)?;
                    let risk = snapshot.risk(&tool);
                    if risk.needs_confirmation_to_always_allow {
                        let why: Vec<&str> = risk
                            .reasons
                            .iter()
                            .filter(|r| r.tier == RiskTier::Critical)
                            .map(|r| r.message.as_str())
                            .collect();
                        return Err(Error::NeedsConfirmation(format!(
                            "'{tool}' of server '{server}' is a critical tool ({}); confirm to always allow it (`--confirm` on the command line)",
                            why.join("; ")
                        )));
                    }
                    store.set_tool_policy(&server, &tool, Decision::Allow)
                }
                Some(decision) => store.set_tool_policy(&server, &tool, decision),
                None => store.unset_tool_policy(&server, &tool),
            },
            PolicyChange::Rules { tool, rules } => store.set_tool_rules(&server, &tool, &rules),
            PolicyChange::ServerDefault { decision } => store.set_server_default(&server, decision),
            PolicyChange::GlobalDefault { decision } => store.set_global_default(decision),
            PolicyChange::ServerRate { rate } => store.set_server_rate(&server, rate),
            PolicyChange::AddAllowRule { tool, pattern } => store
                .add_allow_rule(&server, &tool, pattern.as_ref(), "user")
                .map(drop),
            PolicyChange::RemoveAllowRule { id } => store.remove_allow_rule(id),
        }
    }

    /// What `rules` would make of a call of `server`'s `tool` with
    /// `arguments` (JSON text, as the person types it): the live preview
    /// beside the rule editor. Rules that do not compile are an error
    /// naming the rule.
    pub fn policy_preview(
        &self,
        server: String,
        tool: String,
        rules: ArgumentRules,
        arguments: String,
    ) -> Result<ArgVerdict> {
        let arguments: Value = serde_json::from_str(&arguments)
            .map_err(|e| Error::InvalidSpec(format!("the arguments are not JSON: {e}")))?;
        let schema = self
            .store()
            .tools(&server)?
            .remove(&tool)
            .and_then(|d| d.get("inputSchema").cloned())
            .unwrap_or(Value::Null);
        let compiled = CompiledRules::compile(&rules, &tool, &schema, PathContext::from_env())?;
        Ok(compiled.evaluate(&arguments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataDir, Keychain, NewServer, Transport};

    fn engine() -> (tempfile::TempDir, Engine) {
        let tmp = tempfile::tempdir().unwrap();
        let engine = Engine::open(DataDir::at(tmp.path()).unwrap(), Box::new(Keychain)).unwrap();
        engine
            .server_add(NewServer {
                name: "fs".into(),
                transport: Transport::stdio("node", ["s.js"]),
            })
            .unwrap();
        (tmp, engine)
    }

    #[test]
    fn a_critical_tool_is_allowed_only_once_confirmed() {
        let (_tmp, engine) = engine();
        let switch = |confirmed| PolicyChange::Switch {
            tool: "delete_file".into(),
            decision: Some(Decision::Allow),
            confirmed,
        };
        let err = engine
            .policy_change("fs".into(), switch(false))
            .unwrap_err();
        assert_eq!(err.code(), "needs_confirmation", "{err}");
        assert!(err.to_string().contains("delete_file"), "{err}");
        let shown = engine.policy_show("fs".into()).unwrap();
        assert!(shown.tools.is_empty(), "nothing was set");

        engine.policy_change("fs".into(), switch(true)).unwrap();
        let shown = engine.policy_show("fs".into()).unwrap();
        let tool = &shown.tools[0];
        assert_eq!(
            (tool.switch, tool.decision),
            (Some(Decision::Allow), Decision::Allow)
        );
        assert_eq!(tool.risk, RiskTier::Critical);

        // A low-risk tool needs no confirmation.
        engine
            .policy_change(
                "fs".into(),
                PolicyChange::Switch {
                    tool: "read_file".into(),
                    decision: Some(Decision::Allow),
                    confirmed: false,
                },
            )
            .unwrap();
    }

    #[test]
    fn show_lists_listed_tools_with_their_tier_and_what_decides_them() {
        let (_tmp, engine) = engine();
        engine
            .store()
            .record_tools(
                "fs",
                &[
                    (
                        "read_file".into(),
                        r#"{"name":"read_file","description":"Read a file."}"#.into(),
                    ),
                    (
                        "write_file".into(),
                        r#"{"name":"write_file","description":"Write a file."}"#.into(),
                    ),
                ],
                true,
            )
            .unwrap();
        let shown = engine.policy_show("fs".into()).unwrap();
        let names: Vec<_> = shown.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["read_file", "write_file"]);
        let read = &shown.tools[0];
        assert_eq!(
            (read.decision, read.rule),
            (Decision::Allow, Rule::RiskTier)
        );
        assert!(read.listed && read.reads_private);
        let write = &shown.tools[1];
        assert_eq!(
            (write.decision, write.rule),
            (Decision::Ask, Rule::RiskTier)
        );
        assert!(!write.reasons.is_empty());

        engine
            .policy_change(
                "fs".into(),
                PolicyChange::ServerDefault {
                    decision: Some(Decision::Deny),
                },
            )
            .unwrap();
        let shown = engine.policy_show("fs".into()).unwrap();
        assert_eq!(shown.default, Some(Decision::Deny));
        assert!(shown.tools.iter().all(|t| t.decision == Decision::Deny));
        assert!(shown.tools.iter().all(|t| t.rule == Rule::ServerDefault));
    }

    #[test]
    fn the_preview_judges_arguments_without_saving_anything() {
        let (_tmp, engine) = engine();
        let rules: ArgumentRules = serde_json::from_value(serde_json::json!({
            "rules": [{"argument": "path", "kind": "path_allow", "glob": "/reports/**"}]
        }))
        .unwrap();
        let ok = engine
            .policy_preview(
                "fs".into(),
                "read_file".into(),
                rules.clone(),
                r#"{"path": "/reports/q4.txt"}"#.into(),
            )
            .unwrap();
        assert_eq!(ok.decision, Decision::Allow);
        let escape = engine
            .policy_preview(
                "fs".into(),
                "read_file".into(),
                rules,
                r#"{"path": "/reports/../etc/passwd"}"#.into(),
            )
            .unwrap();
        assert_eq!(escape.decision, Decision::Deny);
        assert!(engine.policy_show("fs".into()).unwrap().tools.is_empty());
    }
}
