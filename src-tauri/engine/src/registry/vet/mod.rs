//! The vetting report: everything a person should know about a server
//! version before Gatehouse installs it. Who published it and how the
//! registry verified that, whether each package really belongs to the
//! server (checked against the package registry itself), the exact version
//! and the checksum it will be pinned to, what it needs (secrets flagged),
//! how it talks, where its source is and what else the publisher lists.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use ts_rs::TS;

use super::client::{RegistryClient, join};
use super::model::{
    Argument, KeyValueInput, Package, PackageTransport, RegistryEntry, Remote, Repository,
    ServerJson, Status,
};
use crate::install::{Checksum, PackageKind, PackageSpec};
use crate::{Error, Result};

mod mcpb;
mod oci;
mod packages;

use mcpb::vet_mcpb;
pub use oci::oci_reference;
use oci::vet_oci;
use packages::{vet_npm, vet_pypi};

/// The largest MCPB bundle downloaded to check its `fileSha256`.
const MAX_MCPB_BYTES: usize = 256 << 20;
/// At most this many pages of the publisher's other servers are read.
const PUBLISHER_PAGES: usize = 5;
/// The OCI image label that names the MCP server an image belongs to.
pub const OCI_NAME_LABEL: &str = "io.modelcontextprotocol.server.name";

/// What Gatehouse found out about one server version, shown before install.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct VettingReport {
    /// The server's registry name.
    pub name: String,
    /// The version vetted.
    pub version: String,
    /// Its title, if any.
    pub title: Option<String>,
    /// What it does.
    pub description: String,
    /// The registry's status of this version.
    pub status: Status,
    /// Why the status changed, when the registry says.
    pub status_message: Option<String>,
    /// The publisher's namespace and how the registry verified it.
    pub namespace: NamespaceReport,
    /// One report per package.
    pub packages: Vec<PackageReport>,
    /// The remote endpoints it offers (nothing to install).
    pub remotes: Vec<Remote>,
    /// Its source repository.
    pub repository: Option<Repository>,
    /// Its web site.
    pub website_url: Option<String>,
    /// The publisher's other servers in the registry (latest versions).
    pub publisher_servers: Vec<String>,
    /// Why the publisher's other servers could not be listed, if so.
    pub publisher_error: Option<String>,
}

/// How the namespace was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum NamespaceKind {
    /// `io.github.USER/...`: the publisher signed in to GitHub as USER.
    Github,
    /// Reverse DNS, `com.example/...`: the publisher proved control of the
    /// domain (DNS or HTTP).
    Domain,
    /// Neither form: the registry's verification is unknown.
    Unknown,
}

/// The publisher's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NamespaceReport {
    /// The part of the name before `/`.
    pub namespace: String,
    /// How it was verified.
    pub kind: NamespaceKind,
    /// The GitHub user or organisation, or the domain.
    pub owner: Option<String>,
    /// One line for people.
    pub explanation: String,
}

/// The result of a check against a package registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum VetOutcome {
    /// It checks out.
    Ok,
    /// The package names something else.
    Mismatch {
        /// What the package says instead.
        found: String,
    },
    /// The package says nothing about it.
    Missing,
    /// The package registry could not be asked.
    Unreachable {
        /// Why.
        error: String,
    },
    /// Gatehouse cannot check this kind of package.
    Unsupported,
}

impl VetOutcome {
    /// Whether the check passed.
    pub fn is_ok(&self) -> bool {
        matches!(self, VetOutcome::Ok)
    }
}

/// A check's outcome and a one-line explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct VetCheck {
    /// What was found.
    pub outcome: VetOutcome,
    /// One line for people.
    pub explanation: String,
}

impl VetCheck {
    fn new(outcome: VetOutcome, explanation: impl Into<String>) -> Self {
        Self {
            outcome,
            explanation: explanation.into(),
        }
    }
}

/// What Gatehouse found out about one package of the server.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PackageReport {
    /// `npm`, `pypi`, `oci`, `mcpb` or another type.
    pub registry_type: String,
    /// The package's name, image or URL.
    pub identifier: String,
    /// The version `server.json` gives.
    pub version: Option<String>,
    /// Whether that version is exact (not a range, not `latest`).
    pub version_check: VetCheck,
    /// Whether the package says it belongs to this server.
    pub ownership: VetCheck,
    /// The checksum it will be pinned to, when one was found.
    pub checksum: Option<Checksum>,
    /// Where the checksum comes from, or why there is none.
    pub checksum_note: String,
    /// What the installer gets: set when the version is exact and a checksum
    /// was found. Ownership is not required here: a mismatch needs the
    /// person's confirmation at install, not a hidden package.
    pub spec: Option<PackageSpec>,
    /// How a client talks to it.
    pub transport: Option<PackageTransport>,
    /// The runtime it is meant for (`npx`, `uvx`, `docker`...).
    pub runtime_hint: Option<String>,
    /// Arguments for the runtime.
    pub runtime_arguments: Vec<Argument>,
    /// Arguments for the package.
    pub package_arguments: Vec<Argument>,
    /// The environment variables it reads; secret ones are prompted for
    /// and stored in the OS keychain at install.
    pub environment_variables: Vec<KeyValueInput>,
}

impl PackageReport {
    /// Whether this package can be installed without confirmation: exact
    /// version, checksum found, ownership confirmed.
    pub fn clean(&self) -> bool {
        self.spec.is_some() && self.ownership.outcome.is_ok()
    }
}

impl VettingReport {
    /// Whether the registry's status allows installing without the person's
    /// explicit say-so.
    pub fn installable(&self) -> bool {
        self.status.installable()
    }
}

/// The namespace of `name` and how the registry verifies it.
pub fn namespace_of(name: &str) -> NamespaceReport {
    let namespace = name.split_once('/').map_or(name, |(ns, _)| ns).to_string();
    if let Some(user) = namespace
        .strip_prefix("io.github.")
        .filter(|u| !u.is_empty())
    {
        return NamespaceReport {
            explanation: format!(
                "GitHub-verified namespace: the publisher signed in to GitHub as '{user}'"
            ),
            owner: Some(user.to_string()),
            kind: NamespaceKind::Github,
            namespace,
        };
    }
    let labels: Vec<&str> = namespace.split('.').collect();
    if labels.len() >= 2 && labels.iter().all(|l| !l.is_empty()) {
        let domain: Vec<&str> = labels.into_iter().rev().collect();
        let domain = domain.join(".");
        return NamespaceReport {
            explanation: format!(
                "domain-verified namespace: the publisher proved control of {domain} (DNS or HTTP)"
            ),
            owner: Some(domain),
            kind: NamespaceKind::Domain,
            namespace,
        };
    }
    NamespaceReport {
        explanation: format!(
            "namespace '{namespace}' is neither io.github.USER nor reverse DNS: unverified"
        ),
        owner: None,
        kind: NamespaceKind::Unknown,
        namespace,
    }
}

/// Whether `version` names exactly one version: not empty, not `latest`,
/// not a range (`^1.2`, `~1`, `>=1`, `1.x`, `*`, `1 - 2`, `a || b`).
pub fn exact_version(version: &str) -> std::result::Result<(), String> {
    let v = version.trim();
    if v.is_empty() {
        return Err("no version given".into());
    }
    if v.eq_ignore_ascii_case("latest") {
        return Err("\"latest\" is not a version: it changes under you".into());
    }
    if v.starts_with(['^', '~', '>', '<', '=', '!'])
        || v.contains(['*', ' ', ',', '|'])
        || v.split(['.', '-', '+'])
            .any(|part| part.eq_ignore_ascii_case("x"))
    {
        return Err(format!("{v:?} is a range, not one exact version"));
    }
    Ok(())
}

/// Builds the vetting report of `entry`, asking the package registries.
pub async fn vet(client: &RegistryClient, entry: &RegistryEntry) -> VettingReport {
    let server = &entry.server;
    let packages = vet_packages(client, server).await;
    let namespace = namespace_of(&server.name);
    let (publisher_servers, publisher_error) =
        match publisher_servers(client, &namespace.namespace, &server.name).await {
            Ok(names) => (names, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
    VettingReport {
        name: server.name.clone(),
        version: server.version.clone(),
        title: server.title.clone(),
        description: server.description.clone(),
        status: entry.status,
        status_message: entry.status_message.clone(),
        namespace,
        packages,
        remotes: server.remotes.clone(),
        repository: server.repository.clone(),
        website_url: server.website_url.clone(),
        publisher_servers,
        publisher_error,
    }
}

/// The report of each of `server`'s packages, asking the package
/// registries: the part of the vetting report an update check compares.
pub(super) async fn vet_packages(
    client: &RegistryClient,
    server: &ServerJson,
) -> Vec<PackageReport> {
    let mut packages = Vec::with_capacity(server.packages.len());
    for p in &server.packages {
        packages.push(vet_package(client, &server.name, &server.version, p).await);
    }
    packages
}

/// The names of the other servers in `namespace` (latest versions).
async fn publisher_servers(
    client: &RegistryClient,
    namespace: &str,
    name: &str,
) -> Result<Vec<String>> {
    let prefix = format!("{namespace}/");
    let entries = client
        .search_all(&prefix, Some("latest"), PUBLISHER_PAGES)
        .await?;
    let mut names: Vec<String> = entries
        .into_iter()
        .map(|e| e.server.name)
        .filter(|n| n.starts_with(&prefix) && n != name)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

async fn vet_package(
    client: &RegistryClient,
    server_name: &str,
    server_version: &str,
    p: &Package,
) -> PackageReport {
    let mut report = PackageReport {
        registry_type: p.registry_type.clone(),
        identifier: p.identifier.clone(),
        version: p.version.clone(),
        version_check: VetCheck::new(VetOutcome::Ok, ""),
        ownership: VetCheck::new(VetOutcome::Unsupported, ""),
        checksum: None,
        checksum_note: String::new(),
        spec: None,
        transport: p.transport.clone(),
        runtime_hint: p.runtime_hint.clone(),
        runtime_arguments: p.runtime_arguments.clone(),
        package_arguments: p.package_arguments.clone(),
        environment_variables: p.environment_variables.clone(),
    };
    let Some(kind) = p.kind() else {
        report.version_check = VetCheck::new(VetOutcome::Unsupported, "not checked");
        report.ownership = VetCheck::new(
            VetOutcome::Unsupported,
            format!(
                "Gatehouse cannot install {} packages (npm, pypi, oci and mcpb only)",
                p.registry_type
            ),
        );
        report.checksum_note = "no checksum: unsupported package type".into();
        return report;
    };
    // The version this package pins: its own, else (OCI tag, MCPB) the
    // reference or the server's version.
    let version = match kind {
        PackageKind::Npm | PackageKind::Pypi => p.version.clone().unwrap_or_default(),
        PackageKind::Oci => match (oci_reference(&p.identifier), &p.version) {
            (Some((_, _, r)), _) => r,
            (None, Some(v)) => v.clone(),
            (None, None) => String::new(),
        },
        PackageKind::Mcpb => p
            .version
            .clone()
            .unwrap_or_else(|| server_version.to_string()),
    };
    let exact = match kind {
        PackageKind::Oci if version.starts_with("sha256:") => Ok(()),
        _ => exact_version(&version),
    };
    report.version_check = match &exact {
        Ok(()) => VetCheck::new(VetOutcome::Ok, format!("exact version {version}")),
        Err(why) => VetCheck::new(
            VetOutcome::Mismatch {
                found: version.clone(),
            },
            format!("refused: {why}"),
        ),
    };
    let (ownership, checksum, note, file_url) = match kind {
        PackageKind::Npm => vet_npm(client, server_name, p, &version).await,
        PackageKind::Pypi => vet_pypi(client, server_name, p, &version).await,
        PackageKind::Oci => vet_oci(client, server_name, p).await,
        PackageKind::Mcpb => vet_mcpb(client, p).await,
    };
    report.ownership = ownership;
    report.checksum_note = note;
    if let (Ok(()), Some(sum)) = (&exact, &checksum) {
        report.spec = Some(PackageSpec {
            kind,
            identifier: match kind {
                PackageKind::Oci => oci_reference(&p.identifier)
                    .map_or(p.identifier.clone(), |(host, repo, _)| {
                        format!("{host}/{repo}")
                    }),
                _ => p.identifier.clone(),
            },
            version,
            checksum: sum.clone(),
            file_url,
        });
    }
    report.checksum = checksum;
    report
}

type Vetted = (VetCheck, Option<Checksum>, String, Option<String>);

fn unreachable(e: Error, what: &str) -> Vetted {
    (
        VetCheck::new(
            VetOutcome::Unreachable {
                error: e.to_string(),
            },
            format!("could not check {what}: {e}"),
        ),
        None,
        format!("no checksum: {e}"),
        None,
    )
}

const MAX_JSON: usize = 16 << 20;

fn parse(url: &str, body: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(body).map_err(|e| {
        Error::Registry(format!(
            "GET {url}: the answer is not the JSON the API documents: {e}"
        ))
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
