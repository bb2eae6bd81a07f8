//! "Update to VERSION": moving a server installed from the MCP Registry to
//! another version of it. The version is vetted exactly as an install vets
//! it (a deleted version never, a deprecated one only with consent, an
//! unproven ownership only when confirmed, every required variable given a
//! value), its package is installed into the cache and verified against
//! its checksum, and only then is the server re-pointed at the new install
//! and pinned with the new registry origin, in one transaction.
//!
//! The server keeps its name, policy, tool pins and reviews (they are the
//! server's, not the package's; changed tools are caught when the new
//! version lists them), the secrets already in the keychain, and the plain
//! environment values the person set that the new version still reads.
//! If any step fails, the server is left exactly as it was, launching the
//! old verified install.

use std::collections::BTreeMap;
use std::fmt;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::client::block_on;
use super::install::{accepted_package, fixed_arguments, secrets_given};
use super::update::newest_active;
use super::vet::{PackageReport, vet};
use super::{InstallPhase, RegistryEntry};
use crate::install::{PackagePin, PackageSpec, RegistryOrigin, replace_package_pin};
use crate::{Engine, Error, Result, SecretValue, Server, Store, Transport};

/// What the person decided about an update, as [`super::InstallOptions`]
/// (less the name: the server keeps its own).
#[derive(Clone, Default, Deserialize, TS)]
#[ts(export)]
pub struct UpdateOptions {
    /// The person confirmed a package whose ownership did not check out.
    #[serde(default)]
    pub confirm_mismatch: bool,
    /// The person agreed to move to a deprecated version (or one whose
    /// status is unknown). A deleted version is never installed.
    #[serde(default)]
    pub allow_deprecated: bool,
    /// Environment values the person gave, `(NAME, value)`: those the new
    /// version needs and the server has no value for, or new values for
    /// existing secrets. They go straight to the OS keychain and are never
    /// logged.
    #[serde(default)]
    pub secrets: Vec<(String, String)>,
}

impl fmt::Debug for UpdateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.secrets.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("UpdateOptions")
            .field("confirm_mismatch", &self.confirm_mismatch)
            .field("allow_deprecated", &self.allow_deprecated)
            .field("secrets", &names)
            .finish()
    }
}

/// A server moved to another registry version of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RegistryUpdated {
    /// The server as it is now (it launches the new install).
    pub server: Server,
    /// The registry version it ran before.
    pub previous: RegistryOrigin,
    /// The registry version it runs now.
    pub origin: RegistryOrigin,
    /// The package as vetted and installed.
    pub package: PackageSpec,
    /// The installed tree's hash, verified before every launch.
    pub tree_hash: String,
    /// Where it was installed.
    pub path: String,
}

impl Engine {
    /// Moves `server` to `version` (the registry's newest active version
    /// when `None`) as [`Engine::registry_update_with`] does, without
    /// progress reports.
    pub fn registry_update(
        &self,
        server: String,
        version: Option<String>,
        options: UpdateOptions,
    ) -> Result<RegistryUpdated> {
        self.registry_update_with(server, version, options, |_| {})
    }

    /// Moves `server`, installed from the MCP Registry, to `version` of the
    /// same registry server (its newest active version when `None`).
    ///
    /// Vets that version as [`Engine::registry_install_with`] does and
    /// refuses what the person did not agree to, or a required variable
    /// with no value (given in `options`, a secret already stored, a value
    /// the server has, or a default); installs the vetted package into the
    /// cache (downloaded and checked against its checksum), then, in one
    /// transaction, points the server's launch at the new install and pins
    /// it with the new registry origin. Secrets given go to the keychain
    /// first and are put back as they were if that fails. Until then
    /// nothing about the server changes: on any error it still launches the
    /// old verified install.
    pub fn registry_update_with(
        &self,
        server: String,
        version: Option<String>,
        options: UpdateOptions,
        mut progress: impl FnMut(InstallPhase),
    ) -> Result<RegistryUpdated> {
        progress(InstallPhase::Vetting);
        let (current, pin) = {
            let store = self.store();
            (store.server(&server)?, store.package_pin(&server)?)
        };
        let Transport::Stdio { env, secrets, .. } = &current.transport else {
            return Err(Error::InvalidSpec(format!(
                "'{server}' is a remote server; it runs no package to update"
            )));
        };
        let Some((pin, previous)) = pin.and_then(|p| p.registry.clone().map(|o| (p, o))) else {
            return Err(Error::InvalidSpec(format!(
                "'{server}' was not installed from the MCP Registry, so it has no registry version to update; install the server with `gatehouse registry install`"
            )));
        };

        let client = self.registry_client()?;
        let (report, installed_entry) = block_on(async {
            let target = match version {
                Some(v) => v,
                None => {
                    let versions = client.versions(&previous.name).await?;
                    newest_active(&versions)
                        .map(|e| e.server.version.clone())
                        .ok_or_else(|| {
                            Error::VersionNotActive(format!(
                                "{} has no active version in the registry",
                                previous.name
                            ))
                        })?
                }
            };
            if target == previous.version {
                return Err(Error::InvalidSpec(format!(
                    "'{server}' already runs {} {}; `gatehouse server reinstall {server}` installs it again",
                    previous.name, previous.version
                )));
            }
            let entry = client.version(&previous.name, &target).await?;
            // What the installed version declared tells a value the person
            // set from one the package preset; it may be gone from the
            // registry, and the update does not need it.
            let installed = client.version(&previous.name, &previous.version).await.ok();
            Ok((vet(&client, &entry).await, installed))
        })??;
        let (package, spec) =
            accepted_package(&report, options.allow_deprecated, options.confirm_mismatch)?;

        let given = secrets_given(&options.secrets)?;
        let presets = installed_entry.and_then(|e| presets(&e, &pin));
        let plain_env = carried_environment(
            &report,
            package,
            &server,
            env,
            secrets,
            &given,
            presets.as_ref(),
        )?;
        let package_args = fixed_arguments(&package.package_arguments)?;

        let installed = self.install_vetted(&spec, &mut progress)?;

        progress(InstallPhase::Registering);
        let mut env = plain_env;
        env.extend(installed.env.clone());
        let mut secret_names = secrets.clone();
        for (key, _) in &given {
            env.remove(key);
            if !secret_names.iter().any(|s| s.eq_ignore_ascii_case(key)) {
                secret_names.push(key.clone());
            }
        }
        let transport = Transport::Stdio {
            command: installed.command.clone(),
            args: installed.args.iter().cloned().chain(package_args).collect(),
            env,
            secrets: secret_names,
        };
        let origin = RegistryOrigin {
            name: report.name.clone(),
            version: report.version.clone(),
        };
        let new_pin = PackagePin {
            spec: spec.clone(),
            path: installed.path.clone(),
            registry: Some(origin.clone()),
            tree_hash: installed.tree_hash.clone(),
            last_check: None,
        };
        self.with_secrets_restored_on_error(&server, &given, || {
            self.store().registry_repoint(&server, &transport, &new_pin)
        })?;
        Ok(RegistryUpdated {
            server: self.server(&server)?,
            previous,
            origin,
            package: spec,
            tree_hash: installed.tree_hash,
            path: installed.path.display().to_string(),
        })
    }

    /// Stores `given` in the keychain for `server`, then runs `then`; if
    /// either fails, every value written is put back as it was (or deleted,
    /// if there was none).
    fn with_secrets_restored_on_error(
        &self,
        server: &str,
        given: &[(String, SecretValue)],
        then: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let keychain = self.secrets();
        let mut written: Vec<(&str, Option<SecretValue>)> = Vec::with_capacity(given.len());
        let result = given
            .iter()
            .try_for_each(|(key, value)| {
                let before = keychain.get(server, key)?;
                keychain.set(server, key, value)?;
                written.push((key, before));
                Ok(())
            })
            .and_then(|()| then());
        if result.is_err() {
            for (key, before) in written.into_iter().rev() {
                let _ = match before {
                    Some(value) => keychain.set(server, key, &value),
                    None => keychain.delete(server, key),
                };
            }
        }
        result
    }
}

impl Store {
    /// Points `server` at `transport` (the new install's launch) and
    /// replaces its package pin with `pin`, in one transaction: either both
    /// change or neither does. The server's policy, tool pins and reviews
    /// are its own rows and stay.
    fn registry_repoint(
        &mut self,
        server: &str,
        transport: &Transport,
        pin: &PackagePin,
    ) -> Result<()> {
        let Transport::Stdio {
            command,
            args,
            env,
            secrets,
        } = transport
        else {
            unreachable!("an update launches a package over stdio");
        };
        let tx = self.conn_mut().transaction()?;
        let changed = tx.execute(
            "UPDATE servers SET command = ?2, args = ?3, env = ?4, secrets = ?5 WHERE name = ?1",
            params![
                server,
                command,
                to_json(args),
                to_json(env),
                to_json(secrets)
            ],
        )?;
        if changed == 0 {
            return Err(Error::ServerNotFound(server.to_string()));
        }
        replace_package_pin(&tx, server, pin)?;
        tx.commit()?;
        Ok(())
    }
}

/// A server row's JSON column.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

/// The values the installed version's package preset (a fixed value or a
/// default) for each variable it declares; none when its registry entry no
/// longer lists the pinned package.
fn presets(entry: &RegistryEntry, pin: &PackagePin) -> Option<BTreeMap<String, Option<String>>> {
    let package = entry.server.packages.iter().find(|p| {
        p.registry_type == pin.spec.kind.as_str() && p.identifier == pin.spec.identifier
    })?;
    Some(
        package
            .environment_variables
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    v.value.clone().or_else(|| v.default.clone()),
                )
            })
            .collect(),
    )
}

/// The plain environment the server runs the new version with, after
/// checking every variable it requires has a value.
///
/// - a variable the new version fixes (`value`) takes that value;
/// - a value the person set (not the installed version's preset; any value
///   when the installed version's declarations are unknown) is kept if the
///   new version still reads the variable;
/// - otherwise the new version's default, if any;
/// - a variable the installed version read and the new one does not is
///   dropped; one neither declares (the person's own) is kept;
/// - a required secret is satisfied by a value `given` or one already in
///   the keychain (`stored`).
fn carried_environment(
    report: &super::VettingReport,
    package: &PackageReport,
    server: &str,
    current: &BTreeMap<String, String>,
    stored: &[String],
    given: &[(String, SecretValue)],
    presets: Option<&BTreeMap<String, Option<String>>>,
) -> Result<BTreeMap<String, String>> {
    let declared = |name: &str| package.environment_variables.iter().any(|v| v.name == name);
    let mut env: BTreeMap<String, String> = current
        .iter()
        .filter(|(k, _)| !declared(k) && presets.is_none_or(|p| !p.contains_key(*k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let usable = |v: &Option<String>| v.clone().filter(|v| !v.contains('{'));
    let mut missing = Vec::new();
    for var in &package.environment_variables {
        let name = var.name.as_str();
        if given.iter().any(|(k, _)| k == name) || stored.iter().any(|s| s == name) {
            continue;
        }
        let set_by_person = current.get(name).filter(|v| {
            presets.is_none_or(|p| p.get(name).is_none_or(|pre| pre.as_ref() != Some(*v)))
        });
        let value = match usable(&var.value) {
            Some(fixed) if !var.is_secret => Some(fixed),
            _ => set_by_person
                .cloned()
                .or_else(|| usable(&var.default).filter(|_| !var.is_secret)),
        };
        match value {
            Some(value) => {
                env.insert(var.name.clone(), value);
            }
            None if var.is_required => missing.push(name),
            None => {}
        }
    }
    if missing.is_empty() {
        return Ok(env);
    }
    Err(Error::InvalidSpec(format!(
        "{} {} needs {}, which '{server}' has no value for; give each with --secret NAME",
        report.name,
        report.version,
        missing.join(", ")
    )))
}
