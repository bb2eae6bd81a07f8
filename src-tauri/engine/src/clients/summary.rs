//! What the app's Clients page shows of a client's config: its servers,
//! whether each is routed through Gatehouse, and the findings. Never a
//! secret value: environment and headers show names only, and an argument
//! or URL a finding marks as secret is replaced.

use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

use super::{Client, ClientConfig, ConfigSource, Entry, Finding, FindingRule};
use crate::audit::redact::REDACTED;

/// One client's config file.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ClientSummary {
    /// Which client.
    pub client: Client,
    /// Its name for people.
    pub display_name: String,
    /// The config file.
    pub path: String,
    /// Whose file: the user's, a project's (and which), or the machine's
    /// (read-only).
    pub source: ConfigSource,
    /// Why the file could not be read, if it could not.
    pub error: Option<String>,
    /// What deserves attention about the file as a whole.
    pub findings: Vec<Finding>,
    /// Its server entries.
    pub servers: Vec<ServerSummary>,
}

/// One server entry of a client, without secret values.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ServerSummary {
    /// The entry's name in the client.
    pub name: String,
    /// The project it belongs to, if not the user's whole scope.
    pub scope: Option<String>,
    /// Whether it already launches `gatehouse run`.
    pub routed: bool,
    /// `stdio`, `http`, `sse`, ...
    pub transport: String,
    /// Turned off in the client.
    pub disabled: bool,
    /// The command line or URL, secret parts replaced.
    pub target: String,
    /// Names of the environment variables it sets.
    pub env_keys: Vec<String>,
    /// What deserves attention.
    pub findings: Vec<Finding>,
}

impl ClientSummary {
    /// The summary of `config`.
    pub fn of(config: &ClientConfig) -> Self {
        Self {
            client: config.client,
            display_name: config.client.display_name().to_string(),
            path: config.path.display().to_string(),
            source: config.source.clone(),
            error: config.error.clone(),
            findings: config.findings.clone(),
            servers: config.servers.iter().map(ServerSummary::of).collect(),
        }
    }
}

impl ServerSummary {
    fn of(entry: &Entry) -> Self {
        let secret = |field: &str| {
            entry.findings.iter().any(|f| {
                f.rule == FindingRule::PlaintextSecret && f.field.as_deref() == Some(field)
            })
        };
        let target = match (&entry.command, &entry.url) {
            (Some(command), _) => {
                let mut line = command.clone();
                for (i, arg) in entry.args.iter().enumerate() {
                    line.push(' ');
                    line.push_str(if secret(&format!("args.{i}")) {
                        REDACTED
                    } else {
                        arg
                    });
                }
                line
            }
            (None, Some(url)) if secret("url") => REDACTED.to_string(),
            (None, Some(url)) => url.clone(),
            (None, None) => "(provided by the client)".to_string(),
        };
        Self {
            name: entry.name.clone(),
            scope: entry.scope.clone(),
            routed: entry.routed(),
            transport: entry.transport.clone(),
            disabled: entry.disabled,
            target,
            env_keys: entry.env.keys().cloned().collect(),
            findings: entry.findings.clone(),
        }
    }
}

/// The home directory whose client configs Gatehouse reads: `$HOME`
/// (`%USERPROFILE%` on Windows), else the OS's idea of it.
pub fn home_dir() -> Option<PathBuf> {
    ["HOME", "USERPROFILE"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::{Severity, discover};

    #[test]
    fn a_summary_names_secrets_but_never_shows_them() {
        let entry = Entry {
            name: "db".into(),
            transport: "stdio".into(),
            command: Some("uvx".into()),
            args: vec![
                "mcp-db".into(),
                "--password".into(),
                "hunter2-secret".into(),
            ],
            env: [("API_KEY".to_string(), "sk-summary-canary".to_string())].into(),
            findings: vec![Finding {
                rule: FindingRule::PlaintextSecret,
                severity: Severity::High,
                field: Some("args.2".into()),
                message: "a password in argument 2".into(),
            }],
            ..Default::default()
        };
        let summary = ServerSummary::of(&entry);
        assert_eq!(summary.target, format!("uvx mcp-db --password {REDACTED}"));
        assert_eq!(summary.env_keys, ["API_KEY"]);
        let json = serde_json::to_string(&summary).unwrap();
        assert!(
            !json.contains("hunter2") && !json.contains("sk-summary-canary"),
            "{json}"
        );
    }

    #[test]
    fn the_fixture_home_summarises_every_client() {
        let home = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients/home");
        let summaries: Vec<ClientSummary> = discover(&home).iter().map(ClientSummary::of).collect();
        assert!(summaries.len() >= 10, "{}", summaries.len());
        let cursor = summaries
            .iter()
            .find(|s| s.client == Client::Cursor)
            .unwrap();
        assert!(cursor.servers.iter().any(|s| !s.findings.is_empty()));
    }
}
