// The IPC contract: every command and event, declared once. This file holds
// only these macros and no other items, so the desktop app's build script
// can `include!` it to register one permission per command.

/// Calls `$callback!` with every IPC command, as
/// `name(arg: Type, ...) -> Result;`. Argument names are the JSON keys.
#[macro_export]
macro_rules! ipc_commands {
    ($callback:ident) => {
        $callback! {
            /// Every registered server, ordered by name.
            server_list() -> Vec<$crate::Server>;
            /// Registers a server.
            server_add(server: $crate::NewServer) -> $crate::Server;
            /// Removes a server and deletes its secrets.
            server_remove(name: String) -> ();
            /// The AI clients' MCP configs: the user's, their projects' and the system's.
            clients_list() -> Vec<$crate::clients::ClientSummary>;
            /// Registers a client's servers, moving their secrets to the keychain.
            clients_import(client: $crate::clients::Client) -> Vec<$crate::clients::import::Imported>;
            /// What connecting or restoring a client would change, secrets hidden.
            /// `with_secrets`: whether a restore puts plain-text secrets back;
            /// `via`: whether a connect launches `gatehouse run` or names the gateway's URL.
            clients_preview(client: $crate::clients::Client, kind: $crate::clients::ChangeKind, with_secrets: bool, via: $crate::clients::connect::Via) -> Vec<$crate::clients::ClientChange>;
            /// Connects or restores a client's configs.
            clients_apply(client: $crate::clients::Client, kind: $crate::clients::ChangeKind, with_secrets: bool, via: $crate::clients::connect::Via) -> Vec<$crate::clients::ClientChange>;
            /// A server's policy: defaults, rate limit, tools with risk and settings.
            policy_show(server: String) -> $crate::policy::view::ServerPolicy;
            /// Changes a server's policy (or the global default).
            policy_change(server: String, change: $crate::policy::view::PolicyChange) -> ();
            /// What argument rules would make of a call: the editor's live preview.
            policy_preview(server: String, tool: String, rules: $crate::policy::args::ArgumentRules, arguments: String) -> $crate::policy::args::ArgVerdict;
            /// The calls waiting for the person's approval, oldest first.
            approvals_pending() -> Vec<$crate::approvals::ApprovalRequest>;
            /// The person's answer to a waiting call.
            approvals_decide(id: String, answer: $crate::approvals::Answer) -> $crate::approvals::ApprovalOutcome;
            /// One page of the audit history, newest first: the records a filter
            /// (and full-text search) matches below the `before` cursor.
            audit_search(filter: $crate::audit::AuditFilter) -> $crate::audit::AuditPage;
            /// Calls per hour by decision over the filter's time window (the last 24 hours by default).
            audit_timeline(filter: $crate::audit::AuditFilter) -> $crate::audit::Timeline;
            /// The last 24 hours for the Overview: calls, denials, errors, top tools, pending approvals.
            audit_summary() -> $crate::audit::AuditSummary;
            /// One whole audit record, or null if there is none with this id.
            audit_get(id: i64) -> Option<$crate::audit::AuditEntry>;
            /// The Settings page's values: audit retention and previews, the approval timeout.
            settings_show() -> $crate::settings::Settings;
            /// Saves the Settings page's values, all or none.
            settings_save(settings: $crate::settings::Settings) -> ();
            /// How big the audit log is and what retention has deleted.
            audit_status() -> $crate::settings::AuditStatus;
            /// Checks the audit log's hash chain: the first broken record, if any.
            audit_verify() -> $crate::audit::ChainReport;
            /// Applies audit retention now.
            audit_prune() -> $crate::audit::PruneReport;
            /// The alerts, newest first: the open ones, or all with `all`. The
            /// audit records written since the last pass are evaluated first.
            alerts_list(all: bool) -> Vec<$crate::alerts::Alert>;
            /// Acknowledges some alerts, or all open ones; how many were open.
            alerts_ack(which: $crate::alerts::AlertAck) -> u32;
            /// Mutes or unmutes an alert rule: a muted rule raises no alerts.
            alerts_mute(rule: $crate::alerts::AlertRule, muted: bool) -> ();
            /// Every alert rule: what it watches for, whether it is muted, its setting.
            alerts_rules() -> Vec<$crate::alerts::AlertRuleInfo>;
            /// Sets a rule's setting: quiet hours (`HH:MM-HH:MM` or `off`) or the
            /// denial burst (`COUNT/SECONDS`); null restores the default.
            alerts_configure(rule: $crate::alerts::AlertRule, setting: Option<String>) -> ();
            /// The poisoning scanner's findings on each tool the server listed last.
            scan_server(server: String) -> Vec<$crate::scan::ToolScan>;
            /// A server's pins: each tool's (and the instructions') state, with the
            /// approved and the offered definition of what awaits review.
            pins_show(server: String) -> $crate::pins::ServerPins;
            /// Approves (re-pins) what awaits review: a tool, or the instructions.
            pins_approve(server: String, kind: $crate::pins::PinKind, name: String) -> ();
            /// Approves everything of a server that awaits review; how many.
            pins_approve_all(server: String) -> usize;
            /// Rejects what awaits review: it stays hidden until it changes or is approved.
            pins_reject(server: String, kind: $crate::pins::PinKind, name: String) -> ();
            /// Sets a server's pin mode (null server: the global default; null mode: the default).
            pins_set_mode(server: Option<String>, mode: Option<$crate::pins::PinMode>) -> ();
            /// One page of the MCP Registry's servers matching `query` (latest
            /// versions), from `cursor` (the previous page's `next_cursor`).
            registry_search(query: String, cursor: Option<String>) -> $crate::registry::ServerPage;
            /// Every published version of a registry server, with its status.
            registry_versions(name: String) -> Vec<$crate::registry::RegistryEntry>;
            /// The vetting report of one version of a registry server (null: the latest).
            registry_vet(name: String, version: Option<String>) -> $crate::registry::VettingReport;
            /// Dry start: installs the vetted package into the cache, launches it unregistered
            /// and without secrets, lists its tools, stops it; the tools with the scanner's findings.
            registry_dry_start(name: String, version: Option<String>) -> $crate::registry::DryStart;
            /// Re-hashes a server's installed package against its pin, as every launch does.
            package_verify(server: String) -> $crate::install::PackageStatus;
            /// "Pin this version": installs the exact version (null: the registry's current
            /// one) of the package a server runs through npx/uvx and launches it from the cache.
            package_pin(server: String, version: Option<String>) -> $crate::install::PackageStatus;
            /// Re-vets a server's installed package: downloads it again, checks it against its
            /// pinned checksum and replaces the installed files.
            package_reinstall(server: String) -> $crate::install::PackageStatus;
            /// A server's installed package as last checked (at a launch or on request),
            /// without re-hashing it; null when it runs no installed package.
            package_status(server: String) -> Option<$crate::install::PackageStatus>;
            /// "Check for updates": the package registry's current version of a server's
            /// pinned package and what it would change (version, checksum).
            package_updates(server: String) -> $crate::install::UpdateCheck;
        }
    };
}

/// Like [`ipc_commands!`], for the commands the desktop app implements
/// itself rather than the engine, because they need the app (a native
/// dialog, a window, events while they run).
#[macro_export]
macro_rules! ipc_app_commands {
    ($callback:ident) => {
        $callback! {
            /// Asks where to save, then writes every record the filter matches as JSONL or CSV.
            /// Null if the person cancelled.
            audit_export(filter: $crate::audit::AuditFilter, format: $crate::audit::ExportFormat) -> Option<$crate::audit::AuditExported>;
            /// Vets a registry server and installs the vetted package, pinned, as a
            /// server launching from Gatehouse's cache; `install_progress` events
            /// report each phase. Refuses a version that is not active unless
            /// `allow_deprecated`, and an unconfirmed ownership unless `confirm_mismatch`.
            registry_install(name: String, version: Option<String>, options: $crate::registry::InstallOptions) -> $crate::registry::RegistryInstalled;
            /// "Update to VERSION": moves a server installed from the registry to `version`
            /// (the newest active one when null), vetted as an install is, its package
            /// installed and verified, then the server re-pointed and pinned in one step,
            /// keeping its name, policy, tool pins, secrets and values; `install_progress`
            /// events report each phase. On any error the server is left as it was.
            registry_update(server: String, version: Option<String>, options: $crate::registry::UpdateOptions) -> $crate::registry::RegistryUpdated;
        }
    };
}

/// Calls `$callback!` with every event Rust pushes to the UI, as
/// `name: Payload;`.
#[macro_export]
macro_rules! ipc_events {
    ($callback:ident) => {
        $callback! {
            /// A part of the store changed, in this process or another one.
            store_changed: $crate::Topic;
            /// The calls waiting for approval changed: the whole queue.
            approvals_changed: Vec<$crate::approvals::ApprovalRequest>;
            /// A registry install reached another phase.
            install_progress: $crate::registry::InstallProgress;
        }
    };
}
