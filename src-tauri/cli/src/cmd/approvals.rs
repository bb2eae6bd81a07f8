//! `gatehouse approvals list|allow|deny|timeout`: answering from a terminal
//! what the app's popup asks. The app's broker holds the queue; these talk
//! to it over its socket.

use anyhow::{Context, bail};
use gatehouse_engine::approvals::{self, Answer};
use gatehouse_engine::{DataDir, Store};

use crate::cli::ApprovalsCommand;
use crate::output;

pub fn run(cmd: ApprovalsCommand, json: bool) -> anyhow::Result<()> {
    let dir = DataDir::from_env()?;
    let socket = approvals::socket_path(dir.root());
    match cmd {
        ApprovalsCommand::List => {
            let pending = approvals::list(&socket)?;
            if json {
                return output::json(&pending);
            }
            if pending.is_empty() {
                println!("no calls are waiting for approval");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = pending
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.client.clone().unwrap_or_else(|| "-".into()),
                        format!("{}/{}", r.server, r.tool),
                        r.risk.clone(),
                        r.detail.clone().unwrap_or_else(|| r.rule.clone()),
                        compact(&r.arguments),
                    ]
                })
                .collect();
            output::table(&["ID", "CLIENT", "TOOL", "RISK", "WHY", "ARGUMENTS"], &rows)
        }
        ApprovalsCommand::Allow {
            id,
            session,
            always,
            pattern,
        } => {
            let answer = if always {
                let pattern = if pattern.is_empty() {
                    None
                } else {
                    let mut map = std::collections::BTreeMap::new();
                    for p in &pattern {
                        let (arg, glob) = p
                            .split_once('=')
                            .with_context(|| format!("--pattern {p:?}: write ARG=GLOB"))?;
                        map.insert(arg.to_string(), glob.to_string());
                    }
                    Some(map)
                };
                Answer::AlwaysAllow { pattern }
            } else if session {
                Answer::AllowSession
            } else {
                Answer::AllowOnce
            };
            let outcome = approvals::decide(&socket, &id, answer)?;
            println!("{id}: {}", outcome.answer.describe());
            Ok(())
        }
        ApprovalsCommand::Deny { id } => {
            let outcome = approvals::decide(&socket, &id, Answer::Deny)?;
            println!("{id}: {}", outcome.answer.describe());
            Ok(())
        }
        ApprovalsCommand::Timeout { seconds } => {
            if seconds == 0 {
                bail!("the timeout must be at least 1 second");
            }
            let mut store = Store::open(&dir)?;
            store.set_approval_timeout(std::time::Duration::from_secs(seconds.into()))?;
            println!("calls wait up to {seconds} s for approval");
            Ok(())
        }
    }
}

/// Arguments on one line, shortened for a table.
fn compact(arguments: &str) -> String {
    let one_line: String = serde_json::from_str::<serde_json::Value>(arguments)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| arguments.split_whitespace().collect::<Vec<_>>().join(" "));
    if one_line.chars().count() > 60 {
        let cut: String = one_line.chars().take(57).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}
