//! `gatehouse policy ...` and `gatehouse tools NAME`: what each tool may
//! do, through the same engine calls as the app's server page.

use anyhow::Context;
use gatehouse_engine::Decision;
use gatehouse_engine::pins::{PinKind, PinState};
use gatehouse_engine::policy::args::{ArgKind, ArgRule, ArgumentRules, Check, Refusal};
use gatehouse_engine::policy::rules::RateLimit;
use gatehouse_engine::policy::view::{PolicyChange, ServerPolicy};

use crate::cli::{PolicyArgs, PolicyCommand, PolicyDecision, PolicyDefault, PolicyMark};
use crate::output;

pub fn run(cmd: PolicyCommand, json: bool) -> anyhow::Result<()> {
    let engine = super::engine()?;
    match cmd {
        PolicyCommand::Set {
            name,
            tool,
            decision,
            confirm,
        } => {
            let decision = match decision {
                PolicyDecision::Allow => Decision::Allow,
                PolicyDecision::Ask => Decision::Ask,
                PolicyDecision::Deny => Decision::Deny,
            };
            engine.policy_change(
                name.clone(),
                PolicyChange::Switch {
                    tool: tool.clone(),
                    decision: Some(decision),
                    confirmed: confirm,
                },
            )?;
            println!("{name}/{tool}: {}", decision.as_str());
        }
        PolicyCommand::Unset { name, tool } => {
            engine.policy_change(
                name.clone(),
                PolicyChange::Switch {
                    tool: tool.clone(),
                    decision: None,
                    confirmed: false,
                },
            )?;
            println!("{name}/{tool}: no switch; its defaults and risk tier decide");
        }
        PolicyCommand::Default { decision, server } => {
            let decision = match decision {
                PolicyDefault::Allow => Some(Decision::Allow),
                PolicyDefault::Ask => Some(Decision::Ask),
                PolicyDefault::Deny => Some(Decision::Deny),
                PolicyDefault::None => None,
            };
            let shown = decision.map_or("none", Decision::as_str);
            match server {
                Some(server) => {
                    engine
                        .policy_change(server.clone(), PolicyChange::ServerDefault { decision })?;
                    println!("{server}: default {shown}");
                }
                None => {
                    engine
                        .policy_change(String::new(), PolicyChange::GlobalDefault { decision })?;
                    println!("every server: default {shown}");
                }
            }
        }
        PolicyCommand::Args(args) => {
            let (name, tool) = (args.name.clone(), args.tool.clone());
            let mut rules = engine
                .policy_show(name.clone())?
                .tools
                .into_iter()
                .find(|t| t.name == tool)
                .map(|t| t.rules)
                .unwrap_or_default();
            rules.args = argument_rules(&args)?;
            let count = rules.args.rules.len();
            engine.policy_change(
                name.clone(),
                PolicyChange::Rules {
                    tool: tool.clone(),
                    rules,
                },
            )?;
            println!("{name}/{tool}: {count} argument rule(s)");
        }
        PolicyCommand::Limit { name, tool, rate } => {
            let limit = match rate.trim() {
                "none" => None,
                text => Some(text.parse::<RateLimit>()?),
            };
            let shown = limit.map_or_else(|| "no limit".to_string(), |l| l.to_string());
            match tool {
                None => {
                    engine.policy_change(name.clone(), PolicyChange::ServerRate { rate: limit })?;
                    println!("{name}: {shown}");
                }
                Some(tool) => {
                    let mut rules = tool_rules(&engine, &name, &tool)?;
                    rules.rate = limit;
                    engine.policy_change(
                        name.clone(),
                        PolicyChange::Rules {
                            tool: tool.clone(),
                            rules,
                        },
                    )?;
                    println!("{name}/{tool}: {shown}");
                }
            }
        }
        PolicyCommand::Mark {
            name,
            tool,
            reads_private,
            sends_out,
        } => {
            let mut rules = tool_rules(&engine, &name, &tool)?;
            let mark = |m: PolicyMark| match m {
                PolicyMark::Yes => Some(true),
                PolicyMark::No => Some(false),
                PolicyMark::Auto => None,
            };
            if let Some(m) = reads_private {
                rules.reads_private = mark(m);
            }
            if let Some(m) = sends_out {
                rules.sends_out = mark(m);
            }
            engine.policy_change(
                name.clone(),
                PolicyChange::Rules {
                    tool: tool.clone(),
                    rules,
                },
            )?;
            let shown = engine.policy_show(name.clone())?;
            if let Some(t) = shown.tools.iter().find(|t| t.name == tool) {
                println!(
                    "{name}/{tool}: reads private data: {}; sends data out: {}",
                    yes_no(t.reads_private),
                    yes_no(t.sends_out)
                );
            }
        }
        PolicyCommand::AllowRules { name, remove } => {
            if let Some(id) = remove {
                engine.policy_change(name.clone(), PolicyChange::RemoveAllowRule { id })?;
                println!("removed allow rule {id}");
                return Ok(());
            }
            let rules = engine.policy_show(name)?.allow_rules;
            if json {
                return output::json(&rules);
            }
            let rows: Vec<Vec<String>> = rules
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.tool.clone(),
                        r.pattern.as_ref().map_or_else(
                            || "any arguments".to_string(),
                            |p| {
                                p.iter()
                                    .map(|(k, v)| format!("{k}={v}"))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            },
                        ),
                        r.origin.clone(),
                    ]
                })
                .collect();
            output::table(&["ID", "TOOL", "ARGUMENTS", "FROM"], &rows)?;
        }
    }
    Ok(())
}

/// `gatehouse tools NAME`: each tool with what a call gets and why.
pub fn tools(name: String, json: bool) -> anyhow::Result<()> {
    let engine = super::engine()?;
    let policy: ServerPolicy = engine.policy_show(name.clone())?;
    let pins = engine.pins_show(name)?;
    let pin_of = |tool: &str| {
        pins.items
            .iter()
            .find(|i| i.kind == PinKind::Tool && i.name == tool)
            .map(|i| i.state)
    };
    if json {
        // The policy as the app gets it, plus each tool's `pin` state
        // (null: not pinned) and the server's `pins`.
        let mut value = serde_json::to_value(&policy)?;
        if let Some(tools) = value.get_mut("tools").and_then(|t| t.as_array_mut()) {
            for tool in tools {
                let pin = tool["name"].as_str().and_then(pin_of);
                tool["pin"] = serde_json::to_value(pin)?;
            }
        }
        value["pins"] = serde_json::to_value(&pins)?;
        return output::json(&value);
    }
    if policy.tools.is_empty() {
        println!(
            "{}: no tools seen yet; they are recorded the first time a client lists them through `gatehouse run {}`",
            policy.server, policy.server
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = policy
        .tools
        .iter()
        .map(|t| {
            let mut flags = Vec::new();
            if t.reads_private {
                flags.push("reads private");
            }
            if t.sends_out {
                flags.push("sends out");
            }
            if t.rules.rate.is_some() {
                flags.push("rate-limited");
            }
            if !t.rules.args.rules.is_empty() {
                flags.push("argument rules");
            }
            vec![
                t.name.clone(),
                t.decision.as_str().to_string(),
                t.rule.describe().to_string(),
                t.risk.as_str().to_string(),
                t.reasons
                    .first()
                    .map(|r| r.message.clone())
                    .unwrap_or_default(),
                flags.join(", "),
                pin_of(&t.name)
                    .map_or("not pinned", super::pins::state_word)
                    .to_string(),
            ]
        })
        .collect();
    output::table(
        &["TOOL", "DECISION", "BY", "RISK", "WHY", "NOTES", "PIN"],
        &rows,
    )?;
    if let Some(i) = pins
        .items
        .iter()
        .find(|i| i.kind == PinKind::Instructions && i.state != PinState::Pinned)
    {
        println!("instructions: {}", super::pins::state_word(i.state));
    }
    if pins.pending() > 0 {
        println!(
            "{} change(s) await review: `gatehouse pins show {}` shows them; approve with `gatehouse pins approve {} TOOL|--instructions|--all`",
            pins.pending(),
            pins.server,
            pins.server
        );
    }
    Ok(())
}

fn tool_rules(
    engine: &gatehouse_engine::Engine,
    server: &str,
    tool: &str,
) -> anyhow::Result<gatehouse_engine::policy::rules::ToolRules> {
    Ok(engine
        .policy_show(server.to_string())?
        .tools
        .into_iter()
        .find(|t| t.name == tool)
        .map(|t| t.rules)
        .unwrap_or_default())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The argument rules the flags describe.
fn argument_rules(args: &PolicyArgs) -> anyhow::Result<ArgumentRules> {
    let mut rules = Vec::new();
    let mut push = |check: Check| {
        rules.push(ArgRule {
            argument: args.arg.clone(),
            check,
        })
    };
    for glob in &args.path_allow {
        push(Check::PathAllow { glob: glob.clone() });
    }
    for glob in &args.path_deny {
        push(Check::PathDeny { glob: glob.clone() });
    }
    for domain in &args.domain_allow {
        push(Check::DomainAllow {
            domain: domain.clone(),
        });
    }
    for domain in &args.domain_deny {
        push(Check::DomainDeny {
            domain: domain.clone(),
        });
    }
    if !args.schemes.is_empty() {
        push(Check::Schemes {
            schemes: args.schemes.clone(),
        });
    }
    if !args.methods.is_empty() {
        push(Check::Methods {
            methods: args.methods.clone(),
        });
    }
    for regex in &args.deny_regex {
        push(Check::Pattern {
            regex: regex.clone(),
            on_match: Refusal::Deny,
        });
    }
    let mut kinds = std::collections::BTreeMap::new();
    for spec in &args.kinds {
        let (arg, kind) = spec
            .split_once('=')
            .with_context(|| format!("--kind {spec:?}: write ARG=path|url|method|plain"))?;
        let kind: ArgKind = serde_json::from_value(serde_json::Value::String(kind.to_string()))
            .with_context(|| format!("--kind {spec:?}: the kind is path, url, method or plain"))?;
        kinds.insert(arg.to_string(), kind);
    }
    Ok(ArgumentRules {
        rules,
        kinds,
        unmatched: if args.ask_unmatched {
            Refusal::Ask
        } else {
            Refusal::Deny
        },
    })
}
