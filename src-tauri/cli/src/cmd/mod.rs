//! One function per verb. Each opens what it needs (most verbs never start
//! an async runtime) and calls into the engine.

mod alerts;
mod approvals;
mod audit;
mod audit_chain;
mod clients;
mod gateway;
mod oauth;
mod pins;
mod policy;
mod registry;
mod run;
mod scan;
mod secret;
mod server;

use gatehouse_engine::{DataDir, Engine, Keychain};

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Server(cmd) => server::run(cmd, json),
        Command::Secret(cmd) => secret::run(cmd),
        Command::Run {
            name,
            max_message_bytes,
        } => run::run(&name, max_message_bytes),
        Command::Tools { name } => policy::tools(name, json),
        Command::Policy(cmd) => policy::run(cmd, json),
        Command::Clients(cmd) => clients::run(cmd, json),
        Command::Scan(args) => scan::run(args, json),
        Command::Registry(cmd) => registry::run(cmd, json),
        Command::Audit(cmd) => audit::run(cmd, json),
        Command::Approvals(cmd) => approvals::run(cmd, json),
        Command::Alerts(cmd) => alerts::run(cmd, json),
        Command::Pins(cmd) => pins::run(cmd, json),
        Command::Gateway(args) => gateway::run(args, json),
    }
}

/// Opens the engine on the data directory and the OS keychain.
pub(crate) fn engine() -> anyhow::Result<Engine> {
    Ok(Engine::open(DataDir::from_env()?, Box::new(Keychain))?)
}
