//! Tests of discovery, parsing and findings, against the fixtures in
//! `engine/tests/fixtures/clients/home`. Shared helpers live here.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::*;

mod findings;
mod fixtures;
mod paths;
mod scopes;

fn fixture_home() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients/home")
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
    let map: BTreeMap<String, OsString> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    move |k| map.get(k).cloned()
}

fn fixtures() -> Vec<ClientConfig> {
    discover_with(&fixture_home(), &no_env, Os::Linux)
}

fn config(configs: &[ClientConfig], client: Client) -> &ClientConfig {
    let found: Vec<&ClientConfig> = configs.iter().filter(|c| c.client == client).collect();
    assert_eq!(found.len(), 1, "one config for {client}: {found:?}");
    found[0]
}

fn entry<'a>(config: &'a ClientConfig, name: &str) -> &'a Entry {
    config
        .servers
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{} has no {name}", config.client))
}

fn names(config: &ClientConfig) -> Vec<&str> {
    let mut names: Vec<&str> = config.servers.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    names
}

fn rules(entry: &Entry) -> Vec<FindingRule> {
    entry.findings.iter().map(|f| f.rule).collect()
}

fn has(entry: &Entry, rule: FindingRule, field: Option<&str>) -> bool {
    entry
        .findings
        .iter()
        .any(|f| f.rule == rule && f.field.as_deref() == field)
}

// ---- ids -------------------------------------------------------------------

#[test]
fn ids_are_stable_and_round_trip() {
    let ids: Vec<&str> = Client::ALL.iter().map(|c| c.id()).collect();
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
    for client in Client::ALL {
        assert_eq!(Client::from_id(client.id()), Some(client));
        assert_eq!(
            serde_json::to_value(client).unwrap(),
            serde_json::Value::String(client.id().into())
        );
        assert!(!client.display_name().is_empty());
    }
    assert_eq!(Client::from_id("notepad"), None);
}

// ---- broken files ----------------------------------------------------------

#[test]
fn an_unparseable_file_is_an_error_and_the_others_are_still_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let write = |rel: &str, text: &str| {
        let path = home.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".cursor/mcp.json", "{ \"mcpServers\": { \"a\": ");
    write(".codex/config.toml", "[mcp_servers.a\ncommand = 1");
    write(
        ".continue/config.yaml",
        "mcpServers:\n  - name: [unclosed\n",
    );
    write(".gemini/settings.json", "[1, 2]");
    write(
        ".claude.json",
        "{\"mcpServers\": [\"not\", \"a\", \"map\"]}",
    );
    write(
        ".lmstudio/mcp.json",
        "\u{feff}{\"mcpServers\": {\"ok\": {\"command\": \"x\"}}}",
    );
    write(
        ".config/zed/settings.json",
        "// fine\n{\"context_servers\": {\"ok\": {\"command\": \"x\",},},}",
    );
    write(".config/goose/config.yaml", "");
    std::fs::create_dir_all(home.join(".codeium/windsurf")).unwrap();
    std::fs::write(
        home.join(".codeium/windsurf/mcp_config.json"),
        b"{\"mcpServers\": {\"\xff\": {}}}",
    )
    .unwrap();

    let configs = discover_with(home, &no_env, Os::Linux);
    let error = |client| config(&configs, client).error.clone();
    for client in [
        Client::Cursor,
        Client::Codex,
        Client::Continue,
        Client::GeminiCli,
        Client::ClaudeCode,
        Client::Windsurf,
    ] {
        let e = error(client).unwrap_or_else(|| panic!("{client} should fail"));
        let path = config(&configs, client).path.display().to_string();
        assert!(e.contains(&path), "{e} names {path}");
        assert!(config(&configs, client).servers.is_empty());
    }
    assert!(error(Client::Cursor).unwrap().contains("line"));
    assert_eq!(error(Client::Zed), None);
    assert_eq!(names(config(&configs, Client::Zed)), ["ok"]);
    // An empty file has no servers and no error.
    assert_eq!(error(Client::Goose), None);
    assert!(config(&configs, Client::Goose).servers.is_empty());
    assert_eq!(error(Client::LmStudio), None, "a BOM is tolerated");
}

#[test]
fn nothing_found_in_an_empty_home() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(discover_with(tmp.path(), &no_env, Os::Linux).is_empty());
}
