//! Integration tests of the `gatehouse` binary: the real executable, a fresh
//! data directory per test, and the real OS keychain (the test command runs
//! them inside a D-Bus session with an unlocked gnome-keyring).

mod alerts;
mod audit;
mod audit_chain;
mod clients;
mod clients_connect;
mod clients_projects;
mod install;
mod keychain;
mod oauth;
mod pins;
mod registry;
mod scan;
mod servers;
mod store;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A fresh `GATEHOUSE_HOME` and `HOME`, and a way to run the CLI in them.
pub struct Env {
    _tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub data: PathBuf,
}

impl Env {
    pub fn fresh() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let data = tmp.path().join("gatehouse");
        Self {
            home,
            data,
            _tmp: tmp,
        }
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("gatehouse").unwrap();
        cmd.env("GATEHOUSE_HOME", &self.data)
            .env("HOME", &self.home);
        cmd
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cmd().args(args).arg("--json").assert().success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// A name no other test (or earlier run) uses, since the keychain is shared.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// The plain-text secrets written in the client fixtures, one per line of
/// `secrets.txt`: none may be printed, stored or left behind.
pub fn fixture_secrets() -> Vec<&'static str> {
    include_str!("../../engine/tests/fixtures/clients/secrets.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
}

/// The client fixtures: a home directory with one config per client.
pub fn client_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/clients/home")
}

/// Variables that move client configs; the tests' paths assume none is set.
pub const PATH_OVERRIDES: &[&str] = &[
    "XDG_CONFIG_HOME",
    "FLATPAK_XDG_CONFIG_HOME",
    "CLAUDE_CONFIG_DIR",
    "VSCODE_PORTABLE",
    "VSCODE_APPDATA",
    "COPILOT_HOME",
    "CLINE_MCP_SETTINGS_PATH",
    "CLINE_DATA_DIR",
    "CLINE_DIR",
    "GEMINI_CLI_HOME",
    "CODEX_HOME",
    "CONTINUE_GLOBAL_DIR",
    "GOOSE_PATH_ROOT",
    "GEMINI_CLI_SYSTEM_SETTINGS_PATH",
];

/// Copies the tree at `from` to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
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
