//! Project files (the projects Claude Code knows and those given) and the
//! system-wide files, with where each came from; the secrets a config keeps
//! in files beside it.

use std::path::{Path, PathBuf};

use super::*;

fn fixture_project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients/projects/shop")
}

/// Discovery of `home` (Linux rules, no environment) with `projects` and,
/// if given, system-wide files under `root`.
fn discover_places(home: &Path, projects: &[PathBuf], root: Option<&Path>) -> Vec<ClientConfig> {
    discover_at(&Places {
        home,
        env: &no_env,
        os: Os::Linux,
        system_root: root,
        projects,
    })
}

fn of(configs: &[ClientConfig], client: Client, source: &ConfigSource) -> Vec<PathBuf> {
    configs
        .iter()
        .filter(|c| c.client == client && &c.source == source)
        .map(|c| c.path.clone())
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_given_project_lists_every_clients_project_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_project();
    let configs = discover_places(tmp.path(), std::slice::from_ref(&dir), None);
    let project = ConfigSource::Project { dir: dir.clone() };
    assert!(configs.iter().all(|c| c.source == project), "{configs:?}");
    assert!(configs.iter().all(|c| c.error.is_none()), "{configs:?}");

    let one = |client| {
        let found: Vec<&ClientConfig> = configs.iter().filter(|c| c.client == client).collect();
        assert_eq!(found.len(), 1, "{client}: {found:?}");
        found[0]
    };
    let code = one(Client::ClaudeCode);
    assert_eq!(code.path, dir.join(".mcp.json"));
    assert_eq!(names(code), ["airtable", "api-server"]);
    assert!(code.servers.iter().all(|e| e.scope.is_none()));
    assert!(has(
        entry(code, "airtable"),
        FindingRule::PlaintextSecret,
        Some("env.AIRTABLE_API_KEY")
    ));
    assert_eq!(names(one(Client::Cursor)), ["local-tools", "shop-db"]);
    assert_eq!(names(one(Client::VsCode)), ["memory", "perplexity"]);
    assert_eq!(names(one(Client::Windsurf)), ["figma"]);
    assert_eq!(entry(one(Client::Windsurf), "figma").transport, "http");
    assert_eq!(names(one(Client::Zed)), ["shop-time"]);
    assert_eq!(names(one(Client::GeminiCli)), ["shopDocs"]);
    let codex = one(Client::Codex);
    assert_eq!(names(codex), ["shop-search"]);
    assert_eq!(entry(codex, "shop-search").env_refs, ["SHOP_SEARCH_TOKEN"]);

    // Continue: one config per block file, YAML and JSON each read as
    // such; other files in the folder are not blocks.
    let blocks = of(&configs, Client::Continue, &project);
    let continue_dir = dir.join(".continue/mcpServers");
    assert_eq!(
        blocks,
        [
            continue_dir.join("claude-desktop.json"),
            continue_dir.join("github.yaml")
        ]
    );
    let block = |file: &str| {
        configs
            .iter()
            .find(|c| c.path == continue_dir.join(file))
            .unwrap()
    };
    assert_eq!(names(block("github.yaml")), ["GitHub"]);
    let filesystem = entry(block("claude-desktop.json"), "filesystem");
    assert_eq!(filesystem.command.as_deref(), Some("npx"));
    assert_eq!(filesystem.args.len(), 3);

    // Clients without a project scope have nothing here.
    for client in [
        Client::ClaudeDesktop,
        Client::Cline,
        Client::Goose,
        Client::LmStudio,
    ] {
        assert!(configs.iter().all(|c| c.client != client));
    }
}

#[test]
fn continue_json_blocks_are_parsed_as_json_whatever_yaml_would_make_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("app");
    // A tab indents it, and a comment: fine for lenient JSON, not YAML.
    write(
        &project.join(".continue/mcpServers/cursor.json"),
        "{\n\t\"mcpServers\": {\n\t\t// copied from Cursor\n\t\t\"x\": {\"command\": \"x\"}\n\t}\n}\n",
    );
    write(
        &project.join(".continue/mcpServers/block.yml"),
        "name: b\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: Y\n    command: y\n",
    );
    let configs = discover_places(
        &tmp.path().join("home"),
        std::slice::from_ref(&project),
        None,
    );
    let continue_: Vec<&ClientConfig> = configs
        .iter()
        .filter(|c| c.client == Client::Continue)
        .collect();
    assert_eq!(continue_.len(), 2, "{configs:?}");
    assert_eq!(
        continue_[0].path,
        project.join(".continue/mcpServers/block.yml")
    );
    assert_eq!(names(continue_[0]), ["Y"]);
    assert_eq!(continue_[1].error, None);
    assert_eq!(names(continue_[1]), ["x"]);
    assert_eq!(
        Format::of(Client::Continue, &project.join("a.JSON")),
        Format::Json
    );
    assert_eq!(
        Format::of(Client::Continue, &project.join("config.yaml")),
        Format::Yaml
    );
    assert_eq!(Format::of(Client::Goose, Path::new("x.json")), Format::Yaml);
}

#[test]
fn claude_codes_projects_are_looked_in_and_missing_ones_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let app = tmp.path().join("src/app");
    let gone = tmp.path().join("src/deleted");
    write(
        &home.join(".claude.json"),
        &serde_json::json!({
            "numStartups": 3,
            "projects": {
                app.to_str().unwrap(): { "allowedTools": [] },
                gone.to_str().unwrap(): { "allowedTools": [] },
                // Claude Code was started in the home directory too.
                home.to_str().unwrap(): { "allowedTools": [] },
            }
        })
        .to_string(),
    );
    write(
        &app.join(".cursor/mcp.json"),
        r#"{"mcpServers": {"a": {"command": "a"}}}"#,
    );
    write(&app.join(".mcp.json"), r#"{"mcpServers": {}}"#);
    write(
        &home.join(".cursor/mcp.json"),
        r#"{"mcpServers": {"h": {"command": "h"}}}"#,
    );

    let configs = discover_places(&home, &[], None);
    let project = ConfigSource::Project { dir: app.clone() };
    assert_eq!(
        of(&configs, Client::Cursor, &project),
        [app.join(".cursor/mcp.json")]
    );
    assert_eq!(
        of(&configs, Client::ClaudeCode, &project),
        [app.join(".mcp.json")]
    );
    // The home directory as a project adds no second copy of the user's
    // files.
    assert_eq!(
        of(&configs, Client::Cursor, &ConfigSource::User),
        [home.join(".cursor/mcp.json")]
    );
    assert_eq!(configs.len(), 4, "{configs:?}");

    // A project given explicitly and known to Claude Code is listed once.
    let configs = discover_places(&home, std::slice::from_ref(&app), None);
    assert_eq!(configs.len(), 4, "{configs:?}");
}

#[test]
fn project_folders_given_must_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = project_dirs(std::slice::from_ref(&missing)).unwrap_err();
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let err = project_dirs(&[file]).unwrap_err();
    assert!(err.to_string().contains("not a folder"), "{err}");
    // A relative folder is made absolute.
    let dirs = project_dirs(&[PathBuf::from(".")]).unwrap();
    assert!(dirs[0].is_absolute());
    assert!(discover_in(tmp.path(), std::slice::from_ref(&missing)).is_err());
}

#[test]
fn system_files_are_listed_as_such_and_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let root = tmp.path().join("root");
    write(
        &root.join("etc/gemini-cli/settings.json"),
        r#"{"mcpServers": {"corp-search": {"httpUrl": "https://search.corp.example/mcp"}}}"#,
    );
    write(
        &root.join("etc/zed/settings.json"),
        "// managed\n{\"context_servers\": {\"corp\": {\"command\": \"corp-mcp\",},},}",
    );
    write(
        &root.join("etc/claude-code/managed-mcp.json"),
        r#"{"mcpServers": {"policy": {"command": "policy-mcp"}}}"#,
    );
    write(
        &home.join(".gemini/settings.json"),
        r#"{"mcpServers": {"mine": {"command": "mine"}}}"#,
    );

    let configs = discover_places(&home, &[], Some(&root));
    let system: Vec<(Client, &Path)> = configs
        .iter()
        .filter(|c| c.source == ConfigSource::System)
        .map(|c| (c.client, c.path.as_path()))
        .collect();
    assert_eq!(
        system,
        [
            (
                Client::ClaudeCode,
                root.join("etc/claude-code/managed-mcp.json").as_path()
            ),
            (Client::Zed, root.join("etc/zed/settings.json").as_path()),
            (
                Client::GeminiCli,
                root.join("etc/gemini-cli/settings.json").as_path()
            ),
        ]
    );
    for config in configs.iter().filter(|c| c.source == ConfigSource::System) {
        let why = config.read_only().expect("system files are read-only");
        assert!(why.contains("administrator"), "{why}");
        assert!(why.contains(&config.path.display().to_string()), "{why}");
        assert!(!config.servers.is_empty(), "{config:?}");
    }
    // The user's own file is listed first and is writable.
    let gemini: Vec<&ClientConfig> = configs
        .iter()
        .filter(|c| c.client == Client::GeminiCli)
        .collect();
    assert_eq!(gemini[0].source, ConfigSource::User);
    assert_eq!(gemini[0].read_only(), None);

    // Without a root, nothing system-wide is read.
    assert!(
        discover_places(&home, &[], None)
            .iter()
            .all(|c| c.source != ConfigSource::System)
    );
}

#[test]
fn gooses_secrets_file_is_reported_by_name_on_its_config() {
    let configs = fixtures();
    let goose = config(&configs, Client::Goose);
    let fields: Vec<&str> = goose
        .findings
        .iter()
        .filter(|f| f.rule == FindingRule::PlaintextSecret)
        .filter_map(|f| f.field.as_deref())
        .collect();
    // The empty value is not a secret.
    assert_eq!(
        fields,
        [
            "secrets.yaml:REMOTE_TOOLS_TOKEN",
            "secrets.yaml:ANTHROPIC_API_KEY"
        ]
    );
    let token = &goose.findings[0];
    assert!(
        token.message.contains("used by remote-tools"),
        "{}",
        token.message
    );
    for finding in &goose.findings {
        assert!(
            !finding.message.contains("goose-secret-test"),
            "{}",
            finding.message
        );
        assert!(
            !finding.message.contains("goose-test"),
            "{}",
            finding.message
        );
    }
    // The other configs have no file-wide findings.
    assert!(
        configs
            .iter()
            .filter(|c| c.client != Client::Goose)
            .all(|c| c.findings.is_empty())
    );

    // Unparseable: said so, without its text.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".config/goose");
    write(&dir.join("config.yaml"), "extensions: {}\n");
    write(&dir.join("secrets.yaml"), "TOKEN: [sk-unclosed-canary\n");
    let configs = discover_with(tmp.path(), &no_env, Os::Linux);
    let findings = &config(&configs, Client::Goose).findings;
    assert_eq!(findings.len(), 1);
    assert!(findings[0].message.contains("could not be parsed"));
    assert!(!findings[0].message.contains("canary"));
}

#[test]
fn env_file_secrets_are_findings_on_the_entry_in_a_project() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_project();
    let configs = discover_places(tmp.path(), std::slice::from_ref(&dir), None);
    let vscode = configs.iter().find(|c| c.client == Client::VsCode).unwrap();
    let memory = entry(vscode, "memory");
    assert_eq!(memory.env_file.as_deref(), Some("${workspaceFolder}/.env"));
    assert!(has(
        memory,
        FindingRule::PlaintextSecret,
        Some("envFile.MEMORY_API_KEY")
    ));
    assert!(!has(
        memory,
        FindingRule::PlaintextSecret,
        Some("envFile.LOG_LEVEL")
    ));
    let message = &memory
        .findings
        .iter()
        .find(|f| f.field.as_deref() == Some("envFile.MEMORY_API_KEY"))
        .unwrap()
        .message;
    assert!(!message.contains("sk-envfile"), "{message}");

    // In the user's file, `${workspaceFolder}` means nothing: not read.
    let home = fixtures();
    let memory = entry(config(&home, Client::VsCode), "memory");
    assert_eq!(memory.env_file.as_deref(), Some("${workspaceFolder}/.env"));
    assert!(!memory.findings.iter().any(|f| {
        f.field
            .as_deref()
            .is_some_and(|f| f.starts_with("envFile."))
    }));
}
