use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::*;

fn fixture_home() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients/home")
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
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

// ---- paths -----------------------------------------------------------------

fn paths(
    client: Client,
    home: &str,
    env: &dyn Fn(&str) -> Option<OsString>,
    os: Os,
) -> Vec<PathBuf> {
    config_paths(client, Path::new(home), env, os)
}

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn linux_paths() {
    let h = "/home/a";
    let l = |c| paths(c, h, &no_env, Os::Linux);
    assert_eq!(
        l(Client::ClaudeDesktop),
        [p("/home/a/.config/Claude/claude_desktop_config.json")]
    );
    assert_eq!(l(Client::ClaudeCode), [p("/home/a/.claude.json")]);
    assert_eq!(l(Client::Cursor), [p("/home/a/.cursor/mcp.json")]);
    assert_eq!(
        l(Client::VsCode),
        [
            p("/home/a/.config/Code/User/mcp.json"),
            p("/home/a/.config/Code - Insiders/User/mcp.json"),
            p("/home/a/.copilot/mcp-config.json"),
        ]
    );
    assert_eq!(
        l(Client::Windsurf),
        [
            p("/home/a/.config/devin/mcp_config.json"),
            p("/home/a/.codeium/windsurf/mcp_config.json"),
            p("/home/a/.codeium/mcp_config.json"),
        ]
    );
    let cline = l(Client::Cline);
    assert_eq!(
        cline[0],
        p("/home/a/.cline/data/settings/cline_mcp_settings.json")
    );
    assert!(cline.contains(&p(
        "/home/a/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"
    )));
    assert!(cline.contains(&p(
        "/home/a/.config/Cursor/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"
    )));
    assert_eq!(l(Client::Zed), [p("/home/a/.config/zed/settings.json")]);
    assert_eq!(l(Client::GeminiCli), [p("/home/a/.gemini/settings.json")]);
    assert_eq!(l(Client::Codex), [p("/home/a/.codex/config.toml")]);
    assert_eq!(l(Client::Continue), [p("/home/a/.continue/config.yaml")]);
    assert_eq!(l(Client::Goose), [p("/home/a/.config/goose/config.yaml")]);
    assert_eq!(
        l(Client::LmStudio),
        [
            p("/home/a/.cache/lm-studio/mcp.json"),
            p("/home/a/.lmstudio/mcp.json")
        ]
    );
}

#[test]
fn linux_paths_follow_xdg_and_overrides() {
    let env = env_of(&[
        ("XDG_CONFIG_HOME", "/x"),
        ("CLAUDE_CONFIG_DIR", "/cc"),
        ("CODEX_HOME", "/codex"),
        ("GEMINI_CLI_HOME", "/g"),
        ("CONTINUE_GLOBAL_DIR", "/cont"),
        ("CLINE_DATA_DIR", "/cline-data"),
        ("VSCODE_PORTABLE", "/portable"),
        ("COPILOT_HOME", "/copilot"),
    ]);
    let l = |c| paths(c, "/home/a", &env, Os::Linux);
    assert_eq!(
        l(Client::ClaudeDesktop),
        [p("/x/Claude/claude_desktop_config.json")]
    );
    assert_eq!(l(Client::ClaudeCode), [p("/cc/.claude.json")]);
    assert_eq!(l(Client::Codex), [p("/codex/config.toml")]);
    assert_eq!(l(Client::GeminiCli), [p("/g/.gemini/settings.json")]);
    assert_eq!(l(Client::Continue), [p("/cont/config.yaml")]);
    assert_eq!(l(Client::Zed), [p("/x/zed/settings.json")]);
    assert_eq!(l(Client::Goose), [p("/x/goose/config.yaml")]);
    assert_eq!(l(Client::Windsurf)[0], p("/x/devin/mcp_config.json"));
    assert_eq!(
        l(Client::Cline)[0],
        p("/cline-data/settings/cline_mcp_settings.json")
    );
    assert_eq!(
        l(Client::VsCode),
        [
            p("/portable/user-data/User/mcp.json"),
            p("/copilot/mcp-config.json")
        ]
    );

    // The most specific override wins; Flatpak's config home wins for Zed.
    let env = env_of(&[
        ("CLINE_MCP_SETTINGS_PATH", "/c/mcp.json"),
        ("CLINE_DATA_DIR", "/ignored"),
        ("FLATPAK_XDG_CONFIG_HOME", "/flatpak"),
        ("XDG_CONFIG_HOME", "/x"),
        ("GOOSE_PATH_ROOT", "/goose-root"),
        ("VSCODE_APPDATA", "/vsapp"),
    ]);
    let l = |c| paths(c, "/home/a", &env, Os::Linux);
    assert_eq!(l(Client::Cline)[0], p("/c/mcp.json"));
    assert_eq!(l(Client::Zed), [p("/flatpak/zed/settings.json")]);
    assert_eq!(l(Client::Goose), [p("/goose-root/config/config.yaml")]);
    assert_eq!(l(Client::VsCode)[0], p("/vsapp/Code/User/mcp.json"));

    // A relative GOOSE_PATH_ROOT is ignored; CLINE_DIR is the last resort.
    let env = env_of(&[("GOOSE_PATH_ROOT", "relative"), ("CLINE_DIR", "/cdir")]);
    let l = |c| paths(c, "/home/a", &env, Os::Linux);
    assert_eq!(l(Client::Goose), [p("/home/a/.config/goose/config.yaml")]);
    assert_eq!(
        l(Client::Cline)[0],
        p("/cdir/data/settings/cline_mcp_settings.json")
    );
}

#[test]
fn macos_paths() {
    let h = "/Users/a";
    let m = |c| paths(c, h, &no_env, Os::MacOs);
    assert_eq!(
        m(Client::ClaudeDesktop),
        [p(
            "/Users/a/Library/Application Support/Claude/claude_desktop_config.json"
        )]
    );
    assert_eq!(m(Client::ClaudeCode), [p("/Users/a/.claude.json")]);
    assert_eq!(
        m(Client::VsCode)[0],
        p("/Users/a/Library/Application Support/Code/User/mcp.json")
    );
    assert_eq!(
        m(Client::VsCode)[1],
        p("/Users/a/Library/Application Support/Code - Insiders/User/mcp.json")
    );
    assert_eq!(
        m(Client::Windsurf)[..2],
        [
            p("/Users/a/.config/devin/mcp_config.json"),
            p("/Users/a/.codeium/windsurf/mcp_config.json")
        ]
    );
    assert!(m(Client::Cline).contains(&p(
        "/Users/a/Library/Application Support/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"
    )));
    // Zed: ~/.config/zed on macOS, and XDG is not read there.
    let xdg = env_of(&[("XDG_CONFIG_HOME", "/x")]);
    assert_eq!(
        paths(Client::Zed, h, &xdg, Os::MacOs),
        [p("/Users/a/.config/zed/settings.json")]
    );
    // Goose and Devin honour XDG on macOS too.
    assert_eq!(
        paths(Client::Goose, h, &xdg, Os::MacOs),
        [p("/x/goose/config.yaml")]
    );
    assert_eq!(
        paths(Client::Windsurf, h, &xdg, Os::MacOs)[0],
        p("/x/devin/mcp_config.json")
    );
    assert_eq!(m(Client::Goose), [p("/Users/a/.config/goose/config.yaml")]);
    assert_eq!(m(Client::Codex), [p("/Users/a/.codex/config.toml")]);
    assert_eq!(m(Client::LmStudio)[1], p("/Users/a/.lmstudio/mcp.json"));
}

#[test]
fn windows_paths() {
    let h = "C:/Users/a";
    let env = env_of(&[
        ("APPDATA", "C:/Users/a/AppData/Roaming"),
        ("LOCALAPPDATA", "C:/Users/a/AppData/Local"),
    ]);
    let w = |c| paths(c, h, &env, Os::Windows);
    assert_eq!(
        w(Client::ClaudeDesktop),
        [
            p(
                "C:/Users/a/AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json"
            ),
            p("C:/Users/a/AppData/Roaming/Claude/claude_desktop_config.json"),
        ]
    );
    assert_eq!(w(Client::ClaudeCode), [p("C:/Users/a/.claude.json")]);
    assert_eq!(w(Client::Cursor), [p("C:/Users/a/.cursor/mcp.json")]);
    assert_eq!(
        w(Client::VsCode)[0],
        p("C:/Users/a/AppData/Roaming/Code/User/mcp.json")
    );
    assert_eq!(
        w(Client::Windsurf)[..2],
        [
            p("C:/Users/a/AppData/Roaming/devin/mcp_config.json"),
            p("C:/Users/a/.codeium/windsurf/mcp_config.json")
        ]
    );
    assert_eq!(
        w(Client::Cline)[0],
        p("C:/Users/a/.cline/data/settings/cline_mcp_settings.json")
    );
    assert_eq!(
        w(Client::Zed),
        [p("C:/Users/a/AppData/Roaming/Zed/settings.json")]
    );
    assert_eq!(
        w(Client::GeminiCli),
        [p("C:/Users/a/.gemini/settings.json")]
    );
    assert_eq!(w(Client::Codex), [p("C:/Users/a/.codex/config.toml")]);
    assert_eq!(w(Client::Continue), [p("C:/Users/a/.continue/config.yaml")]);
    assert_eq!(
        w(Client::Goose),
        [p(
            "C:/Users/a/AppData/Roaming/Block/goose/config/config.yaml"
        )]
    );
    assert_eq!(w(Client::LmStudio)[1], p("C:/Users/a/.lmstudio/mcp.json"));
    // Without %APPDATA%, the default under the profile.
    assert_eq!(
        paths(Client::Zed, h, &no_env, Os::Windows),
        [p("C:/Users/a/AppData/Roaming/Zed/settings.json")]
    );
}

#[test]
fn lm_studio_home_pointer_and_vscode_profiles_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let lms = home.join("models-disk/lms");
    std::fs::create_dir_all(&lms).unwrap();
    std::fs::write(
        lms.join("mcp.json"),
        r#"{"mcpServers": {"x": {"command": "x"}}}"#,
    )
    .unwrap();
    std::fs::write(
        home.join(".lmstudio-home-pointer"),
        format!("{}\n", lms.display()),
    )
    .unwrap();
    let profile = home.join(".config/Code/User/profiles/-6b2a1f0/");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::write(
        profile.join("mcp.json"),
        r#"{"servers": {"y": {"command": "y"}}}"#,
    )
    .unwrap();

    let configs = discover_with(home, &no_env, Os::Linux);
    assert_eq!(configs.len(), 2, "{configs:?}");
    assert_eq!(
        config(&configs, Client::LmStudio).path,
        lms.join("mcp.json")
    );
    assert_eq!(
        config(&configs, Client::VsCode).path,
        profile.join("mcp.json")
    );
}

// ---- parsing every fixture -------------------------------------------------

#[test]
fn every_client_fixture_is_found_and_parsed() {
    let configs = fixtures();
    let found: Vec<Client> = configs.iter().map(|c| c.client).collect();
    assert_eq!(found, Client::ALL.to_vec());
    for c in &configs {
        assert_eq!(c.error, None, "{}", c.path.display());
        assert!(!c.servers.is_empty(), "{}", c.client);
    }
}

#[test]
fn claude_desktop_fixture() {
    let configs = fixtures();
    let c = config(&configs, Client::ClaudeDesktop);
    assert_eq!(names(c), ["brave-search", "filesystem", "linear", "notes"]);
    let fs = entry(c, "filesystem");
    assert_eq!(fs.transport, "stdio");
    assert_eq!(fs.command.as_deref(), Some("npx"));
    assert_eq!(
        fs.args,
        [
            "-y",
            "@modelcontextprotocol/server-filesystem",
            "/Users/username/Desktop"
        ]
    );
    assert!(!fs.routed());
    let notes = entry(c, "notes");
    assert!(notes.routed());
    assert_eq!(notes.routed_to(), Some("notes"));
    assert_eq!(
        entry(c, "brave-search").env["BRAVE_API_KEY"],
        "BSA-test-0000000000000000"
    );
}

#[test]
fn claude_code_fixture_has_user_and_local_scope() {
    let configs = fixtures();
    let c = config(&configs, Client::ClaudeCode);
    assert_eq!(names(c), ["db", "github", "linear", "playwright", "stripe"]);
    assert_eq!(entry(c, "playwright").scope, None);
    assert!(entry(c, "github").routed());
    assert_eq!(entry(c, "linear").transport, "sse");
    let stripe = entry(c, "stripe");
    assert_eq!(stripe.scope.as_deref(), Some("/home/alice/src/shop"));
    assert_eq!(stripe.transport, "http");
    assert_eq!(stripe.url.as_deref(), Some("https://mcp.stripe.com"));
    assert_eq!(stripe.command, None);
    assert_eq!(
        entry(c, "db").scope.as_deref(),
        Some("/home/alice/src/shop")
    );
}

#[test]
fn cursor_fixture() {
    let configs = fixtures();
    let c = config(&configs, Client::Cursor);
    assert_eq!(names(c), ["github", "local-server", "remote-server"]);
    let remote = entry(c, "remote-server");
    assert_eq!(remote.transport, "http");
    assert_eq!(
        remote.headers["Authorization"],
        "Bearer ${env:MY_SERVICE_TOKEN}"
    );
    assert_eq!(entry(c, "local-server").env["API_KEY"], "${env:API_KEY}");
}

#[test]
fn vscode_fixture_is_jsonc() {
    let configs = fixtures();
    let c = config(&configs, Client::VsCode);
    assert_eq!(names(c), ["context7", "fetch", "memory", "perplexity"]);
    assert_eq!(entry(c, "context7").transport, "http");
    assert_eq!(entry(c, "memory").transport, "stdio");
    assert!(entry(c, "fetch").routed());
    assert_eq!(
        entry(c, "perplexity").env["PERPLEXITY_API_KEY"],
        "${input:perplexity-key}"
    );
}

#[test]
fn windsurf_fixture() {
    let configs = fixtures();
    let c = config(&configs, Client::Windsurf);
    assert_eq!(names(c), ["figma", "git", "github"]);
    let figma = entry(c, "figma");
    assert_eq!(figma.url.as_deref(), Some("https://mcp.figma.com/mcp"));
    assert_eq!(figma.transport, "http");
    let git = entry(c, "git");
    assert!(git.disabled);
    assert_eq!(git.command.as_deref(), Some("uvx"));
}

#[test]
fn cline_fixture() {
    let configs = fixtures();
    let c = config(&configs, Client::Cline);
    assert_eq!(
        names(c),
        ["legacy-sse", "server1", "streamable-server", "time"]
    );
    assert!(!entry(c, "server1").disabled);
    let streamable = entry(c, "streamable-server");
    assert!(streamable.disabled);
    assert_eq!(streamable.transport, "http");
    // A url with no type is SSE to Cline.
    assert_eq!(entry(c, "legacy-sse").transport, "sse");
    assert!(entry(c, "time").routed());
}

#[test]
fn zed_fixture_is_jsonc_with_old_and_extension_forms() {
    let configs = fixtures();
    let c = config(&configs, Client::Zed);
    assert_eq!(
        names(c),
        [
            "legacy",
            "local-mcp-server",
            "old-style",
            "postgres-context-server",
            "remote-mcp-server",
            "remote-mcp-server-with-oauth"
        ]
    );
    assert!(entry(c, "remote-mcp-server-with-oauth").disabled);
    assert_eq!(entry(c, "remote-mcp-server").transport, "http");
    assert_eq!(entry(c, "postgres-context-server").transport, "extension");
    let old = entry(c, "old-style");
    assert_eq!(old.command.as_deref(), Some("gatehouse"));
    assert!(old.routed());
    assert_eq!(entry(c, "legacy").args, ["mcp-server-time"]);
}

#[test]
fn gemini_fixture_tells_http_from_sse() {
    let configs = fixtures();
    let c = config(&configs, Client::GeminiCli);
    assert_eq!(
        names(c),
        [
            "filteredServer",
            "httpServerWithAuth",
            "pythonTools",
            "sseServer"
        ]
    );
    let http = entry(c, "httpServerWithAuth");
    assert_eq!(http.transport, "http");
    assert_eq!(http.url.as_deref(), Some("http://localhost:3000/mcp"));
    assert_eq!(entry(c, "sseServer").transport, "sse");
    assert_eq!(
        entry(c, "pythonTools").args,
        ["-m", "my_mcp_server", "--port", "8080"]
    );
}

#[test]
fn codex_fixture_is_toml() {
    let configs = fixtures();
    let c = config(&configs, Client::Codex);
    assert_eq!(names(c), ["context7", "docs", "figma", "notes.local"]);
    let context7 = entry(c, "context7");
    assert_eq!(context7.env["MY_ENV_VAR"], "MY_ENV_VALUE");
    assert_eq!(context7.env_refs, ["LOCAL_TOKEN"]);
    let figma = entry(c, "figma");
    assert_eq!(figma.transport, "http");
    assert_eq!(figma.headers["X-Figma-Region"], "us-east-1");
    assert_eq!(figma.env_refs, ["FIGMA_OAUTH_TOKEN"]);
    let docs = entry(c, "docs");
    assert!(docs.disabled);
    assert_eq!(docs.env["TOKEN"], "secret-test-0000");
    let notes = entry(c, "notes.local");
    assert_eq!(notes.routed_to(), Some("notes"));
}

#[test]
fn continue_fixture_is_a_yaml_list() {
    let configs = fixtures();
    let c = config(&configs, Client::Continue);
    // List order is kept.
    let order: Vec<&str> = c.servers.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        order,
        ["GitHub", "Supabase MCP", "Remote docs", "SQLite MCP"]
    );
    let remote = entry(c, "Remote docs");
    assert_eq!(remote.transport, "http");
    assert_eq!(remote.url.as_deref(), Some("https://example.com/mcp"));
    assert_eq!(remote.headers["X-Api-Key"], "${{ secrets.DOCS_KEY }}");
    assert!(entry(c, "SQLite MCP").routed());
}

#[test]
fn goose_fixture_skips_builtins() {
    let configs = fixtures();
    let c = config(&configs, Client::Goose);
    assert_eq!(names(c), ["fetch", "filesystem", "github", "remote-tools"]);
    assert!(entry(c, "github").disabled);
    assert!(!entry(c, "filesystem").disabled);
    let remote = entry(c, "remote-tools");
    assert_eq!(remote.transport, "http");
    assert_eq!(remote.url.as_deref(), Some("https://example.com/mcp"));
    assert_eq!(remote.env_refs, ["REMOTE_TOOLS_TOKEN"]);
    assert!(entry(c, "fetch").routed());
    assert_eq!(
        entry(c, "github").env["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_TEST000000000000000000000000000000"
    );
}

#[test]
fn lm_studio_fixture() {
    let configs = fixtures();
    let c = config(&configs, Client::LmStudio);
    assert_eq!(names(c), ["hf-mcp-server", "playwright"]);
    assert_eq!(entry(c, "hf-mcp-server").transport, "http");
}

// ---- findings --------------------------------------------------------------

#[test]
fn plain_text_secrets_are_found_and_references_are_not() {
    let configs = fixtures();
    let secret = FindingRule::PlaintextSecret;
    let cursor = config(&configs, Client::Cursor);
    assert!(has(
        entry(cursor, "github"),
        secret,
        Some("env.GITHUB_TOKEN")
    ));
    assert!(!rules(entry(cursor, "local-server")).contains(&secret));
    assert!(!rules(entry(cursor, "remote-server")).contains(&secret));

    let vscode = config(&configs, Client::VsCode);
    assert!(!rules(entry(vscode, "perplexity")).contains(&secret));

    let cont = config(&configs, Client::Continue);
    assert!(has(
        entry(cont, "GitHub"),
        secret,
        Some("env.GITHUB_PERSONAL_ACCESS_TOKEN")
    ));
    assert!(!rules(entry(cont, "Supabase MCP")).contains(&secret));
    assert!(!rules(entry(cont, "Remote docs")).contains(&secret));

    let gemini = config(&configs, Client::GeminiCli);
    let python = entry(gemini, "pythonTools");
    assert!(has(python, secret, Some("env.API_KEY")));
    assert!(!has(python, secret, Some("env.DATABASE_URL")));

    let codex = config(&configs, Client::Codex);
    assert!(has(entry(codex, "docs"), secret, Some("env.TOKEN")));
    assert!(has(entry(codex, "docs"), secret, Some("env.SLACK_BOT")));
    assert!(!rules(entry(codex, "figma")).contains(&secret));

    let lms = config(&configs, Client::LmStudio);
    assert!(has(
        entry(lms, "hf-mcp-server"),
        secret,
        Some("headers.Authorization")
    ));
    // A placeholder is not a secret.
    let zed = config(&configs, Client::Zed);
    assert!(!rules(entry(zed, "remote-mcp-server")).contains(&secret));
    assert!(has(
        entry(zed, "local-mcp-server"),
        secret,
        Some("env.API_TOKEN")
    ));

    // A password inside a connection string in the arguments.
    let code = config(&configs, Client::ClaudeCode);
    assert!(has(entry(code, "db"), secret, Some("args.3")));
}

#[test]
fn findings_never_contain_secret_values() {
    let configs = fixtures();
    let text = serde_json::to_string(
        &configs
            .iter()
            .flat_map(|c| c.servers.iter().flat_map(|e| e.findings.clone()))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for value in [
        "sk-gatehouse-canary-7f3a9c1e5b2d",
        "xoxb-0000-canary-test-abcdef",
        "ghp_TEST0000",
        "BSA-test",
        "readonly:pass",
        "hf_TEST",
    ] {
        assert!(!text.contains(value), "{value} in {text}");
    }
}

#[test]
fn value_rules() {
    // References and placeholders.
    for v in [
        "${env:API_KEY}",
        "${input:perplexity-key}",
        "${{ secrets.X }}",
        "${API_KEY}",
        "${VAR:-default}",
        "$DB_CONNECTION_STRING",
        "%GITHUB_TOKEN%",
        "Bearer ${env:TOKEN}",
        "Bearer <token>",
        "",
    ] {
        assert_eq!(value_looks_secret("API_TOKEN", v), None, "{v}");
    }
    // Known formats, whatever the key.
    for v in [
        "sk-proj-abcdefghijklmnop",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789",
        "xoxb-1234-5678-abcdefgh",
        "AKIAIOSFODNN7EXAMPLE",
        "Bearer hf_abcdefghijklmnopqrstu",
        "glpat-abcdefghij0123456789",
    ] {
        assert!(value_looks_secret("X", v).is_some(), "{v}");
    }
    // Random-looking values, whatever the key.
    assert!(value_looks_secret("SESSION_BLOB", "q8Zr4Lk2Vx9Tn1Wp6Ys3Hd7M").is_some());
    // Ordinary values under ordinary keys.
    for (k, v) in [
        ("LOG_LEVEL", "debug"),
        ("MODEL", "claude-sonnet-4-5-20250929"),
        ("PATH", "/usr/local/bin:/usr/bin"),
        ("HOME_DIR", "/home/alice/projects/2024"),
        ("BASE_URL", "https://api.example.com/v1/abcdef0123456789"),
        ("AKIA", "AKIA-not-a-key"),
        ("REGION", "us-east-1"),
        ("TOKEN_REFRESH", "true"),
    ] {
        assert_eq!(value_looks_secret(k, v), None, "{k}={v}");
    }
    // Secret-looking names with literal values.
    assert!(value_looks_secret("DB_PASSWORD", "hunter22").is_some());
    assert!(value_looks_secret("Authorization", "Bearer your-token").is_some());
}

fn stdio(command: &str, args: &[&str]) -> Entry {
    Entry {
        name: "x".into(),
        transport: "stdio".into(),
        command: Some(command.into()),
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Entry::default()
    }
}

fn unpinned(command: &str, args: &[&str]) -> bool {
    findings::entry_findings(&stdio(command, args))
        .iter()
        .any(|f| f.rule == FindingRule::UnpinnedPackage)
}

#[test]
fn unpinned_packages() {
    assert!(unpinned(
        "npx",
        &["-y", "@modelcontextprotocol/server-github"]
    ));
    assert!(unpinned("npx", &["@playwright/mcp@latest"]));
    assert!(unpinned("npx", &["-y", "pkg@^1.2.0"]));
    assert!(unpinned(
        "/usr/bin/npx",
        &["--yes", "mcp-remote", "https://x"]
    ));
    assert!(unpinned("npx.cmd", &["-y", "some-server"]));
    assert!(unpinned("bunx", &["some-server"]));
    assert!(unpinned("uvx", &["mcp-server-git"]));
    assert!(unpinned(
        "uvx",
        &["--from", "mcp-server-git", "mcp-server-git"]
    ));
    assert!(unpinned("pipx", &["run", "mcp-server-fetch"]));

    assert!(!unpinned(
        "npx",
        &["-y", "@modelcontextprotocol/server-github@2025.4.8"]
    ));
    assert!(!unpinned("npx", &["-y", "mcp-remote@0.1.29", "https://x"]));
    assert!(!unpinned(
        "npx",
        &["-y", "--package=@scope/pkg@1.0.0", "bin"]
    ));
    assert!(!unpinned("uvx", &["mcp-server-git==0.6.2"]));
    assert!(!unpinned("uvx", &["mcp-server-git@0.6.2"]));
    assert!(!unpinned(
        "uvx",
        &["--python", "3.12", "mcp-server-git==0.6.2"]
    ));
    assert!(!unpinned(
        "uvx",
        &["--from", "mcp-server-git==0.6.2", "mcp-server-git"]
    ));
    assert!(!unpinned(
        "pipx",
        &["run", "--spec", "mcp-server-fetch==1.0", "mcp-server-fetch"]
    ));
    assert!(!unpinned("npx", &["./local/server.js"]));
    assert!(!unpinned("node", &["server.js"]));
    assert!(!unpinned("gatehouse", &["run", "github"]));

    let configs = fixtures();
    let rule = FindingRule::UnpinnedPackage;
    assert!(rules(entry(config(&configs, Client::Cursor), "github")).contains(&rule));
    assert!(rules(entry(config(&configs, Client::Windsurf), "git")).contains(&rule));
    assert!(rules(entry(config(&configs, Client::ClaudeCode), "playwright")).contains(&rule));
    assert!(!rules(entry(config(&configs, Client::ClaudeCode), "db")).contains(&rule));
    assert!(
        !rules(entry(
            config(&configs, Client::ClaudeDesktop),
            "brave-search"
        ))
        .contains(&rule)
    );
}

#[test]
fn duplicates_across_clients() {
    let configs = fixtures();
    let dup = |client, name| {
        entry(config(&configs, client), name)
            .findings
            .iter()
            .find(|f| f.rule == FindingRule::Duplicate)
            .map(|f| f.message.clone())
    };
    // The same npx command line in four clients.
    let cursor = dup(Client::Cursor, "github").expect("cursor github is a duplicate");
    assert!(cursor.contains("windsurf (github)"), "{cursor}");
    assert!(cursor.contains("continue (GitHub)"), "{cursor}");
    assert!(cursor.contains("goose (github)"), "{cursor}");
    assert!(!cursor.contains("cursor"), "{cursor}");
    // An mcp-remote bridge and a native SSE entry for the same URL.
    let linear = dup(Client::ClaudeDesktop, "linear").expect("linear bridge is a duplicate");
    assert!(linear.contains("claude-code (linear)"), "{linear}");
    // The same URL.
    let remote = dup(Client::Continue, "Remote docs").expect("same URL");
    assert!(remote.contains("goose (remote-tools)"), "{remote}");
    // Routed entries are not duplicates of one another.
    assert_eq!(dup(Client::VsCode, "fetch"), None);
    assert_eq!(dup(Client::Goose, "fetch"), None);
    // Unique servers have no such finding.
    assert_eq!(dup(Client::Zed, "legacy"), None);
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
