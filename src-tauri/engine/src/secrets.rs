//! Server secrets in the OS keychain (Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows).
//!
//! Values are read only when a server launches and handed straight to its
//! environment. [`SecretValue`] never prints its contents, so a stray `{:?}`
//! in a log cannot leak one.

use std::fmt;

use crate::{Error, Result};

/// The keychain service under which all of Gatehouse's entries live.
const SERVICE: &str = "gatehouse";

/// A secret value. Its `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for handing to a child process's environment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// Where secret values live. The keychain in production; tests may inject
/// another store where the keychain is not what is under test.
pub trait SecretStore: Send + Sync {
    /// Stores (or replaces) the value of `key` for `server`.
    fn set(&self, server: &str, key: &str, value: &SecretValue) -> Result<()>;
    /// Reads the value, or `None` if it was never set.
    fn get(&self, server: &str, key: &str) -> Result<Option<SecretValue>>;
    /// Deletes the value; deleting a missing value is not an error.
    fn delete(&self, server: &str, key: &str) -> Result<()>;
}

/// The OS keychain.
#[derive(Debug, Default, Clone, Copy)]
pub struct Keychain;

impl Keychain {
    fn entry(server: &str, key: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, &format!("{server}/{key}")).map_err(keychain_error)
    }
}

impl SecretStore for Keychain {
    fn set(&self, server: &str, key: &str, value: &SecretValue) -> Result<()> {
        Self::entry(server, key)?
            .set_password(value.expose())
            .map_err(keychain_error)
    }

    fn get(&self, server: &str, key: &str) -> Result<Option<SecretValue>> {
        match Self::entry(server, key)?.get_password() {
            Ok(value) => Ok(Some(SecretValue(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn delete(&self, server: &str, key: &str) -> Result<()> {
        match Self::entry(server, key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

fn keychain_error(e: keyring::Error) -> Error {
    Error::Keychain(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_value_never_formats_its_contents() {
        let value = SecretValue::new("canary-3b1f");
        assert!(!format!("{value:?}").contains("canary"));
        assert_eq!(value.expose(), "canary-3b1f");
    }
}

/// Secrets held in memory only: for tests, where the keychain is not what
/// is under test, and for anything that must not touch the keychain.
#[derive(Debug, Default)]
pub struct MemorySecrets(
    std::sync::Mutex<std::collections::HashMap<(String, String), SecretValue>>,
);

impl SecretStore for MemorySecrets {
    fn set(&self, server: &str, key: &str, value: &SecretValue) -> Result<()> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert((server.into(), key.into()), value.clone());
        Ok(())
    }

    fn get(&self, server: &str, key: &str) -> Result<Option<SecretValue>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(&(server.into(), key.into())).cloned())
    }

    fn delete(&self, server: &str, key: &str) -> Result<()> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&(server.into(), key.into()));
        Ok(())
    }
}
