//! `gatehouse clients list`: the engine's client fixtures laid out in a
//! temporary HOME at their Linux paths, listed through the real binary.

use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

use crate::{Env, PATH_OVERRIDES, client_fixtures, copy_tree, fixture_secrets};

fn clients(env: &Env) -> Command {
    let mut cmd = env.cmd();
    for key in PATH_OVERRIDES {
        cmd.env_remove(key);
    }
    cmd.args(["clients", "list"]);
    cmd
}

fn list_json(env: &Env) -> Vec<Value> {
    let out = clients(env).arg("--json").assert().success();
    let out = out.get_output();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    for secret in fixture_secrets() {
        assert!(!stdout.contains(secret), "{secret} printed");
        assert!(!stderr.contains(secret), "{secret} printed on stderr");
    }
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(list: &'a [Value], client: &str) -> &'a Value {
    list.iter()
        .find(|c| c["client"] == client)
        .unwrap_or_else(|| panic!("{client} not listed"))
}

fn server<'a>(client: &'a Value, name: &str) -> &'a Value {
    client["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{} has no {name}", client["client"]))
}

fn server_names(client: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = client["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

fn finding_rules(server: &Value) -> Vec<&str> {
    server["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect()
}

#[test]
fn lists_every_fixture_client_with_servers_routing_and_findings() {
    let env = Env::fresh();
    copy_tree(&client_fixtures(), &env.home);
    let list = list_json(&env);

    let ids: Vec<&str> = list.iter().map(|c| c["client"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "claude-desktop",
            "claude-code",
            "cursor",
            "vscode",
            "windsurf",
            "cline",
            "zed",
            "gemini-cli",
            "codex",
            "continue",
            "goose",
            "lm-studio"
        ]
    );
    for client in &list {
        assert!(client["error"].is_null(), "{client}");
        let path = Path::new(client["path"].as_str().unwrap());
        assert!(path.starts_with(&env.home), "{}", path.display());
        for s in client["servers"].as_array().unwrap() {
            assert!(s["name"].is_string());
            assert!(s["routed"].is_boolean());
            assert!(s["findings"].is_array());
        }
    }
    assert_eq!(
        find(&list, "cursor")["path"],
        env.home.join(".cursor/mcp.json").display().to_string()
    );
    assert_eq!(
        find(&list, "goose")["path"],
        env.home
            .join(".config/goose/config.yaml")
            .display()
            .to_string()
    );

    // Server names and routing, per format.
    let desktop = find(&list, "claude-desktop");
    assert_eq!(
        server_names(desktop),
        ["brave-search", "filesystem", "linear", "notes"]
    );
    assert_eq!(server(desktop, "notes")["routed"], true);
    assert_eq!(server(desktop, "filesystem")["routed"], false);
    let code = find(&list, "claude-code");
    assert_eq!(
        server_names(code),
        ["db", "github", "linear", "playwright", "stripe"]
    );
    assert_eq!(server(code, "github")["routed"], true);
    assert_eq!(server(code, "stripe")["scope"], "/home/alice/src/shop");
    assert_eq!(server(code, "stripe")["transport"], "http");
    let vscode = find(&list, "vscode");
    assert_eq!(
        server_names(vscode),
        ["context7", "fetch", "memory", "perplexity"]
    );
    assert_eq!(server(vscode, "fetch")["routed"], true);
    let codex = find(&list, "codex");
    assert_eq!(server(codex, "notes.local")["routed"], true);
    assert_eq!(server(codex, "notes.local")["routed_to"], "notes");
    assert_eq!(server(codex, "docs")["disabled"], true);
    let cont = find(&list, "continue");
    assert_eq!(server(cont, "SQLite MCP")["routed"], true);
    assert_eq!(
        server(cont, "Remote docs")["url"],
        "https://example.com/mcp"
    );
    assert_eq!(server(find(&list, "goose"), "fetch")["routed"], true);
    assert_eq!(server(find(&list, "windsurf"), "git")["disabled"], true);
    assert_eq!(server(find(&list, "zed"), "old-style")["routed"], true);
    assert_eq!(
        server(find(&list, "gemini-cli"), "httpServerWithAuth")["transport"],
        "http"
    );

    // Findings: secrets by name only, unpinned packages, duplicates.
    let github = server(find(&list, "cursor"), "github");
    assert_eq!(
        finding_rules(github),
        ["plaintext-secret", "unpinned-package", "duplicate"]
    );
    assert_eq!(github["findings"][0]["field"], "env.GITHUB_TOKEN");
    assert_eq!(github["env_keys"], serde_json::json!(["GITHUB_TOKEN"]));
    assert!(github.get("env").is_none());
    assert!(
        github["findings"][2]["message"]
            .as_str()
            .unwrap()
            .contains("windsurf (github)")
    );
    // References are not secrets.
    assert!(finding_rules(server(vscode, "perplexity")).is_empty());
    assert!(finding_rules(server(find(&list, "cursor"), "local-server")).is_empty());
    assert!(!finding_rules(server(cont, "Supabase MCP")).contains(&"plaintext-secret"));
    // A secret argument is hidden, the rest of the command line is shown.
    let db = server(code, "db");
    assert_eq!(db["args"][3], "[REDACTED]");
    assert_eq!(db["args"][2], "--dsn");
    assert!(finding_rules(server(code, "playwright")).contains(&"unpinned-package"));
    assert!(finding_rules(server(desktop, "linear")).contains(&"duplicate"));
    // Routed entries carry no finding.
    assert!(finding_rules(server(desktop, "notes")).is_empty());
}

#[test]
fn text_list_is_readable_and_prints_no_secret() {
    let env = Env::fresh();
    copy_tree(&client_fixtures(), &env.home);
    let out = clients(&env)
        .assert()
        .success()
        .stdout(contains("Claude Desktop"))
        .stdout(contains("SERVER"))
        .stdout(contains("ROUTED"))
        .stdout(contains("/usr/local/bin/gatehouse run notes"))
        .stdout(contains("env GITHUB_TOKEN holds a plain-text secret"))
        .stdout(contains("not pinned"));
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for secret in fixture_secrets() {
        assert!(!stdout.contains(secret), "{secret} printed");
    }
}

#[test]
fn an_unparseable_config_is_reported_and_the_others_still_listed() {
    let env = Env::fresh();
    let write = |rel: &str, text: &str| {
        let path = env.home.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".cursor/mcp.json", "{\"mcpServers\": {\"broken\": ");
    write(
        ".codex/config.toml",
        "[mcp_servers.ok]\ncommand = \"gatehouse\"\nargs = [\"run\", \"ok\"]\n",
    );
    let list = list_json(&env);
    assert_eq!(list.len(), 2);
    let cursor = find(&list, "cursor");
    let error = cursor["error"].as_str().unwrap();
    assert!(
        error.contains(&env.home.join(".cursor/mcp.json").display().to_string()),
        "{error}"
    );
    assert_eq!(cursor["servers"], serde_json::json!([]));
    let codex = find(&list, "codex");
    assert!(codex["error"].is_null());
    assert_eq!(server(codex, "ok")["routed"], true);

    clients(&env)
        .assert()
        .success()
        .stdout(contains("error: cannot parse"))
        .stdout(contains("ok"));
}

#[test]
fn an_empty_home_lists_nothing() {
    let env = Env::fresh();
    assert!(list_json(&env).is_empty());
    clients(&env)
        .assert()
        .success()
        .stdout(contains("no MCP client configs found"));
}

#[test]
fn import_registers_each_server_once_with_its_secrets_in_the_keychain_only() {
    use gatehouse_engine::{Keychain, SecretStore};

    let env = Env::fresh();
    copy_tree(&client_fixtures(), &env.home);
    let mut cmd = env.cmd();
    for key in PATH_OVERRIDES {
        cmd.env_remove(key);
    }
    // Some fixture entries keep a secret where it cannot be moved (an
    // argument, a header): those are skipped, and the exit code says so.
    let out = cmd
        .args(["clients", "import", "--all", "--json"])
        .assert()
        .code(1);
    let out = out.get_output();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    for secret in fixture_secrets() {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} printed"
        );
    }
    let report: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let github = report.iter().find(|i| i["server"] == "github").unwrap();
    assert_eq!(github["outcome"], "added");
    assert!(
        github["sources"].as_array().unwrap().len() >= 2,
        "one server for every client that has it"
    );
    assert!(
        github["secrets_moved"]
            .as_array()
            .unwrap()
            .contains(&Value::from("GITHUB_TOKEN"))
    );
    let skipped: Vec<&str> = report
        .iter()
        .filter(|i| i["outcome"] == "skipped")
        .map(|i| i["server"].as_str().unwrap())
        .collect();
    assert!(
        skipped.contains(&"db"),
        "a password in an argument is not imported: {skipped:?}"
    );

    // The canary is in the keychain and in no Gatehouse file.
    let token = Keychain.get("github", "GITHUB_TOKEN").unwrap().unwrap();
    assert_eq!(token.expose(), "sk-gatehouse-canary-7f3a9c1e5b2d");
    for path in crate::files_under(&env.data) {
        let bytes = std::fs::read(&path).unwrap();
        for secret in fixture_secrets() {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in {}",
                path.display()
            );
        }
    }
    let servers = env.json(&["server", "list"]);
    let registered = servers.as_array().unwrap().len();
    let github = servers
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "github")
        .unwrap();
    assert!(
        github["secrets"]
            .as_array()
            .unwrap()
            .contains(&Value::from("GITHUB_TOKEN"))
    );

    // A second import finds everything registered and adds nothing.
    let mut again = env.cmd();
    for key in PATH_OVERRIDES {
        again.env_remove(key);
    }
    again.args(["clients", "import", "--all"]).assert().code(1);
    assert_eq!(
        env.json(&["server", "list"]).as_array().unwrap().len(),
        registered
    );

    for server in servers.as_array().unwrap() {
        let name = server["name"].as_str().unwrap();
        env.cmd()
            .args(["server", "remove", name])
            .assert()
            .success();
    }
}
