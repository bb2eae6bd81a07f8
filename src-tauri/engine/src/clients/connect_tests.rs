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
    include_str!("../../tests/fixtures/clients/secrets.txt")
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

/// The fixture configs connect rewrites (all but the YAML ones).
fn writable(home: &Path) -> Vec<ClientConfig> {
    discover_with(home, &no_env, Os::Linux)
        .into_iter()
        .filter(|c| !matches!(c.client, Client::Continue | Client::Goose))
        .collect()
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
    assert_eq!(configs.len(), 10, "{configs:?}");
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
fn json_fixtures_change_nothing_outside_the_entries() {
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
fn yaml_clients_are_left_alone_with_a_clear_error() {
    let h = fixture_home();
    let path = h.home.join(".continue/config.yaml");
    let err =
        connect::plan(Client::Continue, &path, Path::new(GATEHOUSE), &routed_name).unwrap_err();
    assert!(err.contains("not supported yet"), "{err}");
}

// ---- restore after the client's own edits ------------------------------------

#[test]
fn restore_keeps_the_clients_later_edits_json() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Cursor, &path, &h.data);
    // The client adds a server and a setting after connect.
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("{\n", "{\n  \"theme\": \"dark\",\n", 1)
        .replacen(
            "  \"mcpServers\": {\n",
            "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
            1,
        );
    std::fs::write(&path, &edited).unwrap();
    let plan = restore::plan(Client::Cursor, &path, &h.data).unwrap();
    assert!(!plan.exact);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    restore::apply(&plan, &h.data).unwrap();
    let expected = original
        .replacen("{\n", "{\n  \"theme\": \"dark\",\n", 1)
        .replacen(
            "  \"mcpServers\": {\n",
            "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
            1,
        );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}

#[test]
fn restore_leaves_an_entry_the_client_changed_since() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Cursor, &path, &h.data);
    let edited = std::fs::read_to_string(&path).unwrap().replacen(
        "\"args\": [\"run\", \"github\"]",
        "\"args\": [\"run\", \"github\", \"--verbose\"]",
        1,
    );
    std::fs::write(&path, &edited).unwrap();
    let plan = restore::plan(Client::Cursor, &path, &h.data).unwrap();
    assert_eq!(
        plan.warnings,
        ["github was changed since connect; left as it is"]
    );
    restore::apply(&plan, &h.data).unwrap();
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains("\"args\": [\"run\", \"github\", \"--verbose\"]"));
    assert!(now.contains(r#""url": "https://api.example.com/mcp""#));
    assert!(original.contains(r#""command": "python""#) && now.contains(r#""command": "python""#));
}

#[test]
fn restore_keeps_the_clients_later_edits_toml() {
    let h = fixture_home();
    let path = h.home.join(".codex/config.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Codex, &path, &h.data);
    let edited =
        std::fs::read_to_string(&path)
            .unwrap()
            .replacen("model = \"gpt-5\"", "model = \"o3\"", 1);
    std::fs::write(&path, edited).unwrap();
    let plan = restore::plan(Client::Codex, &path, &h.data).unwrap();
    assert!(
        !plan.exact && plan.warnings.is_empty(),
        "{:?}",
        plan.warnings
    );
    restore::apply(&plan, &h.data).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        original.replacen("model = \"gpt-5\"", "model = \"o3\"", 1)
    );
}

#[test]
fn two_connects_are_undone_newest_first() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let original = std::fs::read(&path).unwrap();
    connect_file(Client::Cursor, &path, &h.data);
    // A new server appears; the second connect routes it.
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "  \"mcpServers\": {\n",
        "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
        1,
    );
    std::fs::write(&path, &text).unwrap();
    let second = connect_file(Client::Cursor, &path, &h.data);
    assert_eq!(second.edits.len(), 1);
    restore::apply(
        &restore::plan(Client::Cursor, &path, &h.data).unwrap(),
        &h.data,
    )
    .unwrap();
    let expected = String::from_utf8(original).unwrap().replacen(
        "  \"mcpServers\": {\n",
        "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
        1,
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}

// ---- the safe write --------------------------------------------------------

fn leftover_temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_crash_at_any_step_leaves_the_old_or_the_new_file_and_the_backup() {
    for step in Step::ALL {
        let h = fixture_home();
        let path = h.home.join(".cursor/mcp.json");
        let plan =
            connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        let fail = |s: Step| {
            if s == step {
                Err(format!("crash at {s:?}"))
            } else {
                Ok(())
            }
        };
        let err = connect::apply_with(&plan, &h.data, &fail).unwrap_err();
        assert_eq!(err, format!("crash at {step:?}"));
        let now = std::fs::read_to_string(&path).unwrap();
        assert!(
            now == plan.before || now == plan.after,
            "{step:?}: torn file"
        );
        assert_eq!(now, plan.before, "{step:?}: nothing renamed yet");
        let backups: Vec<Vec<u8>> = std::fs::read_dir(h.data.backups())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "backup"))
            .map(|p| write::read_backup(&p).unwrap())
            .collect();
        assert_eq!(
            backups,
            [plan.before.as_bytes().to_vec()],
            "{step:?}: backup"
        );
        assert!(leftover_temp_files(path.parent().unwrap()).is_empty());
        // A later connect still works.
        connect::apply(&plan, &h.data).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), plan.after);
    }
}

#[test]
fn refuses_when_the_file_changed_since_it_was_read() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let edited = plan.before.replace("python", "python3");
    std::fs::write(&path, &edited).unwrap();
    let err = connect::apply(&plan, &h.data).unwrap_err();
    assert!(err.contains("changed since Gatehouse read it"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
}

#[test]
fn refuses_when_the_file_changes_during_the_write() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let edited = plan.before.replace("python", "python3");
    let race = |s: Step| {
        if s == Step::AfterFsync {
            std::fs::write(&path, &edited).unwrap();
        }
        Ok(())
    };
    let err = connect::apply_with(&plan, &h.data, &race).unwrap_err();
    assert!(err.contains("changed since Gatehouse read it"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    assert!(leftover_temp_files(path.parent().unwrap()).is_empty());
}

#[cfg(unix)]
#[test]
fn keeps_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let plan = connect_file(Client::Cursor, &path, &h.data);
    assert!(!plan.is_noop());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let backups = std::fs::metadata(h.data.backups())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(backups, 0o700);
    restore::apply(
        &restore::plan(Client::Cursor, &path, &h.data).unwrap(),
        &h.data,
    )
    .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn an_unparseable_file_is_left_alone() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let broken = "{ \"mcpServers\": { \"a\": { \"command\": \"x\" }\n";
    std::fs::write(&path, broken).unwrap();
    let err = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap_err();
    assert!(
        err.contains("cannot parse") && err.contains("left alone"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let toml = h.home.join(".codex/config.toml");
    std::fs::write(&toml, "[mcp_servers.a\ncommand = 1\n").unwrap();
    let err = connect::plan(Client::Codex, &toml, Path::new(GATEHOUSE), &routed_name).unwrap_err();
    assert!(err.contains("cannot parse"), "{err}");
}

#[test]
fn entries_without_a_gatehouse_server_are_left_alone() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let only_github = |e: &Entry| (e.name == "github").then(|| "github".to_string());
    let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &only_github).unwrap();
    assert_eq!(plan.skipped, ["local-server", "remote-server"]);
    let names: Vec<&str> = plan.edits.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["github"]);
    assert!(plan.after.contains(r#""command": "python""#));
    assert!(
        plan.after
            .contains(r#""url": "https://api.example.com/mcp""#)
    );
}

#[test]
fn secret_values_are_found_for_redaction() {
    let h = fixture_home();
    let text = std::fs::read_to_string(h.home.join(".cursor/mcp.json")).unwrap();
    assert_eq!(
        connect::secret_values(Client::Cursor, &text),
        ["sk-gatehouse-canary-7f3a9c1e5b2d"]
    );
    assert!(connect::secret_values(Client::Cursor, "{").is_empty());
}

#[test]
fn entries_map_to_the_server_import_registered_for_them() {
    use crate::{Server, Transport};
    let server = |name: &str, transport: Transport| Server {
        name: name.into(),
        transport,
        created_at: String::new(),
    };
    let servers = [
        server(
            "github-2",
            Transport::Stdio {
                command: "npx".into(),
                args: vec!["-y".into(), "gh".into()],
                env: Default::default(),
                secrets: Vec::new(),
            },
        ),
        server(
            "docs",
            Transport::Http {
                url: "https://docs.example.com/mcp".into(),
                headers: Default::default(),
            },
        ),
    ];
    let stdio = Entry {
        name: "github".into(),
        command: Some("npx".into()),
        args: vec!["-y".into(), "gh".into()],
        ..Entry::default()
    };
    assert_eq!(
        connect::registered_name(&stdio, &servers).as_deref(),
        Some("github-2")
    );
    let other_args = Entry {
        args: vec!["gh".into()],
        ..stdio.clone()
    };
    assert_eq!(connect::registered_name(&other_args, &servers), None);
    let remote = Entry {
        name: "Docs".into(),
        url: Some("https://docs.example.com/mcp/".into()),
        ..Entry::default()
    };
    assert_eq!(
        connect::registered_name(&remote, &servers).as_deref(),
        Some("docs")
    );
}

// ---- property tests --------------------------------------------------------

/// Whitespace between tokens: spaces, newlines, sometimes a comment.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        3 => Just(" ".to_string()),
        2 => "[ \t]{0,3}\n[ ]{0,6}",
        1 => "[a-z ]{0,12}".prop_map(|c| format!(" // {c}\n  ")),
        1 => "[a-z ]{0,12}".prop_map(|c| format!("/* {c} */")),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_ -]{0,10}"
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{0,10}".prop_map(|s| format!("\"{s}\"")),
        any::<i32>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("null".to_string()),
        Just("[1, 2]".to_string()),
    ]
}

/// An object's text from `(key, value text)` pairs, with random gaps.
fn object(fields: Vec<(String, String)>, gaps: Vec<String>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&gaps[i % gaps.len()]);
        out.push_str(&serde_json::to_string(k).unwrap());
        out.push_str(": ");
        out.push_str(v);
    }
    out.push_str(&gaps[(fields.len() + 1) % gaps.len()]);
    out.push('}');
    out
}

fn server() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[a-z@/.-]{1,12}", 0..4),
        prop::collection::btree_map("[A-Z_]{1,8}", "[a-z]{0,6}", 0..3),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::collection::vec(gap(), 1..4),
    )
        .prop_map(|(args, env, secret, disabled, gaps)| {
            let mut fields = vec![("command".to_string(), "\"npx\"".to_string())];
            fields.push(("args".into(), serde_json::to_string(&args).unwrap()));
            let mut env: Vec<(String, String)> = env
                .into_iter()
                .map(|(k, v)| (k, serde_json::to_string(&v).unwrap()))
                .collect();
            if secret {
                env.push((
                    "API_TOKEN".into(),
                    "\"sk-proptest-0000000000000000\"".into(),
                ));
            }
            fields.push(("env".into(), object(env, gaps.clone())));
            if let Some(d) = disabled {
                fields.push(("disabled".into(), d.to_string()));
            }
            object(fields, gaps)
        })
}

fn config() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        prop::collection::vec((key(), scalar()), 0..4),
        prop::collection::btree_map("[a-z][a-z0-9-]{0,8}", server(), 1..4),
        prop::collection::vec(gap(), 1..4),
        prop_oneof![Just(""), Just("\n"), Just("\n\n")],
        prop_oneof![Just(""), Just("// my settings\n")],
    )
        .prop_map(|(extra, servers, gaps, end, head)| {
            let servers: Vec<(String, String)> = servers
                .into_iter()
                .map(|(k, v)| (serde_json::to_string(&k).unwrap(), v))
                .map(|(k, v)| (k.trim_matches('"').to_string(), v))
                .collect();
            let mut fields: Vec<(String, String)> = Vec::new();
            // Extra keys around the servers, deduplicated against it.
            let mut extra: Vec<(String, String)> = extra
                .into_iter()
                .filter(|(k, _)| k != "mcpServers")
                .collect();
            extra.dedup_by(|a, b| a.0 == b.0);
            let split = extra.len() / 2;
            fields.extend(extra[..split].iter().cloned());
            fields.push(("mcpServers".into(), object(servers, gaps.clone())));
            fields.extend(extra[split..].iter().cloned());
            (
                format!("{head}{}{end}", object(fields.clone(), gaps)),
                extra,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_configs_round_trip((text, extra) in config()) {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::at(tmp.path().join("data")).unwrap();
        let path = tmp.path().join("mcp.json");
        std::fs::write(&path, &text).unwrap();

        let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        assert_outside_unchanged(&plan);
        // The extra keys are still there, written as they were.
        let parsed: serde_json::Value =
            jsonc_parser::parse_to_serde_value(&plan.after, &Default::default()).unwrap();
        let original: serde_json::Value =
            jsonc_parser::parse_to_serde_value(&text, &Default::default()).unwrap();
        for (k, _) in &extra {
            prop_assert_eq!(&parsed[k], &original[k]);
        }
        prop_assert!(!plan.after.contains("sk-proptest"));
        connect::apply(&plan, &data).unwrap();
        for entry in read(Client::Cursor, &path).servers {
            prop_assert_eq!(entry.routed_to(), Some(entry.name.as_str()));
        }

        let again = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        prop_assert!(again.is_noop());

        let restore = restore::plan(Client::Cursor, &path, &data).unwrap();
        prop_assert!(restore.exact);
        restore::apply(&restore, &data).unwrap();
        prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn generated_configs_restore_span_wise_after_an_edit((text, _extra) in config()) {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::at(tmp.path().join("data")).unwrap();
        let path = tmp.path().join("mcp.json");
        std::fs::write(&path, &text).unwrap();
        let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        connect::apply(&plan, &data).unwrap();
        // The client appends a key at the top level.
        let at = plan.after.rfind('}').unwrap();
        let mut edited = plan.after.clone();
        edited.insert_str(at, ", \"added\": 1");
        std::fs::write(&path, &edited).unwrap();
        let restore = restore::plan(Client::Cursor, &path, &data).unwrap();
        prop_assert!(restore.warnings.is_empty());
        let mut expected = text.clone();
        let at = expected.rfind('}').unwrap();
        expected.insert_str(at, ", \"added\": 1");
        prop_assert_eq!(restore.after, expected);
    }
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
