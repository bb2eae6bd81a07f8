//! The official MCP Registry: search, versions, and the vetting report
//! shown before anything is installed.
//!
//! - `model.rs`: `server.json` and the registry's answers (v0.1 API);
//! - `client.rs`: [`RegistryClient`] (reqwest, rustls), [`RegistryConfig`]
//!   (settings `registry.url`, `registry.npm_url`, `registry.pypi_url`,
//!   `registry.oci_url`, each overridden by `GATEHOUSE_*_URL`);
//! - `vet.rs`: [`VettingReport`]: namespace, per-package ownership, exact
//!   version, checksum (a [`crate::install::PackageSpec`] for the
//!   installer), environment, transport, repository, the publisher's other
//!   servers, status;
//! - `install.rs`: [`Engine::registry_install`]: vet, refuse what the person
//!   did not agree to, install the vetted package, register, pin, store
//!   secrets.
//! - `dry_start.rs`: [`Engine::registry_dry_start`]: install the vetted
//!   package into the cache, launch it unregistered, list and scan its tools.
//! - `update.rs`: "check for updates" of a server installed from the
//!   registry ([`Engine::package_updates`]): the newest active version and
//!   the installed one, both vetted, and what would change.
//! - `upgrade.rs`: "Update to VERSION" ([`Engine::registry_update`]): the
//!   version vetted as an install is, its package installed and verified,
//!   then the server re-pointed at it and pinned with the new origin in one
//!   step, keeping its name, policy, tool pins, secrets and the values the
//!   person set; on any failure the server is left as it was.
//!
//! The registry and package registries are asked over the network only
//! when a person searches or vets; every failure is an error naming the
//! URL, never a silent fallback.

mod client;
mod dry_start;
mod install;
mod model;
pub mod testing;
mod update;
mod upgrade;
mod vet;

#[cfg(test)]
mod dry_start_tests;
#[cfg(test)]
mod install_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod update_tests;
#[cfg(test)]
mod upgrade_tests;

pub use client::{
    DEFAULT_NPM_URL, DEFAULT_PYPI_URL, DEFAULT_REGISTRY_URL, NPM_URL_SETTING, OCI_URL_SETTING,
    PYPI_URL_SETTING, REGISTRY_URL_SETTING, RegistryClient, RegistryConfig, block_on,
};
pub(crate) use dry_start::DryInstalls;
pub use dry_start::{DRY_START_TIMEOUT, DryStart};
pub use install::{
    InstallOptions, InstallPhase, InstallProgress, RegistryInstalled, default_local_name,
};
pub use model::{
    Argument, KeyValueInput, Package, PackageTransport, RegistryEntry, Remote, Repository,
    ServerJson, ServerPage, Status,
};
pub use upgrade::{RegistryUpdated, UpdateOptions};
pub use vet::{
    NamespaceKind, NamespaceReport, OCI_NAME_LABEL, PackageReport, VetCheck, VetOutcome,
    VettingReport, exact_version, namespace_of, oci_reference, vet,
};

use crate::{Engine, Result};

/// A page of search results, at most this many entries.
pub const SEARCH_PAGE: u32 = 30;

/// Splits `NAME@VERSION` (the version optional: `latest` then). A server
/// name never holds `@`.
pub fn split_name_version(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once('@') {
        Some((name, version)) if !name.is_empty() && !version.is_empty() => (name, Some(version)),
        _ => (spec, None),
    }
}

impl Engine {
    /// A client configured from this engine's settings and the environment.
    pub fn registry_client(&self) -> Result<RegistryClient> {
        let cfg = RegistryConfig::load(&self.store())?;
        RegistryClient::new(cfg)
    }

    /// One page of the registry's servers matching `query` (latest versions),
    /// from `cursor`.
    pub fn registry_search(&self, query: String, cursor: Option<String>) -> Result<ServerPage> {
        let client = self.registry_client()?;
        block_on(client.search(&query, cursor.as_deref(), Some(SEARCH_PAGE), Some("latest")))?
    }

    /// Every published version of a server, with its status.
    pub fn registry_versions(&self, name: String) -> Result<Vec<RegistryEntry>> {
        let client = self.registry_client()?;
        block_on(client.versions(&name))?
    }

    /// The vetting report of one version of a server (`latest` when `None`).
    pub fn registry_vet(&self, name: String, version: Option<String>) -> Result<VettingReport> {
        let client = self.registry_client()?;
        block_on(async {
            let entry = client
                .version(&name, version.as_deref().unwrap_or("latest"))
                .await?;
            Ok(vet(&client, &entry).await)
        })?
    }
}
