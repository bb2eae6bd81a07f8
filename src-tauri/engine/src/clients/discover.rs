//! Finding the client configs on this machine (docs/CLIENTS.md, section 1):
//! the user's own files, the project files of the user's projects, and the
//! system-wide files an administrator manages.
//!
//! The projects are those Claude Code has recorded in `~/.claude.json`
//! (every folder the person opened it in, the best list of their projects
//! there is) and those the caller names. A file is listed once, under the
//! first place it was found: the user's own files first, so a project that
//! is the home directory adds nothing twice.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use super::parse::{Format, parse_as};
use super::paths::{self, Os};
use super::{Client, ClientConfig, findings, sidecar};
use crate::{Error, Result};

/// Where a config file comes from, which says who it belongs to and
/// whether Gatehouse may change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[ts(export)]
pub enum ConfigSource {
    /// The user's own file, under the home directory or the app's data.
    User,
    /// A project's file, inside the project folder (often shared with a
    /// team through version control).
    Project {
        /// The project folder.
        #[ts(type = "string")]
        dir: PathBuf,
    },
    /// A machine-wide file an administrator manages: listed, never
    /// changed.
    System,
}

impl ConfigSource {
    /// The project folder, for a project's file.
    pub fn project(&self) -> Option<&Path> {
        match self {
            ConfigSource::Project { dir } => Some(dir),
            ConfigSource::User | ConfigSource::System => None,
        }
    }
}

/// Where discovery looks. [`discover`] and [`discover_in`] fill it in from
/// the process; tests give their own.
#[derive(Clone, Copy)]
pub struct Places<'a> {
    /// The user's home directory.
    pub home: &'a Path,
    /// The environment variables that move config files.
    pub env: &'a dyn Fn(&str) -> Option<OsString>,
    /// Whose path rules apply.
    pub os: Os,
    /// The root of the file system system-wide files are under (`/`, or
    /// `C:\` on Windows); `None` reads no system-wide file.
    pub system_root: Option<&'a Path>,
    /// Project folders to look in besides those Claude Code knows; they
    /// must exist (see [`project_dirs`]).
    pub projects: &'a [PathBuf],
}

/// Finds the client configs on this machine: the user's under `home`, the
/// project files of the projects Claude Code knows, and the system-wide
/// files. The environment and OS are the process's own.
pub fn discover(home: &Path) -> Vec<ClientConfig> {
    let root = paths::system_root();
    discover_at(&Places {
        home,
        env: &|k| std::env::var_os(k),
        os: Os::current(),
        system_root: Some(&root),
        projects: &[],
    })
}

/// [`discover`], also looking in the project folders `projects`. A folder
/// that does not exist is an error.
pub fn discover_in(home: &Path, projects: &[PathBuf]) -> Result<Vec<ClientConfig>> {
    let projects = project_dirs(projects)?;
    let root = paths::system_root();
    Ok(discover_at(&Places {
        home,
        env: &|k| std::env::var_os(k),
        os: Os::current(),
        system_root: Some(&root),
        projects: &projects,
    }))
}

/// [`discover`] with the environment and OS given, and no system-wide
/// file read: for tests.
pub fn discover_with(
    home: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
    os: Os,
) -> Vec<ClientConfig> {
    discover_at(&Places {
        home,
        env,
        os,
        system_root: None,
        projects: &[],
    })
}

/// Finds, reads and parses every config file in `places`, and attaches the
/// findings. Per client: the user's files, then each project's, then the
/// system-wide ones.
pub fn discover_at(places: &Places<'_>) -> Vec<ClientConfig> {
    let Places { home, env, os, .. } = *places;
    let projects = projects(places);
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut configs = Vec::new();
    for client in Client::ALL {
        let mut candidates: Vec<(PathBuf, ConfigSource)> =
            paths::discovery_paths(client, home, env, os)
                .into_iter()
                .map(|path| (path, ConfigSource::User))
                .collect();
        for dir in &projects {
            candidates.extend(
                paths::project_discovery_paths(client, dir)
                    .into_iter()
                    .map(|path| (path, ConfigSource::Project { dir: dir.clone() })),
            );
        }
        if let Some(root) = places.system_root {
            candidates.extend(
                paths::system_paths(client, root, env, os)
                    .into_iter()
                    .map(|path| (path, ConfigSource::System)),
            );
        }
        for (path, source) in candidates {
            if !path.is_file() {
                continue;
            }
            // The same file by another name (a symlink, a project that is
            // the home directory) is listed once.
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if seen.insert(key) {
                configs.push(read_from(client, &path, source));
            }
        }
    }
    findings::annotate(&mut configs);
    sidecar::annotate(&mut configs, home);
    configs
}

/// The project folders given, made absolute; an error names the first
/// that is not a folder.
pub fn project_dirs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    dirs.iter()
        .map(|dir| {
            let absolute = std::fs::canonicalize(dir).map_err(|e| {
                Error::InvalidSpec(format!(
                    "project folder {} cannot be used: {e}",
                    dir.display()
                ))
            })?;
            if absolute.is_dir() {
                Ok(absolute)
            } else {
                Err(Error::InvalidSpec(format!(
                    "project folder {} is not a folder",
                    dir.display()
                )))
            }
        })
        .collect()
}

/// The projects to look in: those given, then those Claude Code knows that
/// still exist, each once.
fn projects(places: &Places<'_>) -> Vec<PathBuf> {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut out = Vec::new();
    let claude = paths::config_paths(Client::ClaudeCode, places.home, places.env, places.os);
    let known = claude.iter().flat_map(|path| claude_projects(path));
    for dir in places.projects.iter().cloned().chain(known) {
        let Ok(key) = std::fs::canonicalize(&dir) else {
            continue; // gone since Claude Code recorded it
        };
        if key.is_dir() && seen.insert(key) {
            out.push(dir);
        }
    }
    out
}

/// The project folders Claude Code recorded in its `~/.claude.json`: the
/// keys of `projects`. None when the file is missing or unreadable (its
/// own error is reported when it is listed).
fn claude_projects(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let Ok(root) =
        jsonc_parser::parse_to_serde_value::<serde_json::Value>(text, &Default::default())
    else {
        return Vec::new();
    };
    match root.get("projects") {
        Some(serde_json::Value::Object(projects)) => projects
            .keys()
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads and parses one of the user's own files: [`read_from`] for
/// [`ConfigSource::User`].
pub fn read(client: Client, path: &Path) -> ClientConfig {
    read_from(client, path, ConfigSource::User)
}

/// Reads and parses one file, in the format its client and name say; never
/// panics, a failure becomes `error`. Findings are left to [`discover_at`].
pub fn read_from(client: Client, path: &Path, source: ConfigSource) -> ClientConfig {
    let format = Format::of(client, path);
    let parsed = std::fs::read(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
        .and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| format!("cannot parse {}: not valid UTF-8", path.display()))
        })
        .and_then(|text| {
            // Editors on Windows may start the file with a byte-order mark.
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            parse_as(client, format, text)
                .map_err(|e| format!("cannot parse {}: {e}", path.display()))
        });
    let (servers, error) = match parsed {
        Ok(servers) => (servers, None),
        Err(error) => (Vec::new(), Some(error)),
    };
    ClientConfig {
        client,
        path: path.to_path_buf(),
        source,
        servers,
        findings: Vec::new(),
        error,
    }
}
