//! The command line, as clap types. Verbs and JSON shapes follow the CLI
//! contract in the design brief; usage errors exit with 2 (clap's default).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod trust;
pub use trust::{AlertsCommand, PinModeArg, PinsCommand, RegistryCommand, ScanArgs};

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
    /// Calls waiting for your approval: list them, allow or deny one.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
    /// Alerts raised from the audit log: list, acknowledge, mute rules.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Pinned tool definitions: approve or reject new and changed tools
    /// (quarantined until then), and when a server's tools are first pinned.
    #[command(subcommand)]
    Pins(PinsCommand),
    /// Serve every registered server over HTTP at
    /// http://127.0.0.1:PORT/mcp/NAME, for clients that take a URL (the
    /// desktop app serves it too); manage the clients' tokens.
    Gateway(GatewayArgs),
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
    /// Re-hash a server's installed package and compare it with its pin
    /// (what every launch does); exit 1 naming the first changed file.
    Verify {
        /// The registered server.
        name: String,
    },
    /// Pin a server that runs `npx`/`uvx` unpinned: install the current
    /// (or the given) exact version into Gatehouse's cache, checked against
    /// its registry checksum, and launch it from there from now on.
    #[command(disable_version_flag = true)]
    Pin {
        /// The registered server.
        name: String,
        /// The version to pin (default: the registry's current one).
        #[arg(long)]
        version: Option<String>,
    },
    /// Re-vet a server's installed package: download it again, check it
    /// against its pinned checksum and replace the installed files (after a
    /// checksum mismatch refused its launch).
    Reinstall {
        /// The registered server.
        name: String,
    },
    /// Move a server installed from the MCP Registry to another version of
    /// it (default: the newest active one), vetted as an install is: its
    /// package downloaded and checked against its checksum, then the server
    /// re-pointed at it and re-pinned in one step. Its name, policy, tool
    /// pins and secrets stay; if anything fails it still runs the old install.
    #[command(disable_version_flag = true)]
    Update {
        /// The registered server.
        name: String,
        /// The registry server version to move to.
        #[arg(long)]
        version: Option<String>,
        /// Move to a deprecated version (a deleted one never installs).
        #[arg(long)]
        allow_deprecated: bool,
        /// Move even though the package's ownership did not check out.
        #[arg(long)]
        confirm_mismatch: bool,
        /// A value to store in the OS keychain (repeatable): a variable the
        /// new version requires that the server has no value for, or a new
        /// value for a secret. Prompted without echo at a terminal;
        /// otherwise read as KEY=VALUE lines from stdin.
        #[arg(long = "secret", value_name = "KEY")]
        secrets: Vec<String>,
    },
    /// Authorize Gatehouse with a remote server's OAuth authorization server
    /// now: discovery, consent in the browser, tokens into the OS keychain.
    /// (`gatehouse run` also does this when the server first answers 401.)
    Login {
        /// The registered remote server.
        name: String,
        /// A client id registered by hand with the authorization server, for
        /// one that offers no dynamic client registration.
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// That client's secret, read from stdin (prompted without echo on a
        /// terminal).
        #[arg(long, requires = "client_id")]
        client_secret: bool,
    },
    /// Delete a remote server's OAuth tokens from the OS keychain.
    Logout {
        /// The registered remote server.
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
    /// A request header of a remote server whose value lives in the
    /// keychain (repeatable); set it with `gatehouse secret set NAME HEADER`.
    #[arg(long = "secret-header", value_name = "HEADER", requires = "url")]
    pub secret_headers: Vec<String>,
    /// Show none of its tools until you approve them (`gatehouse pins
    /// approve NAME --all`), instead of trusting its first tool list.
    #[arg(long)]
    pub pin_review: bool,
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
        /// Confirm always allowing a critical tool.
        #[arg(long)]
        confirm: bool,
    },
    /// Remove a tool's switch: the defaults and its risk tier decide again.
    Unset {
        /// The registered server.
        name: String,
        /// The tool's name.
        tool: String,
    },
    /// Set the default for tools nobody set: one server's (with --server),
    /// else every server's. `none` removes it.
    Default {
        /// allow, ask, deny or none.
        decision: PolicyDefault,
        /// Only this server.
        #[arg(long)]
        server: Option<String>,
    },
    /// Set the rules on a tool's arguments (replacing the ones it had).
    Args(PolicyArgs),
    /// Limit how often a tool (or, without TOOL, a whole server) may be
    /// called, across every client: e.g. `10/hour`, `5/min`; `none` removes
    /// the limit.
    Limit {
        /// The registered server.
        name: String,
        /// The tool; without it, the server as a whole.
        tool: Option<String>,
        /// CALLS/WINDOW, or none.
        #[arg(long)]
        rate: String,
    },
    /// Mark a tool as reading private data or sending data out (the flow
    /// rule asks before a session that read private data sends it out).
    Mark {
        /// The registered server.
        name: String,
        /// The tool's name.
        tool: String,
        /// yes, no, or auto (as suggested from its definition).
        #[arg(long)]
        reads_private: Option<PolicyMark>,
        /// yes, no, or auto.
        #[arg(long)]
        sends_out: Option<PolicyMark>,
    },
    /// "Always allow" rules: list them, or remove one by id.
    AllowRules {
        /// The registered server.
        name: String,
        /// Remove the rule with this id.
        #[arg(long)]
        remove: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// The calls waiting, oldest first.
    List,
    /// Let a waiting call through.
    Allow {
        /// The request's id, from `approvals list`.
        id: String,
        /// Also let the tool's later calls in that session through.
        #[arg(long, conflicts_with = "always")]
        session: bool,
        /// Always let the tool through from now on (for arguments matching
        /// --pattern, if given).
        #[arg(long)]
        always: bool,
        /// With --always: ARG=GLOB the argument must match (repeatable).
        #[arg(long, value_name = "ARG=GLOB", requires = "always")]
        pattern: Vec<String>,
    },
    /// Refuse a waiting call.
    Deny {
        /// The request's id, from `approvals list`.
        id: String,
    },
    /// How long a call waits for an answer before it is denied.
    Timeout {
        /// Seconds (the default is 45, below clients' own timeouts).
        seconds: u32,
    },
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The registered server.
    pub name: String,
    /// The tool's name.
    pub tool: String,
    /// The argument the rules below apply to; without it, every argument
    /// of the right kind (paths for path rules, URLs for URL rules).
    #[arg(long)]
    pub arg: Option<String>,
    /// Paths must match one of these globs (`/reports/**`, `~/notes/*.md`).
    #[arg(long = "path-allow", value_name = "GLOB")]
    pub path_allow: Vec<String>,
    /// Paths matching these globs are denied.
    #[arg(long = "path-deny", value_name = "GLOB")]
    pub path_deny: Vec<String>,
    /// URLs must have one of these hosts (`example.com`, `*.example.com`).
    #[arg(long = "domain-allow", value_name = "DOMAIN")]
    pub domain_allow: Vec<String>,
    /// URLs with these hosts are denied.
    #[arg(long = "domain-deny", value_name = "DOMAIN")]
    pub domain_deny: Vec<String>,
    /// The URL schemes allowed (default http and https).
    #[arg(long = "scheme", value_name = "SCHEME")]
    pub schemes: Vec<String>,
    /// The HTTP methods allowed.
    #[arg(long = "method", value_name = "METHOD")]
    pub methods: Vec<String>,
    /// A value matching this regex is denied.
    #[arg(long = "deny-regex", value_name = "REGEX")]
    pub deny_regex: Vec<String>,
    /// Ask instead of deny when a value matches no allow rule.
    #[arg(long)]
    pub ask_unmatched: bool,
    /// Say what kind an argument is when Gatehouse guesses wrong:
    /// ARG=path|url|method|plain.
    #[arg(long = "kind", value_name = "ARG=KIND")]
    pub kinds: Vec<String>,
    /// Remove every argument rule of the tool.
    #[arg(long, conflicts_with_all = ["path_allow", "path_deny", "domain_allow", "domain_deny", "schemes", "methods", "deny_regex"])]
    pub clear: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyDefault {
    Allow,
    Ask,
    Deny,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyMark {
    Yes,
    No,
    Auto,
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
    Import(ImportArgs),
    /// Rewrite client configs to go through Gatehouse: launch `gatehouse
    /// run`, or (`--via gateway`) name the local gateway's URL.
    Connect(ConnectArgs),
    /// Put client configs back as they were.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub write: ClientWriteArgs,
    /// Put back the plain-text secrets `clients import` moved to the
    /// keychain, so the file is exactly as it was. Without this flag or
    /// `--without-secrets`, you are asked (and a run without a terminal
    /// refuses such a file).
    #[arg(long, conflicts_with = "without_secrets")]
    pub with_secrets: bool,
    /// Leave those secrets' values empty in the restored file; they stay in
    /// the keychain.
    #[arg(long)]
    pub without_secrets: bool,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub write: ClientWriteArgs,
    /// How the rewritten entries reach Gatehouse: `stdio` launches
    /// `gatehouse run NAME`; `gateway` writes the gateway's URL
    /// (http://127.0.0.1:PORT/mcp/NAME) with the client's own bearer token,
    /// for clients that take URLs (Claude Desktop and Continue stay stdio).
    #[arg(long, value_enum, default_value = "stdio")]
    pub via: ConnectVia,
    /// With `--via gateway`: the gateway's port the URLs name (default:
    /// the `gateway.port` setting, else 47100), the one the app or
    /// `gatehouse gateway --port` serves on.
    #[arg(long)]
    pub port: Option<u16>,
}

/// `clients connect --via`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConnectVia {
    /// `gatehouse run NAME` (every client).
    Stdio,
    /// The local gateway's URL, with the client's bearer token.
    Gateway,
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
pub struct ImportArgs {
    #[command(flatten)]
    pub target: ClientTarget,
    /// Show none of the imported servers' tools until you approve them
    /// (`gatehouse pins approve NAME --all`), instead of trusting each
    /// server's first tool list.
    #[arg(long)]
    pub pin_review: bool,
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

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit records, newest first.
    List {
        #[command(flatten)]
        filter: AuditFilter,
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Check the tamper-evident chain; exit 1 if it is broken.
    Verify,
    /// Show or set how much audit history is kept (and how much of large
    /// arguments). Applied by `audit prune`.
    Retention {
        /// Keep this many days of records; 0 keeps everything.
        #[arg(long)]
        days: Option<u32>,
        /// Delete the oldest records while the database is larger than
        /// this many MiB; 0 removes the cap.
        #[arg(long)]
        max_mb: Option<u64>,
        /// Store arguments and tool results longer than this many bytes as a
        /// preview of this length, with the full text's size and SHA-256.
        #[arg(long)]
        preview_bytes: Option<usize>,
    },
    /// Delete the records retention no longer keeps, now. The chain stays
    /// verifiable: the last deleted record's hash becomes its anchor.
    Prune,
    /// Export the audit records a filter matches, newest first.
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        filter: AuditFilter,
        /// At most this many records (default: all).
        #[arg(long)]
        limit: Option<u32>,
    },
}

/// The filter flags `audit list` and `audit export` share.
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
    /// Only this client.
    #[arg(long)]
    pub client: Option<String>,
    /// Only records at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Only records before this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// Only records whose arguments, reason or error contain every word of
    /// this text (the last word may be the start of one).
    #[arg(long)]
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    /// The port (default: the `gateway.port` setting, else 47100; 0 picks a
    /// free one).
    #[arg(long)]
    pub port: Option<u16>,
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Print CLIENT's gateway token (made if it has none), for its config
    /// or a script.
    Token {
        /// The client, e.g. `cursor`: the audit records its calls under
        /// this name.
        client: String,
        /// Replace the token; the old one stops working.
        #[arg(long, conflicts_with = "revoke")]
        rotate: bool,
        /// Remove the token: the client can no longer use the gateway.
        #[arg(long)]
        revoke: bool,
    },
    /// The clients with a gateway token (never the tokens).
    Tokens,
}

/// `KEY=VALUE`, with a valid environment variable name.
fn parse_env(s: &str) -> Result<(String, String), gatehouse_engine::Error> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| invalid(format!("expected KEY=VALUE, got {s:?}")))?;
    gatehouse_engine::validate_env_key(key)?;
    Ok((key.to_string(), value.to_string()))
}

/// `NAME:VALUE`, both trimmed.
fn parse_header(s: &str) -> Result<(String, String), gatehouse_engine::Error> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| invalid(format!("expected NAME:VALUE, got {s:?}")))?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

fn invalid(message: String) -> gatehouse_engine::Error {
    gatehouse_engine::Error::InvalidSpec(message)
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
