//! A server's installed package as its pin (`pins`, kind `package`), and
//! the check every launch makes against it.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::PackageSpec;
use super::tree::{self, Manifest};
use crate::{Error, Result, Store, now_micros};

/// What a package pin's `definition` holds: the spec that was vetted,
/// where it was installed and, for a server installed from the MCP
/// Registry, which server version it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagePin {
    /// The package as vetted.
    pub spec: PackageSpec,
    /// The install directory in Gatehouse's cache.
    pub path: PathBuf,
    /// The MCP Registry server and version the package was installed from;
    /// none for a package pinned from a command line (`npx`/`uvx`), and in
    /// pins written before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryOrigin>,
    /// The tree hash recorded at install (hex SHA-256).
    #[serde(skip)]
    pub tree_hash: String,
    /// The last time the installed tree was re-hashed (at a launch or on
    /// request) and what that found; none before the first check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<LastCheck>,
}

/// The MCP Registry entry a pinned package was installed from: what
/// "check for updates" compares the registry's newest version with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct RegistryOrigin {
    /// The server's registry name, e.g. `io.github.acme/weather`.
    pub name: String,
    /// The server version installed (the registry's, not the package's).
    pub version: String,
}

/// When a package's installed tree was last re-hashed against its pin, and
/// the result, kept in the pin's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct LastCheck {
    /// When, in microseconds since the Unix epoch.
    #[ts(type = "number")]
    pub at: i64,
    /// Whether the tree matched its pin.
    pub ok: bool,
    /// Why it did not, naming the first changed, added or removed file.
    pub problem: Option<String>,
}

impl LastCheck {
    /// The result of `check`, now; none for a server without a package.
    pub fn of(check: &LaunchCheck) -> Option<Self> {
        let (ok, problem) = match check {
            LaunchCheck::NoPackage => return None,
            LaunchCheck::Verified(_) => (true, None),
            LaunchCheck::Mismatch { reason, .. } => (false, Some(reason.clone())),
        };
        Some(Self {
            at: now_micros(),
            ok,
            problem,
        })
    }
}

impl PackagePin {
    /// The pin's key: `<kind>:<identifier>@<version>`.
    pub fn key(&self) -> String {
        pin_key(&self.spec)
    }
}

/// `<kind>:<identifier>@<version>`, as a package pin's key.
pub fn pin_key(spec: &PackageSpec) -> String {
    format!(
        "{}:{}@{}",
        spec.kind.as_str(),
        spec.identifier,
        spec.version
    )
}

/// Replaces `server`'s package pin with `pin` on `conn` (inside the
/// caller's transaction, so a pin can change in one step with the server).
pub(crate) fn replace_package_pin(
    conn: &rusqlite::Connection,
    server: &str,
    pin: &PackagePin,
) -> Result<()> {
    let definition = serde_json::to_string(pin).expect("a pin serializes");
    let id: i64 = conn
        .query_row("SELECT id FROM servers WHERE name = ?1", [server], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| Error::ServerNotFound(server.to_string()))?;
    conn.execute(
        "DELETE FROM pins WHERE server_id = ?1 AND kind = 'package'",
        [id],
    )?;
    conn.execute(
        "INSERT INTO pins (server_id, kind, key, hash, definition, pinned_at)
         VALUES (?1, 'package', ?2, ?3, ?4, ?5)",
        params![id, pin.key(), pin.tree_hash, definition, now_micros()],
    )?;
    Ok(())
}

/// What the check before a launch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchCheck {
    /// The server runs no installed package (a command the person gave).
    NoPackage,
    /// The installed tree is exactly what was pinned.
    Verified(PackagePin),
    /// It is not: the launch must be refused, for this reason.
    Mismatch {
        /// The package.
        pin: PackagePin,
        /// What differs, naming the first changed, added or removed file.
        reason: String,
    },
}

impl Store {
    /// Pins `server` to the package installed at `path` with tree hash
    /// `tree_hash`, replacing any package pin it had. The package is not
    /// from the MCP Registry ([`Store::package_pin_set_from`] records that).
    pub fn package_pin_set(
        &mut self,
        server: &str,
        spec: &PackageSpec,
        path: &Path,
        tree_hash: &str,
    ) -> Result<()> {
        self.package_pin_set_from(server, spec, path, tree_hash, None)
    }

    /// [`Store::package_pin_set`], recording the MCP Registry server
    /// version the package was installed from, if it was.
    pub fn package_pin_set_from(
        &mut self,
        server: &str,
        spec: &PackageSpec,
        path: &Path,
        tree_hash: &str,
        registry: Option<&RegistryOrigin>,
    ) -> Result<()> {
        let pin = PackagePin {
            spec: spec.clone(),
            path: path.to_path_buf(),
            registry: registry.cloned(),
            tree_hash: tree_hash.to_string(),
            last_check: None,
        };
        let tx = self.conn_mut().transaction()?;
        replace_package_pin(&tx, server, &pin)?;
        tx.commit()?;
        Ok(())
    }

    /// The package `server` is pinned to, if any.
    pub fn package_pin(&self, server: &str) -> Result<Option<PackagePin>> {
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT p.hash, p.definition FROM pins p JOIN servers s ON s.id = p.server_id
                 WHERE s.name = ?1 AND p.kind = 'package'",
                [server],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((hash, definition)) = row else {
            return Ok(None);
        };
        let mut pin: PackagePin = serde_json::from_str(&definition).map_err(|e| {
            Error::InvalidSpec(format!(
                "the package pin of server '{server}' cannot be read ({e}); re-install it"
            ))
        })?;
        pin.tree_hash = hash;
        Ok(Some(pin))
    }

    /// Re-hashes the tree of `server`'s installed package and compares it
    /// with its pin. Reading the pin failing is an error (the caller fails
    /// closed); a tree that cannot be hashed is a mismatch.
    /// The time and result are recorded in the pin
    /// ([`Store::package_check_record`]).
    pub fn package_check(&self, server: &str) -> Result<LaunchCheck> {
        let check = match self.package_pin(server)? {
            None => LaunchCheck::NoPackage,
            Some(pin) => verify(server, pin),
        };
        self.package_check_record(server, &check)?;
        Ok(check)
    }

    /// Records the time and result of `check` in `server`'s package pin
    /// (one `UPDATE` of its definition); returns what was recorded, none
    /// for a server without a package.
    pub fn package_check_record(
        &self,
        server: &str,
        check: &LaunchCheck,
    ) -> Result<Option<LastCheck>> {
        let Some(last) = LastCheck::of(check) else {
            return Ok(None);
        };
        self.conn().execute(
            "UPDATE pins SET definition = json_set(definition, '$.last_check', json(?2))
             WHERE kind = 'package'
               AND server_id = (SELECT id FROM servers WHERE name = ?1)",
            params![
                server,
                serde_json::to_string(&last).expect("a check serializes")
            ],
        )?;
        Ok(Some(last))
    }
}

/// Compares the tree at `pin.path` with `pin.tree_hash`; `server` is named
/// in the reason.
pub fn verify(server: &str, pin: PackagePin) -> LaunchCheck {
    let found = match tree::manifest(&pin.path) {
        Ok(m) => m,
        Err(e) => {
            let reason =
                mismatch_reason(server, &pin, &format!("its files cannot be checked: {e}"));
            return LaunchCheck::Mismatch { pin, reason };
        }
    };
    if found.hash() == pin.tree_hash {
        return LaunchCheck::Verified(pin);
    }
    // The manifest beside the install names the file, if it is the one
    // the pin vouches for.
    let recorded = std::fs::read_to_string(tree::manifest_path(&pin.path))
        .ok()
        .and_then(|text| Manifest::parse(&text))
        .filter(|m| m.hash() == pin.tree_hash);
    let what = match recorded.and_then(|m| m.first_change(&found)) {
        Some(change) => change.to_string(),
        None => "its files differ from the installed ones (the record of them was altered too)"
            .to_string(),
    };
    let reason = mismatch_reason(server, &pin, &what);
    LaunchCheck::Mismatch { pin, reason }
}

fn mismatch_reason(server: &str, pin: &PackagePin, what: &str) -> String {
    format!(
        "checksum mismatch: the installed package {} at {} no longer matches what was vetted: {what}; Gatehouse refuses to launch it. Re-install it to vet it again: `gatehouse server reinstall {server}`",
        pin.key(),
        pin.path.display()
    )
}

/// The audit record of a launch refused because the installed package no
/// longer matches its pin: method [`CHECKSUM_MISMATCH_METHOD`], which the
/// alert rules turn into an alert.
///
/// [`CHECKSUM_MISMATCH_METHOD`]: crate::alerts::CHECKSUM_MISMATCH_METHOD
pub fn mismatch_record(
    session: std::sync::Arc<str>,
    server: std::sync::Arc<str>,
    reason: String,
) -> crate::audit::AuditRecord {
    crate::audit::AuditRecord {
        time: now_micros(),
        session,
        client: None,
        server,
        method: Some(crate::alerts::CHECKSUM_MISMATCH_METHOD.to_string()),
        tool: None,
        arguments: None,
        decision: crate::audit::AuditDecision::Denied,
        reason: Some(reason),
        result_size: None,
        is_error: None,
        rpc_error: None,
        result: None,
        result_hash: None,
        latency_us: 0,
        seq: None,
    }
}
