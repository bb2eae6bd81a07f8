//! Where each client keeps its config, on Linux, macOS and Windows.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::*;

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
    // The MSIX install's folder is listed at discovery (see below).
    assert_eq!(
        w(Client::ClaudeDesktop),
        [p(
            "C:/Users/a/AppData/Roaming/Claude/claude_desktop_config.json"
        )]
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

#[test]
fn claude_desktop_msix_package_is_found_by_its_prefix_on_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("Users/a");
    let local = home.join("AppData/Local");
    let roaming = home.join("AppData/Roaming");
    let write = |path: &Path| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, r#"{"mcpServers": {"x": {"command": "x"}}}"#).unwrap();
    };
    let in_package = |package: &str| {
        local
            .join("Packages")
            .join(package)
            .join("LocalCache/Roaming/Claude/claude_desktop_config.json")
    };
    // A publisher hash other than today's, an older install beside it, and
    // packages of other apps.
    write(&in_package("Claude_1a2b3c4d5e6f7"));
    write(&in_package("NotClaude_1a2b3c4d5e6f7"));
    write(&in_package("AnthropicClaude"));
    std::fs::create_dir_all(local.join("Packages/Claude_empty")).unwrap();
    write(&roaming.join("Claude/claude_desktop_config.json"));
    let env = env_of(&[
        ("APPDATA", roaming.to_str().unwrap()),
        ("LOCALAPPDATA", local.to_str().unwrap()),
    ]);

    let configs = discover_with(&home, &env, Os::Windows);
    let paths: Vec<&Path> = configs
        .iter()
        .filter(|c| c.client == Client::ClaudeDesktop)
        .map(|c| c.path.as_path())
        .collect();
    assert_eq!(
        paths,
        [
            in_package("Claude_1a2b3c4d5e6f7").as_path(),
            roaming.join("Claude/claude_desktop_config.json").as_path()
        ],
        "the MSIX file first, then the older one"
    );

    // Without %LOCALAPPDATA%, the default under the profile.
    let env = env_of(&[("APPDATA", roaming.to_str().unwrap())]);
    let configs = discover_with(&home, &env, Os::Windows);
    assert_eq!(configs[0].path, in_package("Claude_1a2b3c4d5e6f7"));
    // Other OSes have no package folder.
    assert!(discover_with(&home, &env, Os::MacOs).is_empty());
}

#[test]
fn project_paths_of_every_client() {
    let d = Path::new("/src/shop");
    let project = |c| project_paths(c, d);
    assert_eq!(project(Client::ClaudeCode), [p("/src/shop/.mcp.json")]);
    assert_eq!(project(Client::Cursor), [p("/src/shop/.cursor/mcp.json")]);
    assert_eq!(project(Client::VsCode), [p("/src/shop/.vscode/mcp.json")]);
    assert_eq!(
        project(Client::Windsurf),
        [p("/src/shop/.devin/mcp_config.json")]
    );
    assert_eq!(project(Client::Zed), [p("/src/shop/.zed/settings.json")]);
    assert_eq!(
        project(Client::GeminiCli),
        [p("/src/shop/.gemini/settings.json")]
    );
    assert_eq!(project(Client::Codex), [p("/src/shop/.codex/config.toml")]);
    // No project scope, or (Continue) a folder to list.
    for client in [
        Client::ClaudeDesktop,
        Client::Cline,
        Client::Continue,
        Client::Goose,
        Client::LmStudio,
    ] {
        assert!(project(client).is_empty(), "{client}");
    }
}

#[test]
fn system_paths_per_os_under_the_given_root() {
    let root = Path::new("/sysroot");
    let s = |c, env: &dyn Fn(&str) -> Option<OsString>, os| system_paths(c, root, env, os);
    assert_eq!(
        s(Client::GeminiCli, &no_env, Os::Linux),
        [p("/sysroot/etc/gemini-cli/settings.json")]
    );
    assert_eq!(
        s(Client::GeminiCli, &no_env, Os::MacOs),
        [p(
            "/sysroot/Library/Application Support/GeminiCli/settings.json"
        )]
    );
    assert_eq!(
        s(Client::Zed, &no_env, Os::Linux),
        [p("/sysroot/etc/zed/settings.json")]
    );
    assert_eq!(
        s(Client::ClaudeCode, &no_env, Os::Linux),
        [p("/sysroot/etc/claude-code/managed-mcp.json")]
    );
    assert_eq!(
        s(Client::ClaudeCode, &no_env, Os::MacOs),
        [p(
            "/sysroot/Library/Application Support/ClaudeCode/managed-mcp.json"
        )]
    );

    // Windows: Gemini CLI names C:\ProgramData itself; Zed follows
    // %ProgramData%.
    let root = Path::new("C:/");
    let env = env_of(&[("ProgramData", "D:/ProgramData")]);
    let w = |c| system_paths(c, root, &env, Os::Windows);
    assert_eq!(
        w(Client::GeminiCli),
        [p("C:/ProgramData/gemini-cli/settings.json")]
    );
    assert_eq!(w(Client::Zed), [p("D:/ProgramData/Zed/settings.json")]);
    assert_eq!(
        system_paths(Client::Zed, root, &no_env, Os::Windows),
        [p("C:/ProgramData/Zed/settings.json")]
    );

    // The override replaces Gemini CLI's default on every OS.
    let env = env_of(&[("GEMINI_CLI_SYSTEM_SETTINGS_PATH", "/opt/gemini.json")]);
    for os in [Os::Linux, Os::MacOs, Os::Windows] {
        assert_eq!(
            system_paths(Client::GeminiCli, root, &env, os),
            [p("/opt/gemini.json")]
        );
    }
    // Clients without a system-wide file.
    for client in [Client::Cursor, Client::Codex, Client::Goose] {
        assert!(system_paths(client, root, &no_env, Os::Linux).is_empty());
    }
}
