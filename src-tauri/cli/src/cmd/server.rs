//! `gatehouse server add|list|remove|verify|pin|reinstall|update|login|logout`.

use std::collections::BTreeMap;

use clap::CommandFactory;
use clap::error::ErrorKind;
use gatehouse_engine::install::{Installed, LaunchCheck};
use gatehouse_engine::registry::UpdateOptions;
use gatehouse_engine::{Engine, NewServer, Server, Transport};

use crate::cli::{Cli, ServerAddArgs, ServerCommand};
use crate::output;

pub fn run(cmd: ServerCommand, json: bool) -> anyhow::Result<()> {
    let engine = super::engine()?;
    match cmd {
        ServerCommand::Add(args) => {
            let review = args.pin_review;
            let server = engine.server_add(new_server(args))?;
            if review {
                engine.pins_set_mode(
                    Some(server.name.clone()),
                    Some(gatehouse_engine::pins::PinMode::ReviewFirst),
                )?;
            }
            if json {
                output::json(&server)?;
            } else {
                println!("added {}: {}", server.name, target(&server));
            }
        }
        ServerCommand::List => {
            let servers = engine.server_list()?;
            if json {
                output::json(&servers)?;
            } else if servers.is_empty() {
                println!("no servers yet; add one with `gatehouse server add NAME -- COMMAND`");
            } else {
                let rows: Vec<Vec<String>> = servers
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            target(s),
                            s.transport.secret_names().join(","),
                        ]
                    })
                    .collect();
                output::table(&["NAME", "TARGET", "SECRETS"], &rows)?;
            }
        }
        ServerCommand::Remove { name } => {
            engine.server_remove(name.clone())?;
            if json {
                output::json(&serde_json::json!({ "removed": name }))?;
            } else {
                println!("removed {name}");
            }
        }
        ServerCommand::Verify { name } => verify(&engine, &name, json)?,
        ServerCommand::Pin { name, version } => {
            let installed = engine.package_pin_unpinned(&name, version.as_deref())?;
            report_installed(&engine, &name, &installed, "pinned", json)?;
        }
        ServerCommand::Reinstall { name } => {
            let installed = engine.package_reverify(&name)?;
            report_installed(&engine, &name, &installed, "re-installed", json)?;
        }
        ServerCommand::Update {
            name,
            version,
            allow_deprecated,
            confirm_mismatch,
            secrets,
        } => {
            let options = UpdateOptions {
                confirm_mismatch,
                allow_deprecated,
                secrets: super::registry::read_secrets(&name, &secrets)?,
            };
            update(&engine, &name, version, options, json)?;
        }
        ServerCommand::Login {
            name,
            client_id,
            client_secret,
        } => super::oauth::login(&engine, &name, client_id, client_secret, json)?,
        ServerCommand::Logout { name } => super::oauth::logout(&engine, &name, json)?,
    }
    Ok(())
}

/// Builds the spec, turning "neither or both of command and URL" into a usage
/// error (exit 2), like any other malformed command line.
fn new_server(args: ServerAddArgs) -> NewServer {
    let transport = match (args.url, args.command.split_first()) {
        (Some(url), None) => Transport::Http {
            url,
            headers: args.headers.into_iter().collect(),
            secrets: args.secret_headers,
        },
        (None, Some((command, rest))) => Transport::Stdio {
            command: command.clone(),
            args: rest.to_vec(),
            env: args.env.into_iter().collect::<BTreeMap<_, _>>(),
            secrets: args.secrets,
        },
        (Some(_), Some(_)) => usage("give either --url URL or -- COMMAND, not both"),
        (None, None) => usage("give the command to launch after `--`, or --url URL"),
    };
    NewServer {
        name: args.name,
        transport,
    }
}

fn usage(message: &str) -> ! {
    let mut cmd = Cli::command();
    let add = cmd
        .find_subcommand_mut("server")
        .and_then(|s| s.find_subcommand_mut("add"))
        .expect("server add exists")
        .clone();
    add.bin_name("gatehouse server add")
        .error(ErrorKind::MissingRequiredArgument, message)
        .exit()
}

/// What a server points at, for one line of text.
fn target(server: &Server) -> String {
    match &server.transport {
        Transport::Stdio { command, args, .. } => std::iter::once(command.as_str())
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        Transport::Http { url, .. } => url.clone(),
    }
}

/// `server verify NAME`: the launch's check, reported. Exit 1 on a mismatch.
fn verify(engine: &Engine, name: &str, json: bool) -> anyhow::Result<()> {
    let store = engine.store();
    store.server(name)?;
    let check = store.package_check(name)?;
    drop(store);
    let (pin, problem) = match &check {
        LaunchCheck::NoPackage => (None, None),
        LaunchCheck::Verified(pin) => (Some(pin), None),
        LaunchCheck::Mismatch { pin, reason } => (Some(pin), Some(reason.as_str())),
    };
    if json {
        output::json(&serde_json::json!({
            "server": name,
            "package": pin.map(|p| p.key()),
            "path": pin.map(|p| p.path.display().to_string()),
            "tree_hash": pin.map(|p| p.tree_hash.as_str()),
            "verified": pin.is_some() && problem.is_none(),
            "problem": problem,
        }))?;
    } else {
        match (pin, problem) {
            (None, _) => println!("{name} runs no installed package; nothing to verify"),
            (Some(pin), None) => println!(
                "{name}: {} verified (tree sha256 {})",
                pin.key(),
                pin.tree_hash
            ),
            (Some(_), Some(reason)) => eprintln!("gatehouse: {name}: {reason}"),
        }
    }
    if problem.is_some() {
        std::process::exit(1);
    }
    Ok(())
}

/// What `server pin` and `server reinstall` did.
fn report_installed(
    engine: &Engine,
    name: &str,
    installed: &Installed,
    done: &str,
    json: bool,
) -> anyhow::Result<()> {
    let pin = engine.store().package_pin(name)?;
    let key = pin.map(|p| p.key()).unwrap_or_default();
    if json {
        output::json(&serde_json::json!({
            "server": name,
            "package": key,
            "path": installed.path,
            "tree_hash": installed.tree_hash,
            "command": installed.command,
            "args": installed.args,
        }))?;
    } else {
        println!(
            "{done} {name}: {key} in {} (tree sha256 {}); it launches from there, checked before every start",
            installed.path.display(),
            installed.tree_hash
        );
    }
    Ok(())
}

/// `server update NAME`: moves the server to another registry version,
/// the phases on stderr as an install prints them.
fn update(
    engine: &Engine,
    name: &str,
    version: Option<String>,
    options: UpdateOptions,
    json: bool,
) -> anyhow::Result<()> {
    let updated = engine.registry_update_with(name.to_string(), version, options, |phase| {
        if !json {
            eprintln!("{}", super::registry::phase_text(phase));
        }
    })?;
    if json {
        return output::json(&updated);
    }
    println!(
        "Updated '{name}': {} {} \u{2192} {}, {} {}@{}, tree {}",
        updated.origin.name,
        updated.previous.version,
        updated.origin.version,
        updated.package.kind.as_str(),
        updated.package.identifier,
        updated.package.version,
        &updated.tree_hash[..updated.tree_hash.len().min(16)],
    );
    println!(
        "Its policy and secrets are kept; its tools are checked against their pins when it next lists them."
    );
    Ok(())
}
