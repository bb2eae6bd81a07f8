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

/// npm: `GET {npm}/{identifier}/{version}`: `mcpName` and `dist.integrity`.
async fn vet_npm(client: &RegistryClient, server: &str, p: &Package, version: &str) -> Vetted {
    if version.is_empty() {
        return unreachable(
            Error::Registry("server.json gives no version".into()),
            "npm",
        );
    }
    let url = match join(&client.config().npm_url, "", &[&p.identifier, version]) {
        Ok(u) => u,
        Err(e) => return unreachable(e, "the npm package"),
    };
    let doc: serde_json::Value = match client.get_json(url).await {
        Ok(d) => d,
        Err(e) => return unreachable(e, "the npm package"),
    };
    let ownership = match doc.get("mcpName").and_then(|v| v.as_str()) {
        Some(n) if n == server => VetCheck::new(
            VetOutcome::Ok,
            format!("npm package.json mcpName is {n}, the server's name"),
        ),
        Some(n) => VetCheck::new(
            VetOutcome::Mismatch { found: n.into() },
            format!(
                "npm package.json mcpName is {n}, not {server}: the package may belong to another server"
            ),
        ),
        None => VetCheck::new(
            VetOutcome::Missing,
            format!(
                "npm package.json of {}@{version} has no mcpName: ownership unproven",
                p.identifier
            ),
        ),
    };
    match doc.pointer("/dist/integrity").and_then(|v| v.as_str()) {
        Some(i) if i.starts_with("sha512-") || i.starts_with("sha256-") => (
            ownership,
            Some(Checksum::Integrity(i.into())),
            "npm dist.integrity of the tarball".into(),
            None,
        ),
        _ => (
            ownership,
            None,
            "no checksum: npm gives no sha512 dist.integrity for this version".into(),
            None,
        ),
    }
}

/// PyPI: `GET {pypi}/pypi/{identifier}/{version}/json`: `mcp-name:` in
/// `info.description`, and the sha256 of a `py3-none-any` wheel, else the
/// sdist.
async fn vet_pypi(client: &RegistryClient, server: &str, p: &Package, version: &str) -> Vetted {
    if version.is_empty() {
        return unreachable(
            Error::Registry("server.json gives no version".into()),
            "PyPI",
        );
    }
    let url = match join(
        &client.config().pypi_url,
        "pypi",
        &[&p.identifier, version, "json"],
    ) {
        Ok(u) => u,
        Err(e) => return unreachable(e, "the PyPI project"),
    };
    let doc: serde_json::Value = match client.get_json(url).await {
        Ok(d) => d,
        Err(e) => return unreachable(e, "the PyPI project"),
    };
    let description = doc
        .pointer("/info/description")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let names = mcp_names(description);
    let ownership = if names.contains(&server) {
        VetCheck::new(
            VetOutcome::Ok,
            format!("PyPI description says mcp-name: {server}"),
        )
    } else if let Some(first) = names.first() {
        VetCheck::new(
            VetOutcome::Mismatch {
                found: (*first).into(),
            },
            format!(
                "PyPI description says mcp-name: {first}, not {server}: the package may belong to another server"
            ),
        )
    } else {
        VetCheck::new(
            VetOutcome::Missing,
            format!(
                "PyPI description of {} {version} has no 'mcp-name: {server}' line: ownership unproven",
                p.identifier
            ),
        )
    };
    let files = doc
        .get("urls")
        .and_then(|u| u.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let pick = |pred: &dyn Fn(&str, &str) -> bool| {
        files.iter().find(|f| {
            let name = f.get("filename").and_then(|v| v.as_str()).unwrap_or("");
            let kind = f.get("packagetype").and_then(|v| v.as_str()).unwrap_or("");
            pred(name, kind)
        })
    };
    let chosen = pick(&|name, kind| kind == "bdist_wheel" && name.ends_with("-none-any.whl"))
        .or_else(|| pick(&|_, kind| kind == "sdist"));
    let Some(file) = chosen else {
        return (
            ownership,
            None,
            "no checksum: the release has neither a pure-Python wheel nor an sdist".into(),
            None,
        );
    };
    let filename = file.get("filename").and_then(|v| v.as_str()).unwrap_or("");
    let sha = file
        .pointer("/digests/sha256")
        .and_then(|v| v.as_str())
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    let file_url = file.get("url").and_then(|v| v.as_str()).map(String::from);
    match sha {
        Some(sha) => (
            ownership,
            Some(Checksum::Sha256(sha.to_ascii_lowercase())),
            format!("PyPI sha256 of {filename}"),
            file_url,
        ),
        None => (
            ownership,
            None,
            format!("no checksum: PyPI gives no sha256 for {filename}"),
            None,
        ),
    }
}

/// Every `mcp-name: NAME` in a project description.
fn mcp_names(description: &str) -> Vec<&str> {
    description
        .match_indices("mcp-name:")
        .filter_map(|(i, m)| {
            description[i + m.len()..]
                .split_whitespace()
                .next()
                .map(|n| n.trim_end_matches(['-', '>', ')', '`', '*', '.']))
        })
        .collect()
}

/// An OCI reference's host, repository and tag or digest:
/// `ghcr.io/o/img:1.0` → (`ghcr.io`, `o/img`, `1.0`); `user/img:1` on
/// Docker Hub → (`docker.io`, `user/img`, `1`). `None` without a tag or
/// digest.
pub fn oci_reference(identifier: &str) -> Option<(String, String, String)> {
    let (rest, reference) = if let Some((r, d)) = identifier.split_once('@') {
        (r, d.to_string())
    } else {
        let slash = identifier.rfind('/').map_or(0, |i| i + 1);
        let colon = identifier[slash..].rfind(':')? + slash;
        (&identifier[..colon], identifier[colon + 1..].to_string())
    };
    let (host, repo) = match rest.split_once('/') {
        Some((h, r)) if h.contains(['.', ':']) || h == "localhost" => {
            (h.to_string(), r.to_string())
        }
        _ => ("docker.io".to_string(), rest.to_string()),
    };
    let repo = if host == "docker.io" && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo
    };
    Some((host, repo, reference))
}

const OCI_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// OCI: the manifest's digest, then the config blob's
/// `io.modelcontextprotocol.server.name` label.
async fn vet_oci(client: &RegistryClient, server: &str, p: &Package) -> Vetted {
    let reference = oci_reference(&p.identifier).or_else(|| {
        p.version
            .as_ref()
            .and_then(|v| oci_reference(&format!("{}:{v}", p.identifier)))
    });
    let Some((host, repo, reference)) = reference else {
        return unreachable(
            Error::Registry(format!("{} names no tag or digest", p.identifier)),
            "the image",
        );
    };
    let base = client.config().oci_url.clone().unwrap_or_else(|| {
        let host = if host == "docker.io" {
            "registry-1.docker.io"
        } else {
            &host
        };
        format!("https://{host}")
    });
    let oci = Oci {
        client,
        base: &base,
        repo: &repo,
    };
    let result: Result<(String, Option<String>)> = async {
        let manifest = oci.get(&["manifests", &reference], OCI_ACCEPT).await?;
        let digest = manifest
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .unwrap_or_else(|| format!("sha256:{}", hex(&Sha256::digest(&manifest.body))));
        if reference.starts_with("sha256:") && digest != reference {
            return Err(Error::Registry(format!(
                "the registry answered {reference} with a manifest of digest {digest}"
            )));
        }
        let mut doc: serde_json::Value = parse(&manifest.url, &manifest.body)?;
        // An index: the linux/amd64 image, else the first.
        if let Some(list) = doc.get("manifests").and_then(|m| m.as_array()) {
            let pick = list
                .iter()
                .find(|m| {
                    m.pointer("/platform/os").and_then(|v| v.as_str()) == Some("linux")
                        && m.pointer("/platform/architecture").and_then(|v| v.as_str())
                            == Some("amd64")
                })
                .or_else(|| list.first())
                .and_then(|m| m.get("digest")?.as_str())
                .ok_or_else(|| Error::Registry(format!("{}: an empty image index", manifest.url)))?
                .to_string();
            let inner = oci.get(&["manifests", &pick], OCI_ACCEPT).await?;
            doc = parse(&inner.url, &inner.body)?;
        }
        let config = doc
            .pointer("/config/digest")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                Error::Registry(format!("{}: the manifest has no config", manifest.url))
            })?
            .to_string();
        let blob = oci.get(&["blobs", &config], "*/*").await?;
        let cfg: serde_json::Value = parse(&blob.url, &blob.body)?;
        let label = cfg
            .pointer("/config/Labels")
            .and_then(|l| l.get(OCI_NAME_LABEL))
            .and_then(|v| v.as_str())
            .map(String::from);
        Ok((digest, label))
    }
    .await;
    match result {
        Err(e) => unreachable(e, "the image"),
        Ok((digest, label)) => {
            let ownership = match label {
                Some(l) if l == server => VetCheck::new(
                    VetOutcome::Ok,
                    format!("image label {OCI_NAME_LABEL} is {l}, the server's name"),
                ),
                Some(l) => VetCheck::new(
                    VetOutcome::Mismatch { found: l.clone() },
                    format!(
                        "image label {OCI_NAME_LABEL} is {l}, not {server}: the image may belong to another server"
                    ),
                ),
                None => VetCheck::new(
                    VetOutcome::Missing,
                    format!("the image has no {OCI_NAME_LABEL} label: ownership unproven"),
                ),
            };
            (
                ownership,
                Some(Checksum::Digest(digest)),
                "OCI manifest digest".into(),
                None,
            )
        }
    }
}

/// An OCI registry's `/v2/{repo}/...` API, with the anonymous token flow.
struct Oci<'a> {
    client: &'a RegistryClient,
    base: &'a str,
    repo: &'a str,
}

impl Oci<'_> {
    async fn get(&self, tail: &[&str], accept: &str) -> Result<super::client::Fetched> {
        let mut segments: Vec<&str> = self.repo.split('/').collect();
        segments.extend_from_slice(tail);
        let url = join(self.base, "v2", &segments)?;
        let headers = [("accept", accept.to_string())];
        let first = self.client.get(url.clone(), &headers, MAX_JSON).await?;
        if first.status != reqwest::StatusCode::UNAUTHORIZED {
            first.ok()?;
            return Ok(first);
        }
        // Anonymous pull: the challenge's realm gives a token.
        let challenge = first
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = self.token(challenge).await?;
        let headers = [
            ("accept", accept.to_string()),
            ("authorization", format!("Bearer {token}")),
        ];
        let again = self.client.get(url, &headers, MAX_JSON).await?;
        again.ok()?;
        Ok(again)
    }

    async fn token(&self, challenge: &str) -> Result<String> {
        let params = challenge.strip_prefix("Bearer ").ok_or_else(|| {
            Error::Registry(format!(
                "{}: the registry wants credentials Gatehouse does not have ({challenge:?})",
                self.base
            ))
        })?;
        let mut realm = None;
        let mut query = Vec::new();
        for part in params.split(',') {
            if let Some((k, v)) = part.trim().split_once('=') {
                let v = v.trim_matches('"');
                match k {
                    "realm" => realm = Some(v.to_string()),
                    "service" | "scope" => query.push((k.to_string(), v.to_string())),
                    _ => {}
                }
            }
        }
        let realm = realm.ok_or_else(|| {
            Error::Registry(format!("{}: a token challenge with no realm", self.base))
        })?;
        let mut url = url::Url::parse(&realm)
            .map_err(|e| Error::Registry(format!("{}: token realm {realm:?}: {e}", self.base)))?;
        url.query_pairs_mut().extend_pairs(query);
        let doc: serde_json::Value = self.client.get_json(url).await?;
        doc.get("token")
            .or_else(|| doc.get("access_token"))
            .and_then(|v| v.as_str())
            .map(String::from)
            .ok_or_else(|| Error::Registry(format!("{realm}: the token answer holds no token")))
    }
}

const MAX_JSON: usize = 16 << 20;

fn parse(url: &str, body: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(body).map_err(|e| {
        Error::Registry(format!(
            "GET {url}: the answer is not the JSON the API documents: {e}"
        ))
    })
}

/// MCPB: `fileSha256` present, and the downloaded file matches it.
async fn vet_mcpb(client: &RegistryClient, p: &Package) -> Vetted {
    let Some(expected) = p
        .file_sha256
        .as_deref()
        .map(str::to_ascii_lowercase)
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return (
            VetCheck::new(
                VetOutcome::Missing,
                "server.json gives no valid fileSha256 for the bundle: nothing to pin",
            ),
            None,
            "no checksum: fileSha256 missing".into(),
            None,
        );
    };
    let url = match url::Url::parse(&p.identifier) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => {
            return unreachable(
                Error::Registry(format!("{:?} is not a download URL", p.identifier)),
                "the bundle",
            );
        }
    };
    let fetched = match client.get(url, &[], MAX_MCPB_BYTES).await {
        Ok(f) => f,
        Err(e) => return unreachable(e, "the bundle"),
    };
    if let Err(e) = fetched.ok() {
        return unreachable(e, "the bundle");
    }
    let found = hex(&Sha256::digest(&fetched.body));
    let check = if found == expected {
        VetCheck::new(
            VetOutcome::Ok,
            "the downloaded bundle matches server.json's fileSha256",
        )
    } else {
        VetCheck::new(
            VetOutcome::Mismatch {
                found: found.clone(),
            },
            format!("the downloaded bundle's SHA-256 is {found}, but server.json says {expected}"),
        )
    };
    let ok = check.outcome.is_ok();
    (
        check,
        // A bundle that does not match is not pinned: installing it would
        // install bytes nobody vetted.
        ok.then(|| Checksum::Sha256(expected.clone())),
        if ok {
            "server.json fileSha256, matched by the download".into()
        } else {
            "no checksum: the download does not match fileSha256".into()
        },
        Some(p.identifier.clone()),
    )
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
