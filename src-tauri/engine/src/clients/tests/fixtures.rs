//! Every fixture is found and parsed into the expected entries.

use super::*;

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
        [
            "GitHub",
            "Supabase MCP",
            "Remote docs",
            "SQLite MCP",
            "Brave Search",
            "Memory",
            "Time"
        ]
    );
    let remote = entry(c, "Remote docs");
    assert_eq!(remote.transport, "http");
    assert_eq!(remote.url.as_deref(), Some("https://example.com/mcp"));
    assert_eq!(remote.headers["X-Api-Key"], "${{ secrets.DOCS_KEY }}");
    assert!(entry(c, "SQLite MCP").routed());
    // A flow-style item and an oddly indented one.
    assert_eq!(entry(c, "Brave Search").env["LOG_LEVEL"], "info");
    assert_eq!(entry(c, "Memory").args, ["mcp-server-memory==0.6.2"]);
}

#[test]
fn goose_fixture_skips_builtins() {
    let configs = fixtures();
    let c = config(&configs, Client::Goose);
    assert_eq!(
        names(c),
        [
            "fetch",
            "filesystem",
            "github",
            "postgres",
            "remote-tools",
            "time"
        ]
    );
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
