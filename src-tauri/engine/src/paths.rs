//! Where Gatehouse keeps its files: `$GATEHOUSE_HOME` when set, else the OS
//! data directory. The folder is private to the user (0700 on Unix).

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The environment variable that overrides the data directory.
pub const HOME_ENV: &str = "GATEHOUSE_HOME";

/// The resolved, existing data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Resolves the data directory from the environment and creates it.
    pub fn from_env() -> Result<Self> {
        let root = match std::env::var_os(HOME_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => directories::ProjectDirs::from("dev", "Gatehouse", "Gatehouse")
                .map(|dirs| dirs.data_dir().to_path_buf())
                .ok_or_else(|| {
                    Error::InvalidSpec(format!(
                        "cannot find a home directory; set {HOME_ENV} to a folder for Gatehouse's data"
                    ))
                })?,
        };
        Self::at(root)
    }

    /// Uses `root` as the data directory, creating it private to the user.
    pub fn at(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        create_private_dir(&root)?;
        Ok(Self { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database shared by the app and every proxy.
    pub fn database(&self) -> PathBuf {
        self.root.join("gatehouse.db")
    }

    /// Per-server log files (upstream stderr).
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Backups of client config files Gatehouse rewrote, each with a record
    /// of what it changed (see `clients::write`). Private to the user: the
    /// originals may hold plain-text secrets.
    pub fn backups(&self) -> PathBuf {
        self.root.join("backups")
    }

    /// Each running proxy's audit spool file (see `audit::journal`).
    pub fn audit_spool(&self) -> PathBuf {
        self.root.join("audit-spool")
    }
}

/// Creates `dir` (and missing parents) and makes the leaf readable by the
/// owner only. An existing directory that others can read is tightened too:
/// it will hold the audit log.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(dir, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn creates_nested_directory_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("a/b/gatehouse");
        let dir = DataDir::at(&root).unwrap();
        assert!(dir.root().is_dir());
        let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn tightens_an_existing_open_directory() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        DataDir::at(tmp.path()).unwrap();
        let mode = std::fs::metadata(tmp.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
