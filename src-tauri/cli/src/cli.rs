//! The command line, as clap types. Verbs and JSON shapes follow the CLI
//! contract in the design brief; usage errors exit with 2 (clap's default).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Gatehouse: a security proxy and control panel for MCP servers.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, propagate_version = true)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register, list and remove MCP servers.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Run the proxy for server NAME: MCP on stdin/stdout (what client configs launch).
    Run {
        /// The registered server.
        name: String,
        /// The largest message accepted from the client or the server.
        #[arg(long, default_value_t = gatehouse_engine::proxy::DEFAULT_MAX_MESSAGE_BYTES)]
        max_message_bytes: usize,
    },
    /// Show a server's last seen tools, with policy, risk, pin state and findings.
    Tools {
        /// The registered server.
        name: String,
    },
    /// Set what a tool may do.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Store server secrets in the OS keychain.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Discover, import, connect and restore AI clients' MCP configs.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Scan tool descriptions for poisoning.
    Scan(ScanArgs),
    /// Search and install servers from the MCP Registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Read, verify and export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Register a server: a command to launch (after `--`) or a URL.
    #[command(
        override_usage = "gatehouse server add NAME [--env KEY=VALUE]... [--secret KEY]... -- COMMAND [ARG]...\n       gatehouse server add NAME --url URL [--header NAME:VALUE]..."
    )]
    Add(ServerAddArgs),
    /// List registered servers.
    List,
    /// Remove a server and delete its secrets from the keychain.
    Remove {
        /// The registered server.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ServerAddArgs {
    /// A unique name: letters, digits, '.', '_' or '-'.
    pub name: String,
    /// A plain environment variable for the server (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// An environment variable whose value lives in the keychain (repeatable);
    /// set it with `gatehouse secret set NAME KEY`.
    #[arg(long = "secret", value_name = "KEY")]
    pub secrets: Vec<String>,
    /// The URL of a remote server (instead of a command).
    #[arg(long, conflicts_with_all = ["env", "secrets"])]
    pub url: Option<String>,
    /// A static request header for a remote server (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE", value_parser = parse_header, requires = "url")]
    pub headers: Vec<(String, String)>,
    /// The command and its arguments.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Set a tool to allow, ask or deny.
    Set {
        /// The registered server.
        name: String,
        /// The tool's name.
        tool: String,
        /// What the tool may do.
        decision: PolicyDecision,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyDecision {
    Allow,
    Ask,
    Deny,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store KEY for server NAME in the keychain; the value is read from stdin.
    Set {
        /// The registered server.
        name: String,
        /// The environment variable the server reads it from.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Discovered client configs and their servers.
    List(ProjectArgs),
    /// Bring clients' servers under Gatehouse.
    Import(ClientTarget),
    /// Rewrite client configs to launch `gatehouse run`.
    Connect(ClientWriteArgs),
    /// Put client configs back as they were.
    Restore(ClientWriteArgs),
}

#[derive(Debug, Args)]
pub struct ClientWriteArgs {
    #[command(flatten)]
    pub target: ClientTarget,
    /// Show the change as a diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ClientTarget {
    /// One client, e.g. `cursor`.
    #[arg(required_unless_present = "all")]
    pub client: Option<String>,
    /// Every discovered client.
    #[arg(long, conflicts_with = "client")]
    pub all: bool,
    #[command(flatten)]
    pub projects: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// Also look in this project folder (repeatable). The projects Claude
    /// Code has recorded in ~/.claude.json are always looked in.
    #[arg(long = "project", value_name = "DIR")]
    pub projects: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A registered server whose current tools to scan.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub name: Option<String>,
    /// A `tools/list` result (or an array of tools) to scan.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Search the MCP Registry.
    Search {
        /// Words to look for.
        query: String,
    },
    /// Vet and install a server from the registry.
    Install {
        /// NAME or NAME@VERSION.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit records, newest first.
    List(AuditFilter),
    /// Check the tamper-evident chain; exit 1 if it is broken.
    Verify,
    /// Export audit records.
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct AuditFilter {
    /// Only this server.
    #[arg(long)]
    pub server: Option<String>,
    /// Only this tool.
    #[arg(long)]
    pub tool: Option<String>,
    /// Only this decision: allowed, denied, asked or error.
    #[arg(long)]
    pub decision: Option<String>,
    /// Only records at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    gatehouse_engine::validate_env_key(key).map_err(|e| e.to_string())?;
    Ok((key.to_string(), value.to_string()))
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("expected NAME:VALUE, got {s:?}"))?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
