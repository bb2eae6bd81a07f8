//! `gatehouse policy set NAME TOOL allow|ask|deny`.

use gatehouse_engine::Decision;

use crate::cli::{PolicyCommand, PolicyDecision};

pub fn run(cmd: PolicyCommand) -> anyhow::Result<()> {
    let PolicyCommand::Set {
        name,
        tool,
        decision,
    } = cmd;
    let decision = match decision {
        PolicyDecision::Allow => Decision::Allow,
        PolicyDecision::Ask => Decision::Ask,
        PolicyDecision::Deny => Decision::Deny,
    };
    super::engine()?.policy_set(&name, &tool, decision)?;
    println!("{name}/{tool}: {}", decision.as_str());
    Ok(())
}
