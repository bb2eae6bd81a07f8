//! AI clients' MCP configs: where each client keeps them, what servers they
//! hold, and routing them through Gatehouse. Discovery ([`discover`]: the
//! user's files, their projects' and the machine's, see
//! [`ConfigSource`]), parsing every client's format into one model
//! ([`ClientConfig`], [`Entry`]) and the findings `gatehouse clients list`
//! shows ([`Finding`]).
//! Where the files live and what they look like is researched in
//! `docs/CLIENTS.md`.
//!
//! Reading never writes a file: one that cannot be read or parsed becomes a
//! [`ClientConfig`] with an `error`, and the other clients are still listed.
//! Writing is [`connect`] (route entries through `gatehouse run`),
//! [`restore`] (undo it exactly) and [`write`](mod@write) (the safe write
//! both use).

mod change;
pub mod connect;
pub mod diff;
mod discover;
mod findings;
pub mod import;
mod parse;
mod paths;
pub mod restore;
mod seal;
pub mod secrets_back;
mod sidecar;
mod summary;
pub mod write;
mod yaml;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use change::{ChangeKind, ClientChange, gatehouse_command};
pub use discover::{
    ConfigSource, Places, discover, discover_at, discover_in, discover_with, project_dirs, read,
    read_from,
};
pub use findings::{Finding, FindingRule, Severity, value_looks_secret};
pub use parse::{Format, ParseError, parse, parse_as};
pub use paths::{Os, config_paths, project_paths, system_paths, system_root};
pub use secrets_back::PlainSecret;
pub use summary::{ClientSummary, ServerSummary, home_dir};

/// An AI client whose MCP config Gatehouse understands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    ts_rs::TS,
)]
#[ts(export)]
pub enum Client {
    /// Anthropic's desktop app.
    #[serde(rename = "claude-desktop")]
    ClaudeDesktop,
    /// Anthropic's command-line agent.
    #[serde(rename = "claude-code")]
    ClaudeCode,
    /// The Cursor editor.
    #[serde(rename = "cursor")]
    Cursor,
    /// VS Code (GitHub Copilot agent mode).
    #[serde(rename = "vscode")]
    VsCode,
    /// Windsurf, renamed Devin Desktop.
    #[serde(rename = "windsurf")]
    Windsurf,
    /// The Cline agent (CLI and VS Code extension).
    #[serde(rename = "cline")]
    Cline,
    /// The Zed editor.
    #[serde(rename = "zed")]
    Zed,
    /// Google's Gemini CLI.
    #[serde(rename = "gemini-cli")]
    GeminiCli,
    /// OpenAI's Codex CLI.
    #[serde(rename = "codex")]
    Codex,
    /// The Continue extension.
    #[serde(rename = "continue")]
    Continue,
    /// Block's Goose agent.
    #[serde(rename = "goose")]
    Goose,
    /// LM Studio.
    #[serde(rename = "lm-studio")]
    LmStudio,
}

impl Client {
    /// Every supported client, in the order lists show them.
    pub const ALL: [Client; 12] = [
        Client::ClaudeDesktop,
        Client::ClaudeCode,
        Client::Cursor,
        Client::VsCode,
        Client::Windsurf,
        Client::Cline,
        Client::Zed,
        Client::GeminiCli,
        Client::Codex,
        Client::Continue,
        Client::Goose,
        Client::LmStudio,
    ];

    /// The stable id scripts and the CLI use, e.g. `claude-desktop`.
    pub fn id(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Cursor => "cursor",
            Client::VsCode => "vscode",
            Client::Windsurf => "windsurf",
            Client::Cline => "cline",
            Client::Zed => "zed",
            Client::GeminiCli => "gemini-cli",
            Client::Codex => "codex",
            Client::Continue => "continue",
            Client::Goose => "goose",
            Client::LmStudio => "lm-studio",
        }
    }

    /// The name people know it by.
    pub fn display_name(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop",
            Client::ClaudeCode => "Claude Code",
            Client::Cursor => "Cursor",
            Client::VsCode => "VS Code",
            Client::Windsurf => "Windsurf / Devin Desktop",
            Client::Cline => "Cline",
            Client::Zed => "Zed",
            Client::GeminiCli => "Gemini CLI",
            Client::Codex => "Codex CLI",
            Client::Continue => "Continue",
            Client::Goose => "Goose",
            Client::LmStudio => "LM Studio",
        }
    }

    /// The client with this id.
    pub fn from_id(id: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Whether `clients connect --via gateway` may point the client's
    /// entries at the gateway's URL: its config takes a Streamable HTTP URL
    /// with request headers (`docs/CLIENTS.md`). Not Claude Desktop, which
    /// reaches remote servers only through its Connectors settings, and not
    /// Continue, whose headers for remote servers are unconfirmed: both
    /// stay on `gatehouse run`.
    pub fn takes_url(self) -> bool {
        !matches!(self, Client::ClaudeDesktop | Client::Continue)
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// One client config file and the servers it holds.
///
/// Not `Serialize` on purpose: entries hold plain-text secret values, so
/// whatever shows them (the CLI, later the UI) builds its own view that
/// leaves them out.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Whose file it is.
    pub client: Client,
    /// Where it is.
    pub path: PathBuf,
    /// Whose file it is: the user's, a project's, or the machine's.
    pub source: ConfigSource,
    /// Its servers: by name for maps, in list order for Continue.
    pub servers: Vec<Entry>,
    /// What `clients list` warns about the file as a whole (Goose's
    /// `secrets.yaml` beside it); filled in by [`discover`].
    pub findings: Vec<Finding>,
    /// Why the file could not be read or parsed; `servers` is then empty.
    pub error: Option<String>,
}

impl ClientConfig {
    /// Why connect leaves this file alone unless its project was named: a
    /// project's file is often committed and shared with a team, and
    /// connect would write this machine's path to `gatehouse` into it. Files
    /// of projects Claude Code merely knows about are listed, imported and
    /// restored, but connected only when asked for (`--project DIR`).
    pub fn shared_project(&self, named: &[PathBuf]) -> Option<String> {
        let ConfigSource::Project { dir } = &self.source else {
            return None;
        };
        let asked = named
            .iter()
            .any(|n| n == dir || std::fs::canonicalize(n).ok().as_deref() == Some(dir.as_path()));
        (!asked).then(|| {
            format!(
                "{} belongs to the project {}, whose files are often shared; connect it by naming the project (`--project {}`)",
                self.path.display(),
                dir.display(),
                dir.display()
            )
        })
    }

    /// Why Gatehouse must leave this file as it is, if it must: a
    /// system-wide file belongs to the machine's administrator.
    pub fn read_only(&self) -> Option<String> {
        (self.source == ConfigSource::System).then(|| {
            format!(
                "{} is {}'s system-wide config, managed by an administrator; Gatehouse leaves it alone",
                self.path.display(),
                self.client.display_name()
            )
        })
    }
}

/// A server entry in a client's config, in a shape common to all formats.
///
/// Values are kept as written (references such as `${env:X}` unexpanded).
/// `env` and `headers` may hold plain-text secrets: show their names, never
/// their values (hence no `Serialize`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    /// The entry's name in the client (the map key, or Continue's `name`).
    pub name: String,
    /// The project it belongs to when it is not at the top level: Claude
    /// Code's local scope (`projects["/home/me/app"].mcpServers`) gives
    /// `/home/me/app`.
    pub scope: Option<String>,
    /// `stdio`, `http`, `sse`, `ws` or `extension`, as written or inferred.
    pub transport: String,
    /// The program a stdio server is launched with.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment values written in the entry.
    pub env: BTreeMap<String, String>,
    /// Names of variables the client fills in from elsewhere (Codex
    /// `env_vars`, Goose `env_keys`): references, not values.
    pub env_refs: Vec<String>,
    /// A dotenv file whose variables the client adds (Cursor and VS Code
    /// `envFile`), as written.
    pub env_file: Option<String>,
    /// A remote server's URL.
    pub url: Option<String>,
    /// A remote server's request headers.
    pub headers: BTreeMap<String, String>,
    /// Turned off in the client (the entry is still there).
    pub disabled: bool,
    /// What `clients list` warns about; filled in by [`discover`].
    pub findings: Vec<Finding>,
}

impl Entry {
    /// Whether the entry already goes through Gatehouse: it launches
    /// `gatehouse run NAME`, or it is the gateway's URL for a server.
    pub fn routed(&self) -> bool {
        self.routed_to().is_some()
    }

    /// The Gatehouse server the entry goes through, if it is routed.
    pub fn routed_to(&self) -> Option<&str> {
        self.launched()
            .or_else(|| self.gateway_route().map(|(_, name)| name))
    }

    /// The port and server of a gateway URL entry:
    /// `http://127.0.0.1:PORT/mcp/NAME` (or `localhost`, `[::1]`), as
    /// `clients connect --via gateway` writes it.
    pub fn gateway_route(&self) -> Option<(u16, &str)> {
        if self.command.is_some() {
            return None;
        }
        let rest = self.url.as_deref()?.strip_prefix("http://")?;
        let (authority, path) = rest.split_once('/')?;
        let (host, port) = authority.rsplit_once(':')?;
        if !(host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost")) {
            return None;
        }
        let port = port.parse().ok()?;
        let name = path.strip_prefix("mcp/")?;
        crate::validate_server_name(name).ok()?;
        Some((port, name))
    }

    /// The Gatehouse server the entry launches with `gatehouse run NAME`.
    pub fn launched(&self) -> Option<&str> {
        let command = self.command.as_deref()?;
        let file = command.rsplit(['/', '\\']).next().unwrap_or(command);
        let stem = file
            .strip_suffix(".exe")
            .or_else(|| file.strip_suffix(".EXE"))
            .unwrap_or(file);
        if stem != "gatehouse" {
            return None;
        }
        match self.args.as_slice() {
            [run, name, ..] if run == "run" => Some(name),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod connect_tests;
