//! Plain-text secrets a config keeps outside itself, in files beside it or
//! named in it (docs/CLIENTS.md, section 3): Goose's `secrets.yaml` (used
//! instead of the keyring when `GOOSE_DISABLE_KEYRING` is set) and the
//! dotenv files of Cursor's and VS Code's `envFile`.
//!
//! Findings name the variable and the file, never the value. A file that
//! cannot be read is passed over: the config itself is still listed.

use std::path::{Path, PathBuf};

use super::{Client, ClientConfig, Entry, Finding, FindingRule, Severity, value_looks_secret};

/// Side files larger than this are not read (a dotenv file or Goose's
/// secrets are a few lines).
const MAX_SIDE_FILE: u64 = 1 << 20;

/// Adds the findings about side files to `configs`.
pub(super) fn annotate(configs: &mut [ClientConfig], home: &Path) {
    for config in configs.iter_mut().filter(|c| c.error.is_none()) {
        if config.client == Client::Goose {
            let secrets = config.path.with_file_name("secrets.yaml");
            config
                .findings
                .extend(goose_secrets(&secrets, &config.servers));
        }
        let project = config.source.project().map(Path::to_path_buf);
        for entry in &mut config.servers {
            let Some(raw) = entry.env_file.as_deref() else {
                continue;
            };
            if let Some(file) = env_file_path(raw, home, project.as_deref()) {
                let found = env_file_findings(&file, raw);
                entry.findings.extend(found);
            }
        }
    }
}

/// The text of a side file, if it is there and small.
fn side_file(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_SIDE_FILE {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// One finding per value in Goose's `secrets.yaml` (a flat map of names to
/// values), saying which extensions name it in `env_keys`.
fn goose_secrets(path: &Path, servers: &[Entry]) -> Vec<Finding> {
    let Some(text) = side_file(path) else {
        return Vec::new();
    };
    let Ok(serde_yaml_ng::Value::Mapping(map)) = serde_yaml_ng::from_str(&text) else {
        return vec![Finding {
            rule: FindingRule::PlaintextSecret,
            severity: Severity::Medium,
            field: Some("secrets.yaml".into()),
            message: format!(
                "{} could not be parsed; Goose keeps secrets there in plain text when its keyring is off",
                path.display()
            ),
        }];
    };
    let mut out = Vec::new();
    for (key, value) in map {
        let Some(name) = key.as_str() else {
            continue;
        };
        let empty = match &value {
            serde_yaml_ng::Value::Null => true,
            serde_yaml_ng::Value::String(s) => s.trim().is_empty(),
            _ => false,
        };
        if empty {
            continue;
        }
        let users: Vec<&str> = servers
            .iter()
            .filter(|e| e.env_refs.iter().any(|r| r == name))
            .map(|e| e.name.as_str())
            .collect();
        let used = if users.is_empty() {
            String::new()
        } else {
            format!(" (used by {})", users.join(", "))
        };
        out.push(Finding {
            rule: FindingRule::PlaintextSecret,
            severity: Severity::High,
            field: Some(format!("secrets.yaml:{name}")),
            message: format!(
                "{name}{used} is stored in plain text in {}, Goose's secret file when its keyring is off; it belongs in the keychain",
                path.display()
            ),
        });
    }
    out
}

/// Where an `envFile` value points, when it can be told without the
/// client: `${workspaceFolder}` is the project folder (a user's file has
/// none), `${userHome}` and `~` the home directory, and a relative path is
/// taken from the project folder. `None` for anything else (`${env:X}`).
fn env_file_path(raw: &str, home: &Path, project: Option<&Path>) -> Option<PathBuf> {
    let home_text = home.to_str()?;
    let mut text = raw.replace("${userHome}", home_text);
    if text.contains("${workspaceFolder}") {
        text = text.replace("${workspaceFolder}", project?.to_str()?);
    }
    if text.contains("${") {
        return None;
    }
    let path = match text.strip_prefix("~/").or_else(|| text.strip_prefix("~\\")) {
        Some(rest) => home.join(rest),
        None => PathBuf::from(&text),
    };
    if path.is_absolute() {
        Some(path)
    } else {
        project.map(|dir| dir.join(path))
    }
}

/// The secret-looking variables of a dotenv file (`KEY=value` lines, with
/// optional `export` and quotes; `#` starts a comment line).
fn env_file_findings(path: &Path, raw: &str) -> Vec<Finding> {
    let Some(text) = side_file(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        let value = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(open, close)| value.strip_prefix(*open)?.strip_suffix(*close))
            .unwrap_or(value);
        if let Some(why) = value_looks_secret(key, value) {
            out.push(Finding {
                rule: FindingRule::PlaintextSecret,
                severity: Severity::High,
                field: Some(format!("envFile.{key}")),
                message: format!(
                    "{key} in the envFile {raw} ({}) is a plain-text secret ({why}); it belongs in the keychain, not in a file",
                    path.display()
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_paths_resolve_against_the_project_and_home() {
        let home = Path::new("/home/a");
        let project = Some(Path::new("/work/app"));
        let resolve = |raw: &str, project| env_file_path(raw, home, project);
        assert_eq!(
            resolve("${workspaceFolder}/.env", project),
            Some(PathBuf::from("/work/app/.env"))
        );
        assert_eq!(resolve("${workspaceFolder}/.env", None), None);
        assert_eq!(
            resolve("${userHome}/keys.env", None),
            Some(PathBuf::from("/home/a/keys.env"))
        );
        assert_eq!(
            resolve("~/keys.env", None),
            Some(PathBuf::from("/home/a/keys.env"))
        );
        assert_eq!(
            resolve(".env.local", project),
            Some(PathBuf::from("/work/app/.env.local"))
        );
        assert_eq!(resolve(".env.local", None), None);
        assert_eq!(resolve("${env:ENV_FILE}", project), None);
        assert_eq!(
            resolve("/etc/app.env", None),
            Some(PathBuf::from("/etc/app.env"))
        );
    }

    #[test]
    fn a_dotenv_file_names_its_secrets_and_never_shows_them() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join(".env");
        std::fs::write(
            &file,
            "# keys\nexport GITHUB_TOKEN=\"ghp_envfilecanary000000000000000000000\"\nLOG_LEVEL=debug\nAPI_KEY='k-9f8e7d6c'\nFROM_ENV=${HOME}\nnot a line\n",
        )
        .unwrap();
        let found = env_file_findings(&file, ".env");
        let fields: Vec<&str> = found.iter().filter_map(|f| f.field.as_deref()).collect();
        assert_eq!(fields, ["envFile.GITHUB_TOKEN", "envFile.API_KEY"]);
        for finding in &found {
            assert!(!finding.message.contains("canary"), "{}", finding.message);
            assert!(!finding.message.contains("9f8e7d6c"), "{}", finding.message);
        }
        assert!(env_file_findings(&tmp.path().join("missing"), "x").is_empty());
    }
}
