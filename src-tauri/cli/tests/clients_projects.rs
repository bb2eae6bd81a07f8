//! `gatehouse clients` beyond the home directory: project folders (given
//! with `--project`, or known to Claude Code) and system-wide files, through
//! the real binary. The engine's `projects/shop` fixture is copied into a
//! temporary folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

use crate::{Env, PATH_OVERRIDES, copy_tree, files_under, fixture_secrets};

fn clients(env: &Env, args: &[&str]) -> Command {
    let mut cmd = env.cmd();
    for key in PATH_OVERRIDES {
        cmd.env_remove(key);
    }
    cmd.arg("clients").args(args);
    cmd
}

/// A copy of the fixture project, as its canonical path (what lists show).
fn project(env: &Env) -> PathBuf {
    let dir = env.home.parent().unwrap().join("src/shop");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../engine/tests/fixtures/clients/projects/shop"),
        &dir,
    );
    std::fs::canonicalize(dir).unwrap()
}

/// `clients list --json` with `args`, checking no fixture secret is printed.
fn list(env: &Env, args: &[&str]) -> Vec<Value> {
    let out = clients(env, &["list", "--json"])
        .args(args)
        .assert()
        .success();
    let out = out.get_output();
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        for secret in fixture_secrets() {
            assert!(!text.contains(secret), "{secret} printed");
        }
    }
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn sources(list: &[Value]) -> Vec<(String, Value)> {
    list.iter()
        .map(|c| {
            (
                c["client"].as_str().unwrap().to_string(),
                c["source"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_project_given_lists_its_files_with_the_folder() {
    let env = Env::fresh();
    let dir = project(&env);
    let dir_text = dir.to_str().unwrap();
    let listed = list(&env, &["--project", dir_text]);
    let project = serde_json::json!({"kind": "project", "dir": dir_text});
    assert_eq!(
        sources(&listed),
        [
            "claude-code",
            "cursor",
            "vscode",
            "windsurf",
            "zed",
            "gemini-cli",
            "codex",
            "continue",
            "continue"
        ]
        .map(|c| (c.to_string(), project.clone())),
    );
    // The envFile's secret is named on its entry.
    let vscode = listed.iter().find(|c| c["client"] == "vscode").unwrap();
    let memory = vscode["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "memory")
        .unwrap();
    assert!(
        memory["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "envFile.MEMORY_API_KEY"),
        "{memory}"
    );

    let out = clients(&env, &["list", "--project", dir_text])
        .assert()
        .success()
        .stdout(contains(format!("(project {dir_text})")));
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    for secret in fixture_secrets() {
        assert!(!stdout.contains(secret), "{secret} printed");
    }
}

#[test]
fn the_projects_claude_code_knows_are_listed_and_a_missing_one_skipped() {
    let env = Env::fresh();
    let dir = project(&env);
    let gone = env.home.parent().unwrap().join("src/deleted");
    std::fs::write(
        env.home.join(".claude.json"),
        serde_json::json!({
            "projects": {
                dir.to_str().unwrap(): {"allowedTools": []},
                gone.to_str().unwrap(): {"allowedTools": []},
            }
        })
        .to_string(),
    )
    .unwrap();
    let listed = list(&env, &[]);
    let cursor: Vec<&Value> = listed.iter().filter(|c| c["client"] == "cursor").collect();
    assert_eq!(cursor.len(), 1);
    assert_eq!(cursor[0]["source"]["dir"], dir.to_str().unwrap());
    // ~/.claude.json itself is the user's.
    let code = listed
        .iter()
        .find(|c| c["client"] == "claude-code" && c["source"]["kind"] == "user")
        .unwrap();
    assert!(code["path"].as_str().unwrap().ends_with(".claude.json"));
}

#[test]
fn a_missing_project_folder_is_an_error() {
    let env = Env::fresh();
    let missing = env.home.join("no-such-project");
    for command in ["list", "import", "connect", "restore"] {
        let mut cmd = clients(&env, &[command]);
        if command != "list" {
            cmd.arg("--all");
        }
        cmd.arg("--project")
            .arg(&missing)
            .assert()
            .failure()
            .stderr(contains(missing.display().to_string()));
    }
}

#[test]
fn connect_then_restore_a_projects_files_is_byte_identical() {
    let env = Env::fresh();
    let dir = project(&env);
    let dir_text = dir.to_str().unwrap();
    let original = snapshot(&dir);

    // VS Code's memory keeps its secret in its envFile, which Gatehouse
    // cannot move: it is skipped, and the exit code says so.
    clients(&env, &["import", "--all", "--project", dir_text])
        .assert()
        .code(1)
        .stdout(contains("added: local-tools"));

    let exe = std::fs::canonicalize(assert_cmd::cargo::cargo_bin("gatehouse")).unwrap();
    // Every project file; Claude Code's `.mcp.json` holds a plain-text
    // secret, which restore puts back only when told to.
    let clients_written = [
        "claude-code",
        "cursor",
        "vscode",
        "windsurf",
        "zed",
        "gemini-cli",
        "codex",
        "continue",
    ];
    for client in clients_written {
        clients(&env, &["connect", client, "--project", dir_text])
            .assert()
            .success()
            .stdout(contains("connected"));
    }
    let connected = snapshot(&dir);
    for file in [
        ".mcp.json",
        ".cursor/mcp.json",
        ".vscode/mcp.json",
        ".devin/mcp_config.json",
        ".zed/settings.json",
        ".gemini/settings.json",
        ".codex/config.toml",
        ".continue/mcpServers/github.yaml",
        ".continue/mcpServers/claude-desktop.json",
    ] {
        let path = dir.join(file);
        assert_ne!(connected[&path], original[&path], "{file} connected");
        let text = String::from_utf8(connected[&path].clone()).unwrap();
        assert!(text.contains(exe.to_str().unwrap()), "{file}: {text}");
    }
    let cursor = String::from_utf8(connected[&dir.join(".cursor/mcp.json")].clone()).unwrap();
    assert!(
        cursor.contains(r#""args": ["run", "local-tools"]"#),
        "{cursor}"
    );
    // Continue's JSON block stays JSON.
    let block = &connected[&dir.join(".continue/mcpServers/claude-desktop.json")];
    let block: Value = serde_json::from_slice(block).unwrap();
    assert_eq!(
        block["mcpServers"]["filesystem"]["args"],
        serde_json::json!(["run", "filesystem"])
    );
    // The secret went to the keychain; the .env file is not a config.
    let code = String::from_utf8(connected[&dir.join(".mcp.json")].clone()).unwrap();
    assert!(!code.contains("patTEST"), "{code}");
    assert_eq!(connected[&dir.join(".env")], original[&dir.join(".env")]);

    for client in clients_written {
        clients(&env, &["restore", client, "--project", dir_text])
            .arg("--with-secrets")
            .assert()
            .success()
            .stdout(contains("restored"));
    }
    assert_eq!(snapshot(&dir), original);
}

#[test]
fn a_system_wide_file_is_listed_read_only_and_left_alone() {
    let env = Env::fresh();
    let system = env
        .home
        .parent()
        .unwrap()
        .join("etc/gemini-cli/settings.json");
    std::fs::create_dir_all(system.parent().unwrap()).unwrap();
    std::fs::write(
        &system,
        r#"{"mcpServers": {"corp": {"command": "npx", "args": ["-y", "corp-mcp@1.0.0"]}}}"#,
    )
    .unwrap();
    std::fs::create_dir_all(env.home.join(".gemini")).unwrap();
    std::fs::write(
        env.home.join(".gemini/settings.json"),
        r#"{"mcpServers": {"corp": {"command": "npx", "args": ["-y", "corp-mcp@1.0.0"]}}}"#,
    )
    .unwrap();
    let before = std::fs::read(&system).unwrap();
    let with_system = |args: &[&str]| {
        let mut cmd = clients(&env, args);
        cmd.env("GEMINI_CLI_SYSTEM_SETTINGS_PATH", &system);
        cmd
    };

    let out = with_system(&["list", "--json"]).assert().success();
    let listed: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        sources(&listed),
        [
            (
                "gemini-cli".to_string(),
                serde_json::json!({"kind": "user"})
            ),
            (
                "gemini-cli".to_string(),
                serde_json::json!({"kind": "system"})
            )
        ]
    );
    with_system(&["list"])
        .assert()
        .success()
        .stdout(contains("(system-wide, read-only)"));

    // Imported like any other, then the user's file is connected and the
    // system's left as it is, with the reason.
    with_system(&["import", "gemini-cli"]).assert().success();
    for command in ["connect", "restore"] {
        with_system(&[command, "gemini-cli"])
            .assert()
            .success()
            .stdout(contains("managed by an administrator"))
            .stdout(contains(format!("{}: skipped", system.display())));
        assert_eq!(std::fs::read(&system).unwrap(), before);
    }
}

#[test]
fn connect_leaves_a_known_project_alone_unless_it_is_named() {
    let env = Env::fresh();
    let dir = project(&env);
    let dir_text = dir.to_str().unwrap();
    // Claude Code knows the project: its files are listed and imported...
    std::fs::write(
        env.home.join(".claude.json"),
        serde_json::json!({"projects": {dir_text: {"allowedTools": []}}}).to_string(),
    )
    .unwrap();
    clients(&env, &["import", "cursor"]).assert().success();
    let original = snapshot(&dir);

    // ...but not rewritten by a connect that did not name it: such files
    // are often committed and shared.
    let out = clients(&env, &["connect", "cursor", "--json"])
        .assert()
        .success();
    let report: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let project_file = report
        .iter()
        .find(|v| v["path"].as_str().unwrap().starts_with(dir_text))
        .unwrap();
    assert_eq!(project_file["status"], "skipped");
    assert!(
        project_file["warnings"][0]
            .as_str()
            .unwrap()
            .contains(&format!("--project {dir_text}")),
        "{project_file}"
    );
    assert_eq!(snapshot(&dir), original);

    // Named, it is connected.
    clients(&env, &["connect", "cursor", "--project", dir_text])
        .assert()
        .success()
        .stdout(contains("connected"));
    assert_ne!(snapshot(&dir), original);
}
