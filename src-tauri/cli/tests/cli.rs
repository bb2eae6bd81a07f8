//! Integration tests of the `gatehouse` binary: the real executable, a fresh
//! data directory per test, and the real OS keychain (the test command runs
//! them inside a D-Bus session with an unlocked gnome-keyring).

mod clients;
mod clients_connect;
mod keychain;
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
