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
mod gateway;
mod properties;
mod safe_write;
mod yaml;

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
