//! Plain-text secrets, unpinned packages and duplicates.

use super::*;

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
    crate::clients::findings::entry_findings(&stdio(command, args))
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
