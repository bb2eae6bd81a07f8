//! The commands about what Gatehouse trusts and tells: pinned tool
//! definitions, the poisoning scanner, the MCP Registry and alerts.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum PinsCommand {
    /// Show a server's pins and what awaits review (as `gatehouse tools NAME`
    /// does, with the definitions).
    Show {
        /// The registered server.
        name: String,
    },
    /// Approve (re-pin) what awaits review: clients see it again.
    #[command(
        override_usage = "gatehouse pins approve NAME TOOL...\n       gatehouse pins approve NAME --instructions\n       gatehouse pins approve NAME --all"
    )]
    Approve {
        /// The registered server.
        name: String,
        /// The tools to approve.
        #[arg(required_unless_present_any = ["instructions", "all"])]
        tools: Vec<String>,
        /// Approve the server's changed instructions.
        #[arg(long)]
        instructions: bool,
        /// Approve everything of the server that awaits review (not what
        /// was rejected).
        #[arg(long, conflicts_with_all = ["tools", "instructions"])]
        all: bool,
    },
    /// Reject what awaits review: it stays hidden until the server changes
    /// it again or you approve it.
    #[command(
        override_usage = "gatehouse pins reject NAME TOOL...\n       gatehouse pins reject NAME --instructions"
    )]
    Reject {
        /// The registered server.
        name: String,
        /// The tools to reject.
        #[arg(required_unless_present = "instructions")]
        tools: Vec<String>,
        /// Reject the server's changed instructions.
        #[arg(long)]
        instructions: bool,
    },
    /// When a server's tools are first pinned: `trust-on-first-use` (the
    /// default: the first listing is pinned as it comes), `review-first`
    /// (nothing is shown until approved), or `default` (the global
    /// setting). Without --server, sets the global default.
    Mode {
        /// The mode.
        mode: PinModeArg,
        /// One server (else every server without its own mode).
        #[arg(long)]
        server: Option<String>,
    },
}

/// A pin mode on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PinModeArg {
    /// Pin the first listing as it comes; quarantine later changes.
    TrustOnFirstUse,
    /// Show nothing until it is approved.
    ReviewFirst,
    /// The global default (for a server), or trust on first use (globally).
    Default,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// The open alerts, newest first (evaluating new audit records first).
    List {
        /// Acknowledged alerts too.
        #[arg(long)]
        all: bool,
        /// The rules instead: what each watches for, and whether it is muted.
        #[arg(long, conflicts_with = "all")]
        rules: bool,
    },
    /// Acknowledge alerts.
    #[command(override_usage = "gatehouse alerts ack ID...\n       gatehouse alerts ack --all")]
    Ack {
        /// The alerts' ids, from `alerts list`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<i64>,
        /// Every open alert.
        #[arg(long)]
        all: bool,
    },
    /// Stop a rule from raising alerts.
    Mute {
        /// The rule, as `alerts list --rules` names it.
        rule: String,
    },
    /// Let a muted rule raise alerts again.
    Unmute {
        /// The rule, as `alerts list --rules` names it.
        rule: String,
    },
    /// When calls are unusual: HH:MM-HH:MM local time (e.g. 22:00-07:00), or off.
    QuietHours {
        /// The window, or `off` (the default).
        window: String,
    },
    /// How many refused calls within how many seconds make a burst.
    DenialBurst {
        /// COUNT/SECONDS (the default is 5/60).
        burst: String,
    },
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
    /// Search the MCP Registry (`registry.url`, or `$GATEHOUSE_REGISTRY_URL`).
    Search {
        /// Words to look for in server names.
        query: String,
        /// Every version, not only the latest of each server.
        #[arg(long)]
        all_versions: bool,
    },
    /// The vetting report of a server version: namespace, ownership of each
    /// package, exact version, checksum, secrets, transport, status.
    Show {
        /// NAME or NAME@VERSION (the latest when no version is given).
        name: String,
        /// Also dry-start it: install the vetted package into the cache,
        /// launch it unregistered and without secrets, list its tools and
        /// print them with the scanner's findings.
        #[arg(long)]
        dry_start: bool,
        /// How long the dry start may take, in seconds.
        #[arg(
            long,
            value_name = "SECONDS",
            default_value_t = 20,
            requires = "dry_start"
        )]
        timeout: u64,
    },
    /// Vet and install a server from the registry: the vetted package is
    /// downloaded, checked against its checksum, installed into Gatehouse's
    /// cache and registered launching from there, pinned.
    Install {
        /// NAME or NAME@VERSION (the latest when no version is given).
        name: String,
        /// Register it under this name (default: the registry name after `/`).
        #[arg(long = "as", value_name = "LOCAL")]
        local_name: Option<String>,
        /// Install even though a package's ownership did not check out.
        #[arg(long)]
        confirm_mismatch: bool,
        /// Install a deprecated version (a deleted one never installs).
        #[arg(long)]
        allow_deprecated: bool,
        /// An environment variable to store in the OS keychain (repeatable).
        /// Prompted without echo at a terminal; otherwise read as KEY=VALUE
        /// lines from stdin.
        #[arg(long = "secret", value_name = "KEY")]
        secrets: Vec<String>,
    },
}
