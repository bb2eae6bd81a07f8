//! `gatehouse`: the lean binary. Clients' configs launch it as the MCP proxy
//! (`gatehouse run NAME`), and people and scripts use it as the CLI for
//! everything the desktop app does. It links the headless engine only: no
//! WebKit, no GTK, so it starts in about a millisecond.

mod cli;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gatehouse: {err:#}");
            ExitCode::FAILURE
        }
    }
}
