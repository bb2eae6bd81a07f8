//! `clients list`: each config found, its servers without secret values,
//! and its findings.

use std::path::Path;

use gatehouse_engine::audit::redact::REDACTED;
use gatehouse_engine::clients::{Client, ClientConfig, ConfigSource, Entry, Finding, FindingRule};
use serde::Serialize;

use super::{discover, home};
use crate::cli::ProjectArgs;
use crate::output;

/// One config file, as `clients list --json` shows it.
#[derive(Serialize)]
struct ClientView<'a> {
    client: Client,
    display_name: &'static str,
    path: &'a Path,
    source: &'a ConfigSource,
    error: Option<&'a str>,
    /// About the file as a whole (Goose's `secrets.yaml` beside it).
    findings: &'a [Finding],
    servers: Vec<ServerView<'a>>,
}

/// One server entry, without secret values.
#[derive(Serialize)]
struct ServerView<'a> {
    name: &'a str,
    scope: Option<&'a str>,
    routed: bool,
    routed_to: Option<&'a str>,
    transport: &'a str,
    disabled: bool,
    command: Option<&'a str>,
    args: Vec<&'a str>,
    url: Option<&'a str>,
    env_keys: Vec<&'a str>,
    env_refs: &'a [String],
    header_names: Vec<&'a str>,
    findings: &'a [Finding],
}

fn is_secret_field(entry: &Entry, field: &str) -> bool {
    entry
        .findings
        .iter()
        .any(|f| f.rule == FindingRule::PlaintextSecret && f.field.as_deref() == Some(field))
}

impl<'a> ServerView<'a> {
    fn new(entry: &'a Entry) -> Self {
        let args = entry
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if is_secret_field(entry, &format!("args.{i}")) {
                    REDACTED
                } else {
                    a.as_str()
                }
            })
            .collect();
        let url = entry.url.as_deref().map(|u| {
            if is_secret_field(entry, "url") {
                REDACTED
            } else {
                u
            }
        });
        Self {
            name: &entry.name,
            scope: entry.scope.as_deref(),
            routed: entry.routed(),
            routed_to: entry.routed_to(),
            transport: &entry.transport,
            disabled: entry.disabled,
            command: entry.command.as_deref(),
            args,
            url,
            env_keys: entry.env.keys().map(String::as_str).collect(),
            env_refs: &entry.env_refs,
            header_names: entry.headers.keys().map(String::as_str).collect(),
            findings: &entry.findings,
        }
    }

    /// What the entry launches or connects to, on one line.
    fn target(&self) -> String {
        match (self.command, self.url) {
            (Some(command), _) => {
                let mut line = command.to_string();
                for arg in &self.args {
                    line.push(' ');
                    line.push_str(arg);
                }
                line
            }
            (None, Some(url)) => url.to_string(),
            (None, None) => "(provided by the client)".into(),
        }
    }
}

fn view(config: &ClientConfig) -> ClientView<'_> {
    ClientView {
        client: config.client,
        display_name: config.client.display_name(),
        path: &config.path,
        source: &config.source,
        error: config.error.as_deref(),
        findings: &config.findings,
        servers: config.servers.iter().map(ServerView::new).collect(),
    }
}

pub(super) fn list(projects: &ProjectArgs, json: bool) -> anyhow::Result<()> {
    let home = home()?;
    let configs = discover(&home, projects)?;
    let views: Vec<ClientView<'_>> = configs.iter().map(view).collect();
    if json {
        return output::json(&views);
    }
    if views.is_empty() {
        println!(
            "no MCP client configs found under {}; looked for {}",
            home.display(),
            Client::ALL.map(Client::display_name).join(", ")
        );
        return Ok(());
    }
    for (i, client) in views.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let whose = match client.source {
            ConfigSource::User => String::new(),
            ConfigSource::Project { dir } => format!("  (project {})", dir.display()),
            ConfigSource::System => "  (system-wide, read-only)".into(),
        };
        println!("{}  {}{whose}", client.display_name, client.path.display());
        if let Some(error) = client.error {
            println!("  error: {error}");
            continue;
        }
        for finding in client.findings {
            println!("  ! {}", finding.message);
        }
        if client.servers.is_empty() {
            println!("  no servers");
            continue;
        }
        let rows: Vec<Vec<String>> = client
            .servers
            .iter()
            .map(|s| {
                let mut name = s.name.to_string();
                if let Some(scope) = s.scope {
                    name.push_str(&format!(" [{scope}]"));
                }
                let mut kinds: Vec<&str> = s.findings.iter().map(|f| short(f.rule)).collect();
                kinds.dedup();
                vec![
                    name,
                    if s.routed { "yes" } else { "no" }.into(),
                    if s.disabled {
                        format!("{} (disabled)", s.transport)
                    } else {
                        s.transport.to_string()
                    },
                    s.target(),
                    kinds.join(", "),
                ]
            })
            .collect();
        output::table(
            &["SERVER", "ROUTED", "TRANSPORT", "TARGET", "FINDINGS"],
            &rows,
        )?;
        for server in &client.servers {
            for finding in server.findings {
                println!("  ! {}: {}", server.name, finding.message);
            }
        }
    }
    Ok(())
}

fn short(rule: FindingRule) -> &'static str {
    match rule {
        FindingRule::PlaintextSecret => "secret",
        FindingRule::UnpinnedPackage => "unpinned",
        FindingRule::Duplicate => "duplicate",
    }
}
