//! `gatehouse clients connect` and `restore` through the real binary: the
//! engine's client fixtures in a temporary HOME are routed through
//! Gatehouse, then put back byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

use crate::{Env, PATH_OVERRIDES, client_fixtures, copy_tree, files_under, fixture_secrets};

fn clients(env: &Env, args: &[&str]) -> Command {
    let mut cmd = env.cmd();
    for key in PATH_OVERRIDES {
        cmd.env_remove(key);
    }
    cmd.arg("clients").args(args);
    cmd
}

fn snapshot(home: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(home)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn list(env: &Env) -> Vec<serde_json::Value> {
    let out = clients(env, &["list", "--json"]).assert().success();
    serde_json::from_slice::<serde_json::Value>(&out.get_output().stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A fixture HOME whose servers `clients import` registered.
fn imported_home() -> Env {
    let env = Env::fresh();
    copy_tree(&client_fixtures(), &env.home);
    // Some entries keep a secret import cannot move (in an argument or a
    // header): those are skipped and the exit code says so.
    clients(&env, &["import", "--all"]).assert().code(1);
    env
}

#[test]
fn connect_then_restore_is_byte_identical() {
    let env = imported_home();
    let original = snapshot(&env.home);

    // A dry run shows the diff, without secret values, and writes nothing.
    let out = clients(&env, &["connect", "--all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("+++ "))
        .stdout(contains("[\"run\", \"github\"]"));
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for secret in fixture_secrets() {
        assert!(!stdout.contains(secret), "{secret} printed by the dry run");
    }
    assert_eq!(snapshot(&env.home), original);

    let routed_before: Vec<(String, String)> = list(&env)
        .iter()
        .flat_map(|c| {
            let path = c["path"].as_str().unwrap().to_string();
            c["servers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["routed"].as_bool().unwrap())
                .map(move |s| (path.clone(), s["name"].as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let out = clients(&env, &["connect", "--all", "--json"])
        .assert()
        .success();
    let report: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let cursor = report.iter().find(|v| v["client"] == "cursor").unwrap();
    assert_eq!(cursor["status"], "connected");
    assert_eq!(cursor["entries"].as_array().unwrap().len(), 3);
    // The YAML clients too, the builtin extension aside.
    let goose = report.iter().find(|v| v["client"] == "goose").unwrap();
    assert_eq!(goose["status"], "connected");
    assert!(!goose["entries"].to_string().contains("developer"));
    let cont = report.iter().find(|v| v["client"] == "continue").unwrap();
    assert_eq!(cont["status"], "connected");
    // What import could not take (a secret in an argument or a header) is
    // left as it is.
    let claude_code = report
        .iter()
        .find(|v| v["client"] == "claude-code")
        .unwrap();
    assert_eq!(claude_code["not_imported"], serde_json::json!(["db"]));
    let not_imported: Vec<(String, String)> = report
        .iter()
        .flat_map(|v| {
            let path = v["path"].as_str().unwrap().to_string();
            v["not_imported"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |n| (path.clone(), n.as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect();

    let exe = std::fs::canonicalize(assert_cmd::cargo::cargo_bin("gatehouse")).unwrap();
    for config in list(&env) {
        let client = config["client"].as_str().unwrap();
        let path = config["path"].as_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            !text.contains("sk-gatehouse-canary-7f3a9c1e5b2d"),
            "the canary is left in {path}"
        );
        for server in config["servers"].as_array().unwrap() {
            let name = server["name"].as_str().unwrap();
            let key = (path.to_string(), name.to_string());
            if server["transport"] == "extension" || not_imported.contains(&key) {
                continue;
            }
            assert!(server["routed"].as_bool().unwrap(), "{client}: {name}");
            // No plain-text secret is left in a routed entry.
            assert!(
                server["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|f| f["rule"] != "plaintext-secret"),
                "{client}: {name}: {}",
                server["findings"]
            );
            if !routed_before.contains(&key) {
                assert_eq!(server["command"].as_str(), exe.to_str(), "{client}: {name}");
            }
        }
    }

    // Gatehouse's backups hold the original files, secrets included: they
    // are sealed, so no secret is in the data directory in the clear.
    let backups = files_under(&env.data);
    assert!(
        backups
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "backup"))
    );
    for path in &backups {
        let bytes = std::fs::read(path).unwrap();
        for secret in fixture_secrets() {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in the clear in {}",
                path.display()
            );
        }
    }

    // Connect twice changes nothing.
    let connected = snapshot(&env.home);
    clients(&env, &["connect", "--all"])
        .assert()
        .success()
        .stdout(contains("nothing to connect"));
    assert_eq!(snapshot(&env.home), connected);

    let out = clients(&env, &["restore", "--all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would change"));
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for secret in fixture_secrets() {
        assert!(
            !stdout.contains(secret),
            "{secret} printed by the restore dry run"
        );
    }
    assert_eq!(snapshot(&env.home), connected);

    // Restoring would put plain-text secrets back: without a terminal to
    // ask at, and no flag saying what to do, each such file is refused
    // (files without secrets are restored).
    let cursor = env.home.join(".cursor/mcp.json");
    clients(&env, &["restore", "--all"])
        .assert()
        .code(1)
        .stdout(contains("--with-secrets"))
        .stdout(contains("github env.GITHUB_TOKEN"));
    assert!(
        connected[&cursor] == std::fs::read(&cursor).unwrap(),
        "a file with secrets was restored without asking"
    );

    clients(&env, &["restore", "--all", "--with-secrets"])
        .assert()
        .success()
        .stdout(contains("restored"));
    assert_eq!(snapshot(&env.home), original);
    clients(&env, &["restore", "cursor"])
        .assert()
        .success()
        .stdout(contains("nothing to restore"));
}

#[test]
fn connect_one_client_and_refuse_what_it_cannot_do() {
    let env = imported_home();
    clients(&env, &["connect", "cursor", "--json"])
        .assert()
        .success()
        .stdout(contains("\"status\": \"connected\""));
    clients(&env, &["connect", "no-such-client"])
        .assert()
        .code(2)
        .stderr(contains("unknown client 'no-such-client'"));
    clients(&env, &["connect"]).assert().code(2);
    let goose = env.home.join(".config/goose/config.yaml");
    std::fs::write(&goose, "extensions:\n  a: [\n").unwrap();
    clients(&env, &["connect", "goose"])
        .assert()
        .code(1)
        .stdout(contains("cannot parse"));
    assert_eq!(
        std::fs::read_to_string(&goose).unwrap(),
        "extensions:\n  a: [\n"
    );
    let cursor = env.home.join(".cursor/mcp.json");
    std::fs::write(&cursor, "{ \"mcpServers\": ").unwrap();
    clients(&env, &["restore", "cursor"])
        .assert()
        .code(1)
        .stdout(contains("cannot parse"));
    assert_eq!(
        std::fs::read_to_string(&cursor).unwrap(),
        "{ \"mcpServers\": "
    );
}

#[test]
fn restore_without_secrets_leaves_their_values_empty() {
    let env = imported_home();
    let cursor = env.home.join(".cursor/mcp.json");
    let original = std::fs::read_to_string(&cursor).unwrap();
    let canary = "sk-gatehouse-canary-7f3a9c1e5b2d";
    assert!(original.contains(canary));
    clients(&env, &["connect", "cursor"]).assert().success();

    let out = clients(&env, &["restore", "cursor", "--without-secrets", "--json"])
        .assert()
        .success();
    let report: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report[0]["status"], "restored");
    let warnings = report[0]["warnings"].to_string();
    assert!(warnings.contains("github env.GITHUB_TOKEN"), "{warnings}");

    // Everything is back but the secret's value.
    let restored = std::fs::read_to_string(&cursor).unwrap();
    assert_eq!(restored, original.replace(&format!("\"{canary}\""), "\"\""));
    // The record is used up: restoring again has nothing to do.
    clients(&env, &["restore", "cursor", "--with-secrets"])
        .assert()
        .success()
        .stdout(contains("nothing to restore"));
}

#[test]
fn connect_via_the_gateway_names_its_url_except_in_claude_desktop_and_restores_exactly() {
    let env = imported_home();
    let original = snapshot(&env.home);
    clients(&env, &["connect", "cursor", "--port", "47199"])
        .assert()
        .failure()
        .stderr(contains("goes with --via gateway"));

    let out = clients(
        &env,
        &[
            "connect", "--all", "--via", "gateway", "--port", "47199", "--json",
        ],
    )
    .assert()
    .success();
    let report: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let token = String::from_utf8(
        env.cmd()
            .args(["gateway", "token", "cursor"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    let token = token.trim();
    let cursor = std::fs::read_to_string(env.home.join(".cursor/mcp.json")).unwrap();
    assert!(cursor.contains("\"url\": \"http://127.0.0.1:47199/mcp/github\""));
    assert!(cursor.contains(&format!("\"Authorization\": \"Bearer {token}\"")));
    let of = |client: &str| report.iter().find(|v| v["client"] == client).unwrap();
    assert_eq!(of("cursor")["status"], "connected");
    assert!(
        of("cursor")["secrets"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("github headers.Authorization"))
    );
    // Claude Desktop cannot take a URL from its file: it keeps stdio.
    assert_eq!(of("claude-desktop")["status"], "connected");
    assert!(of("claude-desktop").get("secrets").is_none());
    let desktop =
        std::fs::read_to_string(env.home.join(".config/Claude/claude_desktop_config.json"))
            .unwrap();
    assert!(desktop.contains("\"args\": [\"run\", \"filesystem\"]"));
    assert!(!desktop.contains("/mcp/") && !desktop.contains(token));

    clients(&env, &["restore", "--all", "--with-secrets"])
        .assert()
        .success();
    assert_eq!(snapshot(&env.home), original);
}
