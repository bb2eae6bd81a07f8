//! `gatehouse pins ...`: approve or reject the tool definitions (and
//! instructions) a server changed or added, which proxies keep hidden
//! until then; the pin mode; and the pin column of `gatehouse tools`.

use gatehouse_engine::pins::{PinItem, PinKind, PinMode, PinState, ServerPins};

use crate::cli::{PinModeArg, PinsCommand};
use crate::output;

pub fn run(cmd: PinsCommand, json: bool) -> anyhow::Result<()> {
    let engine = super::engine()?;
    match cmd {
        PinsCommand::Show { name } => {
            let pins = engine.pins_show(name)?;
            if json {
                return output::json(&pins);
            }
            print_pins(&pins);
        }
        PinsCommand::Approve {
            name,
            tools,
            instructions,
            all,
        } => {
            if all {
                let n = engine.pins_approve_all(name.clone())?;
                println!(
                    "approved {n} definition(s) of {name}; clients see them once they list the tools again"
                );
                return Ok(());
            }
            for (kind, item) in targets(tools, instructions) {
                engine.pins_approve(name.clone(), kind, item.clone())?;
                println!("approved {} of {name}", what(kind, &item));
            }
        }
        PinsCommand::Reject {
            name,
            tools,
            instructions,
        } => {
            for (kind, item) in targets(tools, instructions) {
                engine.pins_reject(name.clone(), kind, item.clone())?;
                println!(
                    "rejected {} of {name}: it stays hidden until the server changes it again or you approve it",
                    what(kind, &item)
                );
            }
        }
        PinsCommand::Mode { mode, server } => {
            let mode = match mode {
                PinModeArg::TrustOnFirstUse => Some(PinMode::TrustOnFirstUse),
                PinModeArg::ReviewFirst => Some(PinMode::ReviewFirst),
                PinModeArg::Default => None,
            };
            engine.pins_set_mode(server.clone(), mode)?;
            let now = match &server {
                Some(s) => engine.store().pin_mode(s)?.0,
                None => engine.store().default_pin_mode()?,
            };
            match server {
                Some(s) => println!("{s}: {}", now.as_str()),
                None => println!("default: {}", now.as_str()),
            }
        }
    }
    Ok(())
}

fn targets(tools: Vec<String>, instructions: bool) -> Vec<(PinKind, String)> {
    let mut out: Vec<(PinKind, String)> = tools.into_iter().map(|t| (PinKind::Tool, t)).collect();
    if instructions {
        out.push((PinKind::Instructions, String::new()));
    }
    out
}

fn what(kind: PinKind, name: &str) -> String {
    match kind {
        PinKind::Tool => format!("tool '{name}'"),
        PinKind::Instructions => "the instructions".into(),
    }
}

/// A pin state in one word, for tables.
pub fn state_word(state: PinState) -> &'static str {
    match state {
        PinState::Pinned => "pinned",
        PinState::Changed => "changed (hidden, awaits review)",
        PinState::New => "new (hidden, awaits review)",
        PinState::Rejected => "rejected (hidden)",
    }
}

fn print_pins(pins: &ServerPins) {
    println!(
        "{}: pin mode {}{}",
        pins.server,
        pins.mode.as_str(),
        if pins.own_mode { "" } else { " (the default)" }
    );
    if pins.items.is_empty() {
        println!(
            "nothing pinned yet: the first tool list through `gatehouse run {}` is",
            pins.server
        );
        return;
    }
    for item in &pins.items {
        print_item(&pins.server, item);
    }
}

fn print_item(server: &str, item: &PinItem) {
    let label = match item.kind {
        PinKind::Tool => item.name.clone(),
        PinKind::Instructions => "(instructions)".into(),
    };
    println!("\n{label}: {}", state_word(item.state));
    if let Some(reason) = &item.reason {
        println!("  why: {reason}");
    }
    if item.state != PinState::Pinned {
        if let Some(pinned) = &item.pinned {
            println!("  approved:\n{}", indent(pinned));
        }
        if let Some(proposed) = &item.proposed {
            println!("  offered now:\n{}", indent(proposed));
        }
        let target = match item.kind {
            PinKind::Tool => item.name.clone(),
            PinKind::Instructions => "--instructions".into(),
        };
        println!(
            "  approve: gatehouse pins approve {server} {target}\n  reject:  gatehouse pins reject {server} {target}"
        );
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
