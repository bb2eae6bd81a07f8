//! Where each client keeps its MCP config, per OS (docs/CLIENTS.md, section 1).
//!
//! [`config_paths`] (the user's files), [`project_paths`] (a project's) and
//! [`system_paths`] (the machine's, managed by an administrator) are pure:
//! the home directory, the environment and the OS are given, so the rules
//! for every OS are tested on any OS. The few places that need the file
//! system (a pointer file, a folder to list) are in [`discovery_paths`] and
//! [`project_discovery_paths`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::Client;

/// The operating system whose path rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux (and other XDG systems).
    Linux,
    /// macOS.
    MacOs,
    /// Windows.
    Windows,
}

impl Os {
    /// The OS this build runs on.
    pub fn current() -> Os {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

/// A directory from variable `key`, if it is set and not empty.
fn env_dir(env: &dyn Fn(&str) -> Option<OsString>, key: &str) -> Option<PathBuf> {
    env(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// `$XDG_CONFIG_HOME`, else `~/.config`.
fn xdg_config(home: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    env_dir(env, "XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"))
}

/// `%APPDATA%`, else `~\AppData\Roaming`.
fn appdata(home: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    env_dir(env, "APPDATA").unwrap_or_else(|| home.join("AppData").join("Roaming"))
}

/// `%LOCALAPPDATA%`, else `~\AppData\Local`.
fn local_appdata(home: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    env_dir(env, "LOCALAPPDATA").unwrap_or_else(|| home.join("AppData").join("Local"))
}

/// The per-user application config folder of an Electron app: XDG on
/// Linux, Application Support on macOS, `%APPDATA%` on Windows.
fn app_config(home: &Path, env: &dyn Fn(&str) -> Option<OsString>, os: Os) -> PathBuf {
    match os {
        Os::Linux => xdg_config(home, env),
        Os::MacOs => home.join("Library").join("Application Support"),
        Os::Windows => appdata(home, env),
    }
}

/// VS Code's `User` folders, one per product (`Code`, `Code - Insiders`),
/// honouring `$VSCODE_PORTABLE` and `$VSCODE_APPDATA`.
fn vscode_user_dirs(home: &Path, env: &dyn Fn(&str) -> Option<OsString>, os: Os) -> Vec<PathBuf> {
    if let Some(portable) = env_dir(env, "VSCODE_PORTABLE") {
        return vec![portable.join("user-data").join("User")];
    }
    let base = env_dir(env, "VSCODE_APPDATA").unwrap_or_else(|| app_config(home, env, os));
    ["Code", "Code - Insiders"]
        .iter()
        .map(|product| base.join(product).join("User"))
        .collect()
}

/// The candidate user-scope config files of `client`, most preferred first.
/// Which of them exist is for [`super::discover`] to find out.
pub fn config_paths(
    client: Client,
    home: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
    os: Os,
) -> Vec<PathBuf> {
    const CLAUDE_DESKTOP: &str = "claude_desktop_config.json";
    match client {
        Client::ClaudeDesktop => match os {
            Os::Linux => vec![xdg_config(home, env).join("Claude").join(CLAUDE_DESKTOP)],
            Os::MacOs => vec![
                home.join("Library")
                    .join("Application Support")
                    .join("Claude")
                    .join(CLAUDE_DESKTOP),
            ],
            // The MSIX install's file comes first; its folder has to be
            // listed (see discovery_paths).
            Os::Windows => vec![appdata(home, env).join("Claude").join(CLAUDE_DESKTOP)],
        },
        Client::ClaudeCode => {
            let dir = env_dir(env, "CLAUDE_CONFIG_DIR").unwrap_or_else(|| home.to_path_buf());
            vec![dir.join(".claude.json")]
        }
        Client::Cursor => vec![home.join(".cursor").join("mcp.json")],
        Client::VsCode => {
            let mut out: Vec<PathBuf> = vscode_user_dirs(home, env, os)
                .into_iter()
                .map(|user| user.join("mcp.json"))
                .collect();
            // The "portable Copilot format" VS Code's agent sessions read.
            let copilot = env_dir(env, "COPILOT_HOME").unwrap_or_else(|| home.join(".copilot"));
            out.push(copilot.join("mcp-config.json"));
            out
        }
        Client::Windsurf => {
            let devin = match os {
                Os::Windows => appdata(home, env).join("devin"),
                // Devin Desktop honours XDG on macOS too.
                Os::Linux | Os::MacOs => xdg_config(home, env).join("devin"),
            };
            vec![
                devin.join("mcp_config.json"),
                home.join(".codeium")
                    .join("windsurf")
                    .join("mcp_config.json"),
                // The JetBrains plugin.
                home.join(".codeium").join("mcp_config.json"),
            ]
        }
        Client::Cline => {
            let file = "cline_mcp_settings.json";
            let current = if let Some(path) = env_dir(env, "CLINE_MCP_SETTINGS_PATH") {
                path
            } else if let Some(data) = env_dir(env, "CLINE_DATA_DIR") {
                data.join("settings").join(file)
            } else {
                let dir = env_dir(env, "CLINE_DIR").unwrap_or_else(|| home.join(".cline"));
                dir.join("data").join("settings").join(file)
            };
            let mut out = vec![current];
            // The VS Code extension's file, under every editor that hosts it.
            let base = app_config(home, env, os);
            let mut users = vscode_user_dirs(home, env, os);
            users.push(base.join("Cursor").join("User"));
            users.push(base.join("Windsurf").join("User"));
            for user in users {
                out.push(
                    user.join("globalStorage")
                        .join("saoudrizwan.claude-dev")
                        .join("settings")
                        .join(file),
                );
            }
            out
        }
        Client::Zed => {
            let dir = match os {
                Os::Linux => env_dir(env, "FLATPAK_XDG_CONFIG_HOME")
                    .unwrap_or_else(|| xdg_config(home, env))
                    .join("zed"),
                // Not Application Support, and XDG is not read.
                Os::MacOs => home.join(".config").join("zed"),
                Os::Windows => appdata(home, env).join("Zed"),
            };
            vec![dir.join("settings.json")]
        }
        Client::GeminiCli => {
            let root = env_dir(env, "GEMINI_CLI_HOME").unwrap_or_else(|| home.to_path_buf());
            vec![root.join(".gemini").join("settings.json")]
        }
        Client::Codex => {
            let dir = env_dir(env, "CODEX_HOME").unwrap_or_else(|| home.join(".codex"));
            vec![dir.join("config.toml")]
        }
        Client::Continue => {
            let dir = env_dir(env, "CONTINUE_GLOBAL_DIR").unwrap_or_else(|| home.join(".continue"));
            vec![dir.join("config.yaml")]
        }
        Client::Goose => {
            // Only an absolute GOOSE_PATH_ROOT counts.
            let root = env("GOOSE_PATH_ROOT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .filter(|p| p.has_root());
            let dir = match (root, os) {
                (Some(root), _) => root.join("config"),
                (None, Os::Windows) => appdata(home, env)
                    .join("Block")
                    .join("goose")
                    .join("config"),
                (None, Os::Linux | Os::MacOs) => xdg_config(home, env).join("goose"),
            };
            vec![dir.join("config.yaml")]
        }
        Client::LmStudio => vec![
            // Used as the LM Studio home when it exists; see discovery_paths.
            home.join(".cache").join("lm-studio").join("mcp.json"),
            home.join(".lmstudio").join("mcp.json"),
        ],
    }
}

/// [`config_paths`] plus what only the file system can tell: LM Studio's
/// home pointer file, VS Code's non-default profiles and the folder of
/// Claude Desktop's MSIX package.
pub(super) fn discovery_paths(
    client: Client,
    home: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
    os: Os,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    match client {
        Client::ClaudeDesktop if os == Os::Windows => {
            // The MSIX install (the default since early 2026) keeps its file
            // in the package's folder, `Claude_<publisher hash>`; it wins
            // when both exist.
            let packages = local_appdata(home, env).join("Packages");
            out.extend(
                folders(&packages, |name| name.starts_with("Claude_"))
                    .into_iter()
                    .map(|package| {
                        package
                            .join("LocalCache")
                            .join("Roaming")
                            .join("Claude")
                            .join("claude_desktop_config.json")
                    }),
            );
            out.extend(config_paths(client, home, env, os));
        }
        Client::LmStudio => {
            if let Ok(pointer) = std::fs::read_to_string(home.join(".lmstudio-home-pointer")) {
                let dir = pointer.trim();
                if !dir.is_empty() {
                    out.push(PathBuf::from(dir).join("mcp.json"));
                }
            }
            out.extend(config_paths(client, home, env, os));
        }
        Client::VsCode => {
            for path in config_paths(client, home, env, os) {
                let profiles = path.parent().map(|user| user.join("profiles"));
                out.push(path);
                if let Some(profiles) = profiles {
                    out.extend(
                        folders(&profiles, |_| true)
                            .into_iter()
                            .map(|profile| profile.join("mcp.json")),
                    );
                }
            }
        }
        _ => out.extend(config_paths(client, home, env, os)),
    }
    out
}

/// The folders in `dir` whose name passes `keep`, sorted; none when `dir`
/// cannot be listed.
fn folders(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(&keep))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found
}

/// The candidate config files `client` reads inside project `dir` (the
/// folder a person opens in the client), most preferred first. Continue's
/// are found by listing a folder: see [`project_discovery_paths`].
pub fn project_paths(client: Client, dir: &Path) -> Vec<PathBuf> {
    match client {
        Client::ClaudeCode => vec![dir.join(".mcp.json")],
        Client::Cursor => vec![dir.join(".cursor").join("mcp.json")],
        Client::VsCode => vec![dir.join(".vscode").join("mcp.json")],
        Client::Windsurf => vec![dir.join(".devin").join("mcp_config.json")],
        Client::Zed => vec![dir.join(".zed").join("settings.json")],
        Client::GeminiCli => vec![dir.join(".gemini").join("settings.json")],
        Client::Codex => vec![dir.join(".codex").join("config.toml")],
        // Claude Desktop, Cline, Goose and LM Studio have no project scope;
        // Continue's workspace blocks are listed.
        Client::ClaudeDesktop
        | Client::Cline
        | Client::Continue
        | Client::Goose
        | Client::LmStudio => Vec::new(),
    }
}

/// [`project_paths`] plus Continue's workspace blocks: every `*.yaml`,
/// `*.yml` and `*.json` in `.continue/mcpServers/`, by name.
pub(super) fn project_discovery_paths(client: Client, dir: &Path) -> Vec<PathBuf> {
    if client != Client::Continue {
        return project_paths(client, dir);
    }
    let Ok(entries) = std::fs::read_dir(dir.join(".continue").join("mcpServers")) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["yaml", "yml", "json"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    found.sort();
    found
}

/// The system-wide config files of `client`, which apply to every user of
/// the machine and are managed by an administrator. `root` is the file
/// system's root (`/`, or the system drive `C:\` on Windows), given so
/// that tests never read the real `/etc`.
pub fn system_paths(
    client: Client,
    root: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
    os: Os,
) -> Vec<PathBuf> {
    match client {
        Client::GeminiCli => {
            if let Some(path) = env_dir(env, "GEMINI_CLI_SYSTEM_SETTINGS_PATH") {
                return vec![path];
            }
            // Gemini CLI names these paths itself, `C:\ProgramData` included.
            vec![match os {
                Os::Linux => root.join("etc").join("gemini-cli").join("settings.json"),
                Os::MacOs => root
                    .join("Library")
                    .join("Application Support")
                    .join("GeminiCli")
                    .join("settings.json"),
                Os::Windows => root
                    .join("ProgramData")
                    .join("gemini-cli")
                    .join("settings.json"),
            }]
        }
        Client::Zed => vec![match os {
            Os::Linux | Os::MacOs => root.join("etc").join("zed").join("settings.json"),
            Os::Windows => env_dir(env, "ProgramData")
                .unwrap_or_else(|| root.join("ProgramData"))
                .join("Zed")
                .join("settings.json"),
        }],
        Client::ClaudeCode => match os {
            Os::Linux => vec![
                root.join("etc")
                    .join("claude-code")
                    .join("managed-mcp.json"),
            ],
            Os::MacOs => vec![
                root.join("Library")
                    .join("Application Support")
                    .join("ClaudeCode")
                    .join("managed-mcp.json"),
            ],
            // Where Windows keeps it is unconfirmed (docs/CLIENTS.md).
            Os::Windows => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The root of the file system that [`system_paths`] are under on this
/// machine: `/`, or the system drive on Windows.
pub fn system_root() -> PathBuf {
    if cfg!(windows) {
        let drive = std::env::var_os("SystemDrive")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "C:".into());
        let mut root = PathBuf::from(drive);
        root.push("\\");
        root
    } else {
        PathBuf::from("/")
    }
}
