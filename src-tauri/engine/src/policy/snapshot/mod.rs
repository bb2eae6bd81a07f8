//! One server's policy, compiled for a proxy to decide each call with.
//!
//! [`Store::policy_snapshot`] reads everything the person set for a server
//! (switches, defaults, argument rules, flow marks, rate limits, "always
//! allow" rules) and the tools it last listed, assesses each tool's risk
//! and compiles the argument rules, once. [`PolicySnapshot::decide`] then
//! costs a hash lookup, plus the argument rules' evaluation when the tool
//! has any. Rate limits and the flow rule need state outside the snapshot
//! (the store's counts, the session's history): the proxy applies them
//! with [`PolicySnapshot::limits`] and [`PolicySnapshot::marks`].
//!
//! # How a call is decided
//!
//! 1. The tool's switch, if the person set one, is the base decision.
//!    Otherwise the server's default, else the global default, else allow;
//!    raised to the risk tier's default if that is stricter (a high-risk
//!    tool asks even when the default is allow).
//! 2. Deny stops there.
//! 3. Argument rules: a deny denies; an ask turns an allow into an ask.
//! 4. An ask from step 1 becomes an allow when an "always allow" rule of
//!    the tool matches the arguments.

use std::collections::{BTreeMap, HashMap};

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use ts_rs::TS;

use super::args::{ArgKind, ArgRule, ArgumentRules, Check, CompiledRules, PathContext, infer_kind};
use super::risk::{RiskAssessment, ScanFindings, ToolDefinition, assess};
use super::rules::{AllowRule, RateLimit, ToolRules};
use super::{Decision, stricter};
use crate::{Error, Result, Store};

/// What decided a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum Rule {
    /// The person's switch for this tool.
    ToolSwitch,
    /// The server's default.
    ServerDefault,
    /// The global default.
    GlobalDefault,
    /// The tool's risk tier (no switch, and the defaults are less strict).
    RiskTier,
    /// An argument rule.
    ArgumentRule,
    /// An "always allow" rule matched the arguments.
    AllowRule,
    /// A rate limit was reached.
    RateLimit,
    /// The session read private data and this tool sends data out.
    FlowRule,
}

impl Rule {
    /// A short phrase for messages: "the tool's switch".
    pub fn describe(self) -> &'static str {
        match self {
            Rule::ToolSwitch => "the tool's switch",
            Rule::ServerDefault => "the server's default",
            Rule::GlobalDefault => "the global default",
            Rule::RiskTier => "the tool's risk tier",
            Rule::ArgumentRule => "an argument rule",
            Rule::AllowRule => "an \"always allow\" rule",
            Rule::RateLimit => "a rate limit",
            Rule::FlowRule => "the flow rule",
        }
    }
}

/// A decision, what made it, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub decision: Decision,
    /// What decided it.
    pub rule: Rule,
    /// A sentence saying why, when an argument rule decided.
    pub detail: Option<String>,
}

impl Verdict {
    fn new(decision: Decision, rule: Rule) -> Self {
        Self {
            decision,
            rule,
            detail: None,
        }
    }
}

/// Everything a snapshot is built from; two snapshots are equal when their
/// sources are.
#[derive(Debug, Clone, Default, PartialEq)]
struct Source {
    switches: BTreeMap<String, Decision>,
    rules: BTreeMap<String, ToolRules>,
    allow: Vec<AllowRule>,
    tools: BTreeMap<String, Value>,
    server_default: Option<Decision>,
    global_default: Option<Decision>,
    server_rate: Option<RateLimit>,
    /// What the tools and instructions are checked against.
    pins: std::sync::Arc<crate::pins::PinSet>,
}

/// A tool, compiled.
struct ToolPolicy {
    switch: Option<Decision>,
    risk: RiskAssessment,
    args: Option<CompiledRules>,
    allow: Vec<AllowMatcher>,
    reads_private: bool,
    sends_out: bool,
    rate: Option<RateLimit>,
}

/// One "always allow" rule, compiled: path arguments are matched after
/// canonicalisation (through argument rules), others by glob on the value.
struct AllowMatcher {
    any: bool,
    /// Every argument the pattern names: each must be there.
    named: Vec<String>,
    paths: Option<CompiledRules>,
    globs: Vec<(String, GlobMatcher)>,
}

impl AllowMatcher {
    fn matches(&self, args: &Value) -> bool {
        if self.any {
            return true;
        }
        if !self
            .named
            .iter()
            .all(|n| args.get(n).is_some_and(Value::is_string))
        {
            return false;
        }
        if let Some(paths) = &self.paths
            && paths.evaluate(args).decision != Decision::Allow
        {
            return false;
        }
        self.globs.iter().all(|(name, glob)| {
            args.get(name)
                .and_then(Value::as_str)
                .is_some_and(|v| plain_value(v) && glob.is_match(v))
        })
    }
}

/// A value an "always allow" glob may match: one line, no shell or path
/// tricks that could make it mean more than it shows.
fn plain_value(v: &str) -> bool {
    !v.chars()
        .any(|c| c.is_control() || matches!(c, ';' | '|' | '`' | '&'))
        && !v.contains("$(")
        && !v.split(['/', '\\']).any(|segment| segment == "..")
}

/// One server's policy, held in memory by a proxy.
#[derive(Default)]
pub struct PolicySnapshot {
    source: Source,
    tools: HashMap<String, ToolPolicy>,
    /// Home and working directory, read once when the snapshot is built:
    /// a call to a tool the snapshot does not know compiles its policy on
    /// the call's path, which must not ask the system for them each time.
    ctx: PathContext,
}

impl PartialEq for PolicySnapshot {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl std::fmt::Debug for PolicySnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySnapshot")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl PolicySnapshot {
    fn build(source: Source) -> Self {
        let mut names: Vec<&String> = source
            .tools
            .keys()
            .chain(source.switches.keys())
            .chain(source.rules.keys())
            .chain(source.allow.iter().map(|a| &a.tool))
            .collect();
        names.sort();
        names.dedup();
        let ctx = PathContext::from_env();
        let tools = names
            .into_iter()
            .map(|name| {
                let definition = source.tools.get(name);
                let policy = compile_tool(name, definition, &source, &ctx);
                (name.clone(), policy)
            })
            .collect();
        Self { source, tools, ctx }
    }

    /// The stored definition of `tool`, as the server last listed it.
    pub(crate) fn definition(&self, tool: &str) -> Option<&Value> {
        self.source.tools.get(tool)
    }

    /// Decides a call to `tool` with `arguments` (the raw JSON of
    /// `params.arguments`, parsed only when a rule needs it).
    pub fn decide(&self, tool: &str, arguments: Option<&RawValue>) -> Verdict {
        let unknown;
        let policy = match self.tools.get(tool) {
            Some(p) => p,
            None => {
                unknown = compile_tool(tool, None, &self.source, &self.ctx);
                &unknown
            }
        };
        let base = self.base(policy);
        if base.decision == Decision::Deny {
            return base;
        }
        let needs_args = policy.args.is_some() || !policy.allow.is_empty();
        let parsed: Value = match arguments {
            Some(raw) if needs_args => match serde_json::from_str(raw.get()) {
                Ok(v) => v,
                Err(_) => {
                    return Verdict {
                        decision: Decision::Deny,
                        rule: Rule::ArgumentRule,
                        detail: Some("the arguments are not valid JSON".into()),
                    };
                }
            },
            _ => Value::Object(Default::default()),
        };
        if let Some(rules) = &policy.args {
            let verdict = rules.evaluate(&parsed);
            let detail = verdict.reason.map(|r| r.message);
            match verdict.decision {
                Decision::Deny => {
                    return Verdict {
                        decision: Decision::Deny,
                        rule: Rule::ArgumentRule,
                        detail,
                    };
                }
                Decision::Ask if base.decision == Decision::Allow => {
                    return Verdict {
                        decision: Decision::Ask,
                        rule: Rule::ArgumentRule,
                        detail,
                    };
                }
                _ => {}
            }
        }
        if base.decision == Decision::Ask && policy.allow.iter().any(|a| a.matches(&parsed)) {
            return Verdict::new(Decision::Allow, Rule::AllowRule);
        }
        base
    }

    /// The decision before arguments: switch, defaults and risk tier.
    fn base(&self, policy: &ToolPolicy) -> Verdict {
        if let Some(switch) = policy.switch {
            return Verdict::new(switch, Rule::ToolSwitch);
        }
        let fallback = match (self.source.server_default, self.source.global_default) {
            (Some(d), _) => Verdict::new(d, Rule::ServerDefault),
            (None, Some(d)) => Verdict::new(d, Rule::GlobalDefault),
            (None, None) => Verdict::new(Decision::Allow, Rule::RiskTier),
        };
        let tier = policy.risk.default_decision;
        if stricter(tier, fallback.decision) {
            Verdict::new(tier, Rule::RiskTier)
        } else {
            fallback
        }
    }

    /// Whether `tool` is hidden from `tools/list`: denied whatever its
    /// arguments.
    pub fn hides(&self, tool: &str) -> bool {
        match self.tools.get(tool) {
            Some(p) => self.base(p).decision == Decision::Deny,
            None => {
                self.source.switches.get(tool) == Some(&Decision::Deny) || self.default_denies()
            }
        }
    }

    fn default_denies(&self) -> bool {
        self.source.server_default.or(self.source.global_default) == Some(Decision::Deny)
    }

    /// Whether any tool is hidden: if not, `tools/list` passes untouched.
    pub fn hides_any(&self) -> bool {
        self.default_denies() || self.source.switches.values().any(|&d| d == Decision::Deny)
    }

    /// The server's pins: what its listings are checked against.
    pub fn pins(&self) -> &std::sync::Arc<crate::pins::PinSet> {
        &self.source.pins
    }

    /// The rate limits a call of `tool` counts against: the tool's own and
    /// the server's.
    pub fn limits(&self, tool: &str) -> (Option<RateLimit>, Option<RateLimit>) {
        (
            self.tools.get(tool).and_then(|p| p.rate),
            self.source.server_rate,
        )
    }

    /// Whether `tool` reads private data and whether it sends data out:
    /// the person's marks, else the suggested ones.
    pub fn marks(&self, tool: &str) -> (bool, bool) {
        match self.tools.get(tool) {
            Some(p) => (p.reads_private, p.sends_out),
            None => {
                let risk = assess(&named(tool), ScanFindings::NONE);
                (risk.reads_private, risk.sends_out)
            }
        }
    }

    /// Every tool the snapshot knows: listed by the server, or named by a
    /// setting.
    pub(super) fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.tools.keys().map(String::as_str)
    }

    /// The person's switch for `tool`, if set.
    pub(super) fn switch(&self, tool: &str) -> Option<Decision> {
        self.source.switches.get(tool).copied()
    }

    /// What decides `tool` before its arguments, its risk, its settings
    /// and its flow marks in effect.
    pub(super) fn explain(&self, tool: &str) -> (Verdict, RiskAssessment, ToolRules, (bool, bool)) {
        let rules = self.source.rules.get(tool).cloned().unwrap_or_default();
        match self.tools.get(tool) {
            Some(p) => (
                self.base(p),
                p.risk.clone(),
                rules,
                (p.reads_private, p.sends_out),
            ),
            None => {
                let p = compile_tool(tool, None, &self.source, &self.ctx);
                (
                    self.base(&p),
                    p.risk.clone(),
                    rules,
                    (p.reads_private, p.sends_out),
                )
            }
        }
    }

    /// The tool's risk assessment (from its name alone if it was never
    /// listed).
    pub fn risk(&self, tool: &str) -> RiskAssessment {
        match self.tools.get(tool) {
            Some(p) => p.risk.clone(),
            None => assess(&named(tool), ScanFindings::NONE),
        }
    }
}

/// A tool known by its name only (never listed by the server).
fn named(name: &str) -> ToolDefinition {
    ToolDefinition {
        name: name.to_string(),
        ..Default::default()
    }
}

/// Builds one tool's compiled policy. Rules that do not compile (the store
/// validates them, so only a schema change can cause it) fail closed: the
/// tool's calls are denied with the reason.
fn compile_tool(
    name: &str,
    definition: Option<&Value>,
    source: &Source,
    ctx: &PathContext,
) -> ToolPolicy {
    let tool = definition
        .and_then(ToolDefinition::from_json)
        .unwrap_or_else(|| named(name));
    let scan = definition.map_or(ScanFindings::NONE, |d| {
        let siblings: Vec<&str> = source.tools.keys().map(String::as_str).collect();
        crate::scan::summary(&crate::scan::scan_tool_among(d, &siblings))
    });
    let risk = assess(&tool, scan);
    let rules = source.rules.get(name);
    let schema = &tool.input_schema;
    let mut switch = source.switches.get(name).copied();
    let args =
        rules.filter(|r| !r.args.rules.is_empty()).and_then(|r| {
            match CompiledRules::compile(&r.args, name, schema, ctx.clone()) {
                Ok(c) => Some(c),
                Err(_) => {
                    switch = Some(Decision::Deny);
                    None
                }
            }
        });
    let allow = source
        .allow
        .iter()
        .filter(|a| a.tool == name)
        .filter_map(|a| allow_matcher(a, name, schema, ctx))
        .collect();
    ToolPolicy {
        switch,
        args,
        allow,
        reads_private: rules
            .and_then(|r| r.reads_private)
            .unwrap_or(risk.reads_private),
        sends_out: rules.and_then(|r| r.sends_out).unwrap_or(risk.sends_out),
        rate: rules.and_then(|r| r.rate),
        risk,
    }
}

fn allow_matcher(
    rule: &AllowRule,
    tool: &str,
    schema: &Value,
    ctx: &PathContext,
) -> Option<AllowMatcher> {
    let Some(pattern) = &rule.pattern else {
        return Some(AllowMatcher {
            any: true,
            named: Vec::new(),
            paths: None,
            globs: Vec::new(),
        });
    };
    let mut path_rules = Vec::new();
    let mut globs = Vec::new();
    for (argument, glob) in pattern {
        let property = schema
            .get("properties")
            .and_then(|p| p.get(argument))
            .unwrap_or(&Value::Null);
        if infer_kind(argument, property) == Some(ArgKind::Path) {
            path_rules.push(ArgRule {
                argument: Some(argument.clone()),
                check: Check::PathAllow { glob: glob.clone() },
            });
        } else {
            let matcher = GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .ok()?
                .compile_matcher();
            globs.push((argument.clone(), matcher));
        }
    }
    let paths = if path_rules.is_empty() {
        None
    } else {
        let rules = ArgumentRules {
            rules: path_rules,
            ..Default::default()
        };
        Some(CompiledRules::compile(&rules, tool, schema, ctx.clone()).ok()?)
    };
    Some(AllowMatcher {
        any: false,
        named: pattern.keys().cloned().collect(),
        paths,
        globs,
    })
}

/// `Ok(None)` for a server that is not registered.
fn registered<T>(r: Result<Option<T>>) -> Result<Option<T>> {
    match r {
        Err(Error::ServerNotFound(_)) => Ok(None),
        other => other,
    }
}

impl Store {
    /// The compiled policy a proxy of `server` decides with.
    /// A server that is not registered has nothing set: the global
    /// default and risk tiers apply.
    pub fn policy_snapshot(&self, server: &str) -> Result<PolicySnapshot> {
        let source = Source {
            switches: self.tool_policies(server)?,
            rules: self.all_tool_rules(server)?,
            allow: self.allow_rules(server)?,
            tools: self.tools(server)?,
            server_default: registered(self.server_default(server))?,
            global_default: self.global_default()?,
            server_rate: registered(self.server_rate(server))?,
            pins: std::sync::Arc::new(
                registered(self.pin_set(server).map(Some))?.unwrap_or_default(),
            ),
        };
        Ok(PolicySnapshot::build(source))
    }
}

#[cfg(test)]
mod tests;
