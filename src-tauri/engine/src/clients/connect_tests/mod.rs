//! Tests of `connect`, `restore` and the safe write.

use std::cell::Cell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::connect::{self, Plan};
use super::restore;
use super::write::{self, Step};
use super::*;
use crate::DataDir;

mod after_edits;
mod properties;
mod safe_write;

/// The entry's name made a valid server name (the tests' stand-in for
/// what import registers).
fn server_name(entry: &Entry) -> String {
    let mut name: String = entry
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        name.insert(0, 's');
    }
    name
}

fn routed_name(entry: &Entry) -> Option<String> {
    Some(server_name(entry))
}

const GATEHOUSE: &str = "/opt/gatehouse/bin/gatehouse";

/// Plain-text secrets in the fixtures; none may survive connect.
fn secrets() -> impl Iterator<Item = &'static str> {
    include_str!("../../../tests/fixtures/clients/secrets.txt")
        .lines()
        .filter(|l| !l.is_empty())
}

struct Home {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    data: DataDir,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn fixture_home() -> Home {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients/home"),
        &home,
    );
    let data = DataDir::at(tmp.path().join("data")).unwrap();
    Home {
        _tmp: tmp,
        home,
        data,
    }
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

/// The fixture configs, one per client.
fn writable(home: &Path) -> Vec<ClientConfig> {
    discover_with(home, &no_env, Os::Linux)
}

fn plan(config: &ClientConfig) -> Plan {
    connect::plan(
        config.client,
        &config.path,
        Path::new(GATEHOUSE),
        &routed_name,
    )
    .unwrap()
}

fn connect_file(client: Client, path: &Path, data: &DataDir) -> Plan {
    let plan = connect::plan(client, path, Path::new(GATEHOUSE), &routed_name).unwrap();
    connect::apply(&plan, data).unwrap();
    plan
}

/// `text` with each edited entry replaced by a marker: what must be equal
/// before and after.
fn outside(text: &str, entries: &[&str]) -> String {
    let mut out = text.to_string();
    for (i, entry) in entries.iter().enumerate() {
        let at = out.find(entry).expect("the entry text is in the file");
        out.replace_range(at..at + entry.len(), &format!("<entry {i}>"));
    }
    out
}

fn assert_outside_unchanged(plan: &Plan) {
    let originals: Vec<&str> = plan.edits.iter().map(|e| e.original.as_str()).collect();
    let connected: Vec<&str> = plan.edits.iter().map(|e| e.connected.as_str()).collect();
    assert_eq!(
        outside(&plan.before, &originals),
        outside(&plan.after, &connected),
        "{}: text outside the edited entries changed",
        plan.client
    );
}

// ---- fixtures --------------------------------------------------------------

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    let h = fixture_home();
    let configs = writable(&h.home);
    for client in Client::ALL {
        assert!(
            configs.iter().any(|c| c.client == client),
            "{client}: no fixture"
        );
    }
    for config in &configs {
        let original = std::fs::read(&config.path).unwrap();
        let plan = plan(config);
        assert!(!plan.is_noop(), "{}: nothing to connect", config.client);
        let record = connect::apply(&plan, &h.data).unwrap().unwrap();
        assert!(record.backup_path(&h.data.backups()).is_file());
        let connected = std::fs::read_to_string(&config.path).unwrap();
        assert_eq!(connected, plan.after);
        for secret in secrets() {
            assert!(
                !connected.contains(secret),
                "{}: {secret} left in the config",
                config.client
            );
        }
        // Every entry Gatehouse can stand in front of is routed now.
        let after = read(config.client, &config.path);
        assert!(after.error.is_none(), "{:?}", after.error);
        for entry in &after.servers {
            let before = config
                .servers
                .iter()
                .find(|e| e.name == entry.name)
                .unwrap();
            if before.command.is_some() || before.url.is_some() {
                assert_eq!(
                    entry.routed_to(),
                    Some(before.routed_to().unwrap_or(&server_name(before))),
                    "{}: {} not routed",
                    config.client,
                    entry.name
                );
                if !before.routed() {
                    assert_eq!(entry.command.as_deref(), Some(GATEHOUSE));
                    assert!(entry.url.is_none() && entry.headers.is_empty());
                }
            } else {
                assert_eq!(entry, before, "{}: {} changed", config.client, entry.name);
            }
        }

        // Connect twice changes nothing and writes nothing.
        let again = connect::plan(
            config.client,
            &config.path,
            Path::new(GATEHOUSE),
            &routed_name,
        )
        .unwrap();
        assert!(
            again.is_noop(),
            "{}: second connect changes:\n{}",
            config.client,
            again.after
        );
        assert!(connect::apply(&again, &h.data).unwrap().is_none());

        let restore = restore::plan(config.client, &config.path, &h.data).unwrap();
        assert!(restore.exact && restore.warnings.is_empty());
        restore::apply(&restore, &h.data).unwrap();
        assert_eq!(
            std::fs::read(&config.path).unwrap(),
            original,
            "{}: restore is not byte-identical",
            config.client
        );
        // Nothing left to restore.
        assert!(
            restore::plan(config.client, &config.path, &h.data)
                .unwrap()
                .is_noop()
        );
    }
}

#[test]
fn fixtures_change_nothing_outside_the_entries() {
    let h = fixture_home();
    for config in writable(&h.home) {
        if config.client != Client::Codex {
            assert_outside_unchanged(&plan(&config));
        }
    }
}

#[test]
fn cursor_entries_are_rewritten_in_the_files_style() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    assert_eq!(
        plan.after,
        r#"{
  "mcpServers": {
    "local-server": {
      "command": "/opt/gatehouse/bin/gatehouse",
      "args": ["run", "local-server"],
      "env": { "API_KEY": "${env:API_KEY}" }
    },
    "github": {
      "command": "/opt/gatehouse/bin/gatehouse",
      "args": ["run", "github"]
    },
    "remote-server": {
      "command": "/opt/gatehouse/bin/gatehouse",
      "args": ["run", "remote-server"]
    }
  }
}
"#
    );
}

#[test]
fn codex_keeps_comments_other_tables_and_routes_entries() {
    let h = fixture_home();
    let path = h.home.join(".codex/config.toml");
    let plan = connect::plan(Client::Codex, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let after = &plan.after;
    assert!(after.starts_with(
        "# Keep this comment and the user's Codex settings.\nmodel = \"gpt-5\"\napproval_policy = \"on-request\"\n"
    ));
    assert!(after.contains("[profiles.fast]\nmodel = \"gpt-5-mini\"\n"));
    assert!(
        after.contains(
            "# Remote server; the token comes from the environment.\n[mcp_servers.figma]\n"
        )
    );
    assert!(after.contains("[mcp_servers.context7.env]\nMY_ENV_VAR = \"MY_ENV_VALUE\"\n"));
    assert!(after.contains("env_vars = [\"LOCAL_TOKEN\"]"));
    assert!(after.contains("enabled = false\nstartup_timeout_sec = 20\n"));
    // The routed entry is untouched.
    assert!(after.contains(
        "[mcp_servers.\"notes.local\"]\ncommand = \"gatehouse\"\nargs = [\"run\", \"notes\"]\n"
    ));
    assert!(!after.contains("bearer_token_env_var") && !after.contains("http_headers"));
    assert!(!after.contains("secret-test-0000") && !after.contains("xoxb-"));
    let names: Vec<&str> = plan.edits.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["context7", "figma", "docs"]);
}

#[test]
fn claude_code_local_scope_entries_are_routed() {
    let h = fixture_home();
    let path = h.home.join(".claude.json");
    let plan = connect::plan(
        Client::ClaudeCode,
        &path,
        Path::new(GATEHOUSE),
        &routed_name,
    )
    .unwrap();
    let scoped: Vec<(&str, Option<&str>)> = plan
        .edits
        .iter()
        .map(|e| (e.name.as_str(), e.scope.as_deref()))
        .collect();
    assert_eq!(
        scoped,
        [
            ("playwright", None),
            ("linear", None),
            ("stripe", Some("/home/alice/src/shop")),
            ("db", Some("/home/alice/src/shop")),
        ]
    );
    assert!(plan.after.contains(r#""userID": "0000000000000000""#));
    assert!(plan.after.contains(
        r#""github": { "type": "stdio", "command": "gatehouse", "args": ["run", "github"] }"#
    ));
}

#[test]
fn continue_entries_are_rewritten_in_the_files_style() {
    let h = fixture_home();
    let path = h.home.join(".continue/config.yaml");
    let plan = connect::plan(Client::Continue, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let at = plan.after.find("mcpServers:").unwrap();
    assert_eq!(plan.after[..at], plan.before[..at]);
    assert_eq!(
        &plan.after[at..],
        r#"mcpServers:
  # stdio, secret inline
  - name: GitHub
    command: /opt/gatehouse/bin/gatehouse
    args:
      - run
      - GitHub
  # stdio, secret by reference
  - name: Supabase MCP
    command: /opt/gatehouse/bin/gatehouse
    args: [run, Supabase-MCP]
    env:
      SUPABASE_TOKEN: ${{ secrets.SUPABASE_TOKEN }}
  - name: Remote docs
    type: stdio
    command: /opt/gatehouse/bin/gatehouse
    args:
      - run
      - Remote-docs
  - name: SQLite MCP
    command: gatehouse
    args:
      - run
      - sqlite-mcp
  # Flow style on one line; the key is a secret, the log level is not.
  - {name: Brave Search, command: /opt/gatehouse/bin/gatehouse, args: [run, Brave-Search], env: {LOG_LEVEL: info}}
  # Odd indentation, an anchor another entry uses, a working directory.
  -   name:   Memory   # spaces after the colon
      type: stdio
      command: /opt/gatehouse/bin/gatehouse
      args: [run, Memory]
      connectionTimeout: &timeout 30
  - name: Time
    command: /opt/gatehouse/bin/gatehouse
    args:
    - run
    - Time
    connectionTimeout: *timeout
    env:
      LOCAL_TIMEZONE: Europe/Paris

# Rules stay as they are.
rules:
  - Always answer in English.
"#
    );
    let names: Vec<&str> = plan.edits.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "GitHub",
            "Supabase MCP",
            "Remote docs",
            "Brave Search",
            "Memory",
            "Time"
        ]
    );
}

#[test]
fn goose_entries_are_rewritten_in_the_files_style() {
    let h = fixture_home();
    let path = h.home.join(".config/goose/config.yaml");
    let plan = connect::plan(Client::Goose, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let at = plan.after.find("  filesystem:").unwrap();
    assert_eq!(plan.after[..at], plan.before[..at], "the builtin is kept");
    assert_eq!(
        &plan.after[at..],
        r#"  filesystem:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args: [run, filesystem]
    name: filesystem
    enabled: true
    env_keys: []
    envs: {}
    timeout: 300
  github:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args: [run, github]
    name: github
    enabled: false  # disabled but still importable
    envs: {}
    env_keys: []
  remote-tools:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args:
      - run
      - remote-tools
    name: remote-tools
    enabled: true
    env_keys: [REMOTE_TOOLS_TOKEN]
    envs: {}
    timeout: 300
  # Written by hand in flow style.
  time: { type: stdio, cmd: /opt/gatehouse/bin/gatehouse, args: [run, time], name: time, enabled: true, envs: { LOCAL_TIMEZONE: Europe/Paris }, env_keys: [], timeout: 300 }
  postgres:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args:
    - run
    - postgres
    name: postgres
    display_name: Postgres
    description: |
      Read-only access to the analytics database.
      # Not a comment: part of the description.
    enabled: true
    envs:
      PGUSER: readonly
    env_keys: []
    timeout: 300
    bundled: null
    available_tools: []
  fetch:
    type: stdio
    name: fetch
    enabled: true
    cmd: /home/alice/.local/bin/gatehouse
    args: [run, fetch]
    envs: {}
    env_keys: []
    timeout: 300

# Settings after the extensions stay as they are.
GOOSE_TELEMETRY_ENABLED: false
"#
    );
    // Goose still reads the description and the disabled flag.
    let after = parse(Client::Goose, &plan.after).unwrap();
    let github = after.iter().find(|e| e.name == "github").unwrap();
    assert!(github.disabled && github.env.is_empty());
}

#[test]
fn yaml_scalars_are_quoted_when_they_must_be() {
    let text = "extensions:\n  a:\n    type: stdio\n    cmd: npx\n    args: [x]\n";
    for gatehouse in [
        "C:\\Program Files\\Gatehouse\\gatehouse.exe",
        "/opt/my apps/gate: house/gatehouse",
        "/opt/#gatehouse/'quoted\"/gatehouse",
    ] {
        for server in ["true", "1.0", "null", "a b", "x-1"] {
            let name = |_: &Entry| Some(server.to_string());
            let (after, _) = connect::plan_text(Client::Goose, text, gatehouse, &name).unwrap();
            let entry = &parse(Client::Goose, &after).unwrap()[0];
            assert_eq!(entry.command.as_deref(), Some(gatehouse), "{after}");
            assert_eq!(entry.args, ["run", server], "{after}");
        }
    }
}

#[test]
fn yaml_with_crlf_and_a_byte_order_mark_round_trips() {
    for (client, file) in [
        (Client::Continue, ".continue/config.yaml"),
        (Client::Goose, ".config/goose/config.yaml"),
    ] {
        let h = fixture_home();
        let path = h.home.join(file);
        let lf = std::fs::read_to_string(&path).unwrap();
        let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
        std::fs::write(&path, &crlf).unwrap();
        let plan = connect_file(client, &path, &h.data);
        assert!(!plan.is_noop());
        assert!(plan.after.starts_with('\u{feff}'));
        assert!(
            !plan.after.replace("\r\n", "").contains('\n'),
            "{client}: a bare LF:\n{}",
            plan.after
        );
        assert_outside_unchanged(&plan);
        // The same entries as the LF file, line ends aside.
        let lf_plan = connect::plan_text(client, &lf, GATEHOUSE, &routed_name).unwrap();
        assert_eq!(
            plan.after,
            format!("\u{feff}{}", lf_plan.0.replace('\n', "\r\n"))
        );
        let restore = restore::plan(client, &path, &h.data).unwrap();
        assert!(restore.exact);
        restore::apply(&restore, &h.data).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), crlf);
    }
}

#[test]
fn yaml_entries_are_found_however_they_are_named() {
    // A document marker, a name YAML reads as a number, the same name
    // twice, an item with no name, empty values and a quoted key.
    let text = "---\nmcpServers:\n  - name: 1.0\n    command: a\n    cwd:\n  - name: twice\n    command: b\n  - name: twice\n    command: c\n    args: [x]\n  - command: d\n    description:\n...\n";
    let (after, edits) =
        connect::plan_text(Client::Continue, text, GATEHOUSE, &routed_name).unwrap();
    let names: Vec<&str> = edits.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["1.0", "twice", "twice", "#4"]);
    assert!(
        after.starts_with("---\n") && after.ends_with("\n...\n"),
        "{after}"
    );
    assert!(after.contains("  - command: /opt/gatehouse/bin/gatehouse\n    args:\n      - run\n      - s-4\n    description:\n"), "{after}");
    assert!(!after.contains("cwd"), "{after}");
    let routed: Vec<Option<String>> = parse(Client::Continue, &after)
        .unwrap()
        .iter()
        .map(|e| e.routed_to().map(str::to_string))
        .collect();
    assert_eq!(
        routed,
        [Some("1.0"), Some("twice"), Some("twice"), Some("s-4")].map(|s| s.map(String::from))
    );
    let goose = "extensions:\n  \"my ext\": {\"type\": \"stdio\", \"cmd\": \"npx\", \"args\": []}\n  'other':\n    cmd: npx\n";
    let (after, edits) = connect::plan_text(Client::Goose, goose, GATEHOUSE, &routed_name).unwrap();
    assert_eq!(edits.len(), 2);
    assert_eq!(
        after,
        "extensions:\n  \"my ext\": {type: stdio, cmd: /opt/gatehouse/bin/gatehouse, args: [run, my-ext]}\n  'other':\n    cmd: /opt/gatehouse/bin/gatehouse\n    args:\n      - run\n      - other\n"
    );
}

#[test]
fn a_continue_json_block_stays_json() {
    // A workspace block copied from Claude Desktop.
    let text = "{\n  \"mcpServers\": {\n    \"fs\": {\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"server-fs\"]\n    }\n  }\n}\n";
    let (after, edits) =
        connect::plan_text(Client::Continue, text, GATEHOUSE, &routed_name).unwrap();
    assert_eq!(edits.len(), 1);
    let json: serde_json::Value = serde_json::from_str(&after).expect("still JSON");
    assert_eq!(
        json["mcpServers"]["fs"]["args"],
        serde_json::json!(["run", "fs"])
    );
    // The same servers written as YAML are edited as YAML.
    let yaml = "mcpServers:\n  fs:\n    command: npx\n";
    let (after, _) = connect::plan_text(Client::Continue, yaml, GATEHOUSE, &routed_name).unwrap();
    assert!(
        after.contains("    command: /opt/gatehouse/bin/gatehouse\n"),
        "{after}"
    );
}

#[test]
fn a_yaml_anchor_used_outside_the_entries_leaves_the_file_alone() {
    // `b` is not imported, so it stays, and its alias needs `a`'s anchor.
    let text = "extensions:\n  a:\n    type: stdio\n    cmd: &npx npx\n    args: [x]\n  b:\n    type: stdio\n    cmd: *npx\n    args: [y]\n";
    let only_a = |e: &Entry| (e.name == "a").then(|| "a".to_string());
    let err = connect::plan_text(Client::Goose, text, GATEHOUSE, &only_a).unwrap_err();
    assert!(
        err.contains("would leave the file unreadable") && err.contains("left alone"),
        "{err}"
    );
    // Both imported: both rewritten, and the anchor is no longer needed.
    let (after, edits) = connect::plan_text(Client::Goose, text, GATEHOUSE, &routed_name).unwrap();
    assert_eq!(edits.len(), 2);
    assert!(!after.contains("npx"), "{after}");
    // An alias of a whole entry would be rewritten with it.
    let text = "extensions:\n  a: &a {type: stdio, cmd: npx, args: [x]}\n  b: *a\n";
    let err = connect::plan_text(Client::Goose, text, GATEHOUSE, &only_a).unwrap_err();
    assert!(err.contains("would change more than the entries"), "{err}");
}

#[test]
fn write_records_are_found_per_file_newest_first() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    connect_file(Client::Cursor, &path, &h.data);
    let records = write::records_for(&h.data.backups(), &path);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].client, Client::Cursor);
    assert!(write::records_for(&h.data.backups(), &h.home.join("other.json")).is_empty());
    let calls = Cell::new(0);
    let count = |_: Step| {
        calls.set(calls.get() + 1);
        Ok(())
    };
    let plan = restore::plan(Client::Cursor, &path, &h.data).unwrap();
    restore::apply_with(&plan, &h.data, &count).unwrap();
    assert_eq!(calls.get(), 4, "every step is reported");
}
