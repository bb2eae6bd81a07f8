//! `clients import`: the configs' servers registered in Gatehouse.

use gatehouse_engine::clients;

use super::targeted;
use crate::output;

pub(super) fn import(args: &crate::cli::ImportArgs, json: bool) -> anyhow::Result<()> {
    let configs = targeted(&args.target)?;
    for config in &configs {
        if let Some(error) = &config.error {
            eprintln!("gatehouse: skipped {}: {error}", config.path.display());
        }
    }
    let engine = super::super::engine()?;
    let report = clients::import::import(&engine, &configs)?;
    if args.pin_review {
        for item in &report {
            if item.outcome == clients::import::Outcome::Added {
                engine.pins_set_mode(
                    Some(item.server.clone()),
                    Some(gatehouse_engine::pins::PinMode::ReviewFirst),
                )?;
            }
        }
    }
    if json {
        output::json(&report)?;
    } else {
        print_import(&report);
    }
    if report
        .iter()
        .any(|i| matches!(i.outcome, clients::import::Outcome::Skipped { .. }))
    {
        anyhow::bail!("some servers were not imported: see the reasons above");
    }
    Ok(())
}

fn print_import(report: &[clients::import::Imported]) {
    if report.is_empty() {
        println!("no servers to import (entries already routed through Gatehouse are left out)");
    }
    for item in report {
        let from: Vec<&str> = item
            .sources
            .iter()
            .map(|s| s.client.display_name())
            .collect();
        let what = match &item.outcome {
            clients::import::Outcome::Added => "added",
            clients::import::Outcome::AlreadyRegistered => "already registered",
            clients::import::Outcome::Skipped { .. } => "skipped",
        };
        println!("{what}: {} (from {})", item.server, from.join(", "));
        if let clients::import::Outcome::Skipped { reason } = &item.outcome {
            println!("  {reason}");
        }
        if !item.secrets_moved.is_empty() {
            println!(
                "  moved to the OS keychain: {}",
                item.secrets_moved.join(", ")
            );
        }
        for key in &item.secrets_needed {
            println!(
                "  {key} is filled in by the client; give Gatehouse its value: gatehouse secret set {} {key}",
                item.server
            );
        }
    }
}
