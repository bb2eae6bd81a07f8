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
