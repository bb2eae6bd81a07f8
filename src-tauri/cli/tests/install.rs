//! Installed packages through the real binary: every `gatehouse run` first
//! re-hashes the server's installed tree; a changed, added or removed file
//! refuses the launch with the file named, in the client's answers, in the
//! audit log (`gatehouse/checksum-mismatch`) and as an alert.

use std::path::{Path, PathBuf};

use gatehouse_engine::install::{Checksum, PackageKind, PackageSpec, tree};
use gatehouse_engine::{DataDir, Store};
use serde_json::Value;

use crate::Env;

/// A tiny stdio MCP server in plain Node: answers `initialize` and
/// `tools/list` (one tool, `hello`) and `tools/call`.
pub const SERVER_JS: &str = r#"#!/usr/bin/env node
const rl = require('readline').createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === 'initialize') {
    send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'hello', version: '1.0.0' } } });
  } else if (m.method === 'tools/list') {
    send({ jsonrpc: '2.0', id: m.id, result: { tools: [{ name: 'hello', description: 'Says hello.', inputSchema: { type: 'object' } }] } });
  } else if (m.method === 'tools/call') {
    send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'hello' }] } });
  } else {
    send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no such method' } });
  }
});
"#;

/// `initialize`, the initialized notification and `tools/list`, as a client
/// sends them.
pub const LIST_TOOLS: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    "\n"
);

/// Runs `gatehouse run NAME` with `LIST_TOOLS` and returns its answers.
pub fn list_tools(env: &Env, name: &str) -> Vec<Value> {
    let out = env
        .cmd()
        .args(["run", name])
        .env("GATEHOUSE_APP", "")
        .write_stdin(LIST_TOOLS)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The `tools/list` answer's tool names, or the error message.
pub fn tools_or_error(answers: &[Value]) -> Result<Vec<String>, String> {
    let answer = answers
        .iter()
        .find(|a| a["id"] == 2)
        .expect("tools/list was answered");
    match answer["result"]["tools"].as_array() {
        Some(tools) => Ok(tools
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()),
        None => Err(answer["error"]["message"].as_str().unwrap().to_string()),
    }
}

/// Node, by its real path.
pub fn node() -> String {
    let out = std::process::Command::new("node")
        .args(["-e", "process.stdout.write(process.execPath)"])
        .output()
        .expect("node runs");
    String::from_utf8(out.stdout).unwrap()
}

/// A package tree placed by hand and pinned to server `name` as an install
/// would: the server's command runs it from there.
fn pinned_by_hand(env: &Env, name: &str) -> PathBuf {
    let path = env.data.join("packages/npm/hello@1.0.0");
    std::fs::create_dir_all(path.join("lib")).unwrap();
    std::fs::write(path.join("lib/server.js"), SERVER_JS).unwrap();
    std::fs::write(path.join("package.json"), r#"{"name":"hello"}"#).unwrap();
    env.cmd()
        .args(["server", "add", name, "--", &node()])
        .arg(path.join("lib/server.js"))
        .assert()
        .success();
    let manifest = tree::manifest(&path).unwrap();
    std::fs::write(tree::manifest_path(&path), manifest.to_text()).unwrap();
    let spec = PackageSpec {
        kind: PackageKind::Npm,
        identifier: "hello".into(),
        version: "1.0.0".into(),
        checksum: Checksum::Integrity("sha512-test".into()),
        file_url: None,
    };
    let mut store = Store::open(&DataDir::at(&env.data).unwrap()).unwrap();
    store
        .package_pin_set(name, &spec, &path, &manifest.hash())
        .unwrap();
    path
}

/// Asserts that the launch of `name` is refused naming `what`, with the
/// audit record and the alert.
fn assert_refused(env: &Env, name: &str, what: &str) {
    let err = tools_or_error(&list_tools(env, name)).unwrap_err();
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(err.contains(what), "{err}");

    let records = env.json(&["audit", "list", "--server", name]);
    let refusal = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["method"] == "gatehouse/checksum-mismatch")
        .expect("the refused launch is audited");
    assert_eq!(refusal["decision"], "denied");
    assert!(
        refusal["reason"].as_str().unwrap().contains(what),
        "{refusal}"
    );
    let alerts = env.json(&["alerts", "list"]);
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["server"] == name && a["rule"] == "pin-mismatch"),
        "{alerts}"
    );
    // `server verify` says the same, and fails.
    let out = env.cmd().args(["server", "verify", name]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains(what), "{stderr}");
}

#[test]
fn an_untouched_package_launches_and_verifies() {
    let env = Env::fresh();
    pinned_by_hand(&env, "hello");
    assert_eq!(
        tools_or_error(&list_tools(&env, "hello")),
        Ok(vec!["hello".into()])
    );
    let report = env.json(&["server", "verify", "hello"]);
    assert_eq!(report["verified"], true);
    assert_eq!(report["package"], "npm:hello@1.0.0");
}

#[test]
fn one_changed_byte_refuses_the_launch_naming_the_file() {
    let env = Env::fresh();
    let path = pinned_by_hand(&env, "hello");
    let file = path.join("lib/server.js");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    assert_refused(&env, "hello", "lib/server.js was changed");
}

#[test]
fn an_added_file_refuses_the_launch() {
    let env = Env::fresh();
    let path = pinned_by_hand(&env, "hello");
    std::fs::write(path.join("lib/preload.js"), "").unwrap();
    assert_refused(&env, "hello", "lib/preload.js was added");
}

#[test]
fn a_removed_file_refuses_the_launch() {
    let env = Env::fresh();
    let path = pinned_by_hand(&env, "hello");
    std::fs::remove_file(path.join("package.json")).unwrap();
    assert_refused(&env, "hello", "package.json was removed");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_tree_refuses_the_launch() {
    let env = Env::fresh();
    let path = pinned_by_hand(&env, "hello");
    std::os::unix::fs::symlink("/etc/passwd", path.join("lib/data")).unwrap();
    assert_refused(&env, "hello", "lib/data pointing outside");
}

/// Where the test packages' sources live.
#[allow(dead_code)]
pub fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

mod installed {
    use gatehouse_engine::install::testing::{NPM_NAME, NpmFixture};

    use super::*;

    /// A server added as `npx -y gatehouse-test-hello` (unpinned), then
    /// pinned from the local registry.
    fn pinned_from_registry(env: &Env, fx: &NpmFixture, name: &str) -> Value {
        env.cmd()
            .args(["server", "add", name, "--", "npx", "-y", NPM_NAME])
            .assert()
            .success();
        let out = env
            .cmd()
            .args(["server", "pin", name, "--json"])
            .env("GATEHOUSE_NPM_URL", fx.server.url())
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }

    #[test]
    fn pin_installs_the_package_and_run_launches_it_from_the_cache() {
        let env = Env::fresh();
        let fx = NpmFixture::start(&env.home);
        let report = pinned_from_registry(&env, &fx, "hello");
        assert_eq!(report["package"], format!("npm:{NPM_NAME}@1.0.0"));
        // The server now runs node on the cached bin, never npx.
        let servers = env.json(&["server", "list"]);
        let server = &servers[0];
        assert!(
            server["command"].as_str().unwrap().ends_with("node"),
            "{server}"
        );
        assert!(
            server["args"][0]
                .as_str()
                .unwrap()
                .starts_with(env.data.join("packages/npm").to_str().unwrap()),
            "{server}"
        );
        assert_eq!(
            tools_or_error(&list_tools(&env, "hello")),
            Ok(vec!["hello".into()])
        );
    }

    #[test]
    fn a_reinstall_after_tampering_restores_the_launch() {
        let env = Env::fresh();
        let fx = NpmFixture::start(&env.home);
        pinned_from_registry(&env, &fx, "hello");
        let bin = env.data.join(format!(
            "packages/npm/{NPM_NAME}@1.0.0/node_modules/{NPM_NAME}/bin/server.js"
        ));
        let text = std::fs::read_to_string(&bin).unwrap();
        std::fs::write(&bin, text.replace("Says hello.", "Says hellO.")).unwrap();
        let what = format!("node_modules/{NPM_NAME}/bin/server.js was changed");
        assert_refused(&env, "hello", &what);

        env.cmd()
            .args(["server", "reinstall", "hello"])
            .env("GATEHOUSE_NPM_URL", fx.server.url())
            .assert()
            .success();
        assert_eq!(
            tools_or_error(&list_tools(&env, "hello")),
            Ok(vec!["hello".into()])
        );
        assert_eq!(env.json(&["server", "verify", "hello"])["verified"], true);
    }
}
