//! [`Engine`]: the operations the CLI and the desktop app share, over one
//! store and one secret store. Each method is one user-level action; the CLI
//! prints its result and the app returns it over IPC, so both behave alike.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::{DataDir, Error, NewServer, Result, SecretStore, SecretValue, Server, Store};

/// The engine's shared state: data directory, store and secrets.
pub struct Engine {
    dir: DataDir,
    store: Mutex<Store>,
    secrets: Box<dyn SecretStore>,
    /// The approval broker, when the app runs one.
    pub(crate) broker: OnceLock<Arc<crate::approvals::Broker>>,
    /// Packages the registry's dry starts installed in this process: a
    /// registry install of the same vetted spec reuses one whose tree still
    /// hashes as it did when built.
    pub(crate) dry_installs: crate::registry::DryInstalls,
}

impl Engine {
    /// Opens the store in `dir`, using `secrets` for secret values.
    pub fn open(dir: DataDir, secrets: Box<dyn SecretStore>) -> Result<Self> {
        let store = Store::open(&dir)?;
        Ok(Self {
            dir,
            store: Mutex::new(store),
            secrets,
            broker: OnceLock::new(),
            dry_installs: Default::default(),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    /// The store, locked for the caller's operation.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (transactions roll back), so a poisoned lock is still usable.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every registered server, by name.
    pub fn server_list(&self) -> Result<Vec<Server>> {
        self.store().servers()
    }

    /// The AI clients' MCP configs found on this machine: the user's, those
    /// of the projects Claude Code knows, and the system-wide ones.
    pub fn clients_list(&self) -> Result<Vec<crate::clients::ClientSummary>> {
        self.clients_list_in(&[])
    }

    /// [`Engine::clients_list`], also looking in the project folders
    /// `projects`; one that does not exist is an error.
    pub fn clients_list_in(
        &self,
        projects: &[std::path::PathBuf],
    ) -> Result<Vec<crate::clients::ClientSummary>> {
        let home = crate::clients::home_dir().ok_or_else(|| {
            Error::InvalidSpec("cannot find the home directory: HOME is not set".into())
        })?;
        Ok(crate::clients::discover_in(&home, projects)?
            .iter()
            .map(crate::clients::ClientSummary::of)
            .collect())
    }

    /// One registered server.
    pub fn server(&self, name: &str) -> Result<Server> {
        self.store().server(name)
    }

    /// Registers a server.
    pub fn server_add(&self, server: NewServer) -> Result<Server> {
        self.store().add_server(&server)
    }

    /// Removes a server and deletes its secrets (and a remote server's
    /// OAuth tokens and registrations) from the keychain.
    pub fn server_remove(&self, name: String) -> Result<()> {
        let removed = self.store().remove_server(&name)?;
        for key in removed.transport.secret_names() {
            self.secrets.delete(&name, key).map_err(|e| {
                Error::Keychain(format!(
                    "server '{name}' was removed, but its secret {key} could not be deleted from the keychain: {e}"
                ))
            })?;
        }
        if let crate::Transport::Http { .. } = removed.transport {
            crate::oauth::forget(self.secrets.as_ref(), &name).map_err(|e| {
                Error::Keychain(format!(
                    "server '{name}' was removed, but its OAuth tokens could not be deleted from the keychain: {e}"
                ))
            })?;
        }
        Ok(())
    }

    /// Sets what one tool of a server may do.
    pub fn policy_set(&self, server: &str, tool: &str, decision: crate::Decision) -> Result<()> {
        self.store().set_tool_policy(server, tool, decision)
    }

    /// The secret store, for launching servers.
    pub fn secrets(&self) -> &dyn SecretStore {
        self.secrets.as_ref()
    }

    /// Stores a secret value for `server` in the keychain and records `key`
    /// as one of its secrets (moving it out of the plain environment or
    /// headers if needed): an environment variable of a stdio server, a
    /// request header of a remote one.
    pub fn secret_set(&self, server: &str, key: &str, value: &SecretValue) -> Result<()> {
        // Check the server and the key before touching the keychain.
        let mut store = self.store();
        match store.server(server)?.transport {
            crate::Transport::Stdio { .. } => crate::validate_env_key(key)?,
            crate::Transport::Http { .. } => crate::servers::validate_header_name(key)?,
        }
        self.secrets.set(server, key, value)?;
        store.declare_secret(server, key)?;
        Ok(())
    }
}
