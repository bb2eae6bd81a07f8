//! The MCP Registry's data: `server.json` (the publisher's description of a
//! server) and the registry's answers around it, as the v0.1 API documents
//! them. Unknown fields are ignored, so a newer registry still parses; the
//! fields Gatehouse reads are typed.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::install::PackageKind;

/// A server's `server.json`: what the publisher says the server is and how
/// to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ServerJson {
    /// The server's name in the registry: `NAMESPACE/NAME`, e.g.
    /// `io.github.user/weather` or `com.example/tools`.
    pub name: String,
    /// What the server does.
    #[serde(default)]
    pub description: String,
    /// A human-friendly title, when the publisher gave one.
    #[serde(default)]
    pub title: Option<String>,
    /// The server's version (of `server.json`, usually the package's).
    pub version: String,
    /// The server's web site.
    #[serde(default)]
    pub website_url: Option<String>,
    /// Where its source lives.
    #[serde(default)]
    pub repository: Option<Repository>,
    /// The packages that run it locally.
    #[serde(default)]
    pub packages: Vec<Package>,
    /// The remote endpoints it is reachable at.
    #[serde(default)]
    pub remotes: Vec<Remote>,
}

/// A server's source repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Repository {
    /// The repository's URL.
    #[serde(default)]
    pub url: String,
    /// The hosting service, e.g. `github`.
    #[serde(default)]
    pub source: Option<String>,
    /// The host's id of the repository.
    #[serde(default)]
    pub id: Option<String>,
    /// The folder of a monorepo that holds the server.
    #[serde(default)]
    pub subfolder: Option<String>,
}

/// One package that runs the server locally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Package {
    /// `npm`, `pypi`, `oci`, `mcpb` (or another type Gatehouse cannot install,
    /// such as `nuget`).
    pub registry_type: String,
    /// The package registry's base URL, when the publisher named one.
    #[serde(default)]
    pub registry_base_url: Option<String>,
    /// The package's name (npm, PyPI), image reference (OCI) or download URL
    /// (MCPB).
    pub identifier: String,
    /// The package's version. Absent for OCI images that carry a tag or
    /// digest in the identifier, and for MCPB files.
    #[serde(default)]
    pub version: Option<String>,
    /// The SHA-256 of an MCPB file, in hex.
    #[serde(default)]
    pub file_sha256: Option<String>,
    /// How a client talks to it once started.
    #[serde(default)]
    pub transport: Option<PackageTransport>,
    /// The runtime to start it with, e.g. `npx`, `uvx`, `docker`.
    #[serde(default)]
    pub runtime_hint: Option<String>,
    /// Arguments for the runtime (before the package).
    #[serde(default)]
    pub runtime_arguments: Vec<Argument>,
    /// Arguments for the package itself.
    #[serde(default)]
    pub package_arguments: Vec<Argument>,
    /// The environment variables it reads.
    #[serde(default)]
    pub environment_variables: Vec<KeyValueInput>,
}

impl Package {
    /// The kind Gatehouse's installer knows this package as, if any.
    pub fn kind(&self) -> Option<PackageKind> {
        match self.registry_type.as_str() {
            "npm" => Some(PackageKind::Npm),
            "pypi" => Some(PackageKind::Pypi),
            "oci" => Some(PackageKind::Oci),
            "mcpb" => Some(PackageKind::Mcpb),
            _ => None,
        }
    }
}

/// A package's transport: `stdio`, `streamable-http` or `sse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PackageTransport {
    /// `stdio`, `streamable-http` or `sse`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The URL of an HTTP transport (may hold `{variables}`).
    #[serde(default)]
    pub url: Option<String>,
    /// The headers an HTTP transport needs.
    #[serde(default)]
    pub headers: Vec<KeyValueInput>,
}

/// A remote endpoint of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Remote {
    /// `streamable-http` or `sse`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The endpoint's URL.
    pub url: String,
    /// The headers it needs.
    #[serde(default)]
    pub headers: Vec<KeyValueInput>,
}

/// A runtime or package argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Argument {
    /// `positional` or `named`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A named argument's flag, e.g. `--port`.
    #[serde(default)]
    pub name: Option<String>,
    /// A positional argument's placeholder, for people.
    #[serde(default)]
    pub value_hint: Option<String>,
    /// The value to pass (may hold `{variables}`).
    #[serde(default)]
    pub value: Option<String>,
    /// The value when the person gives none.
    #[serde(default)]
    pub default: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it must be given.
    #[serde(default)]
    pub is_required: bool,
    /// Whether its value is a secret.
    #[serde(default)]
    pub is_secret: bool,
    /// Whether it may be given more than once.
    #[serde(default)]
    pub is_repeated: bool,
    /// The allowed values, if limited.
    #[serde(default)]
    pub choices: Vec<String>,
    /// `string`, `number`, `boolean` or `filepath`.
    #[serde(default)]
    pub format: Option<String>,
}

/// An environment variable or header the server reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct KeyValueInput {
    /// The variable's or header's name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the server needs it.
    #[serde(default)]
    pub is_required: bool,
    /// Whether its value is a secret (kept in the OS keychain).
    #[serde(default)]
    pub is_secret: bool,
    /// The value when the person gives none.
    #[serde(default)]
    pub default: Option<String>,
    /// A fixed value (may hold `{variables}`).
    #[serde(default)]
    pub value: Option<String>,
    /// The allowed values, if limited.
    #[serde(default)]
    pub choices: Vec<String>,
    /// `string`, `number`, `boolean` or `filepath`.
    #[serde(default)]
    pub format: Option<String>,
}

/// What the registry says of a published version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Status {
    /// Listed and installable.
    Active,
    /// Its publisher advises against it: labelled, not installable by default.
    Deprecated,
    /// Withdrawn (e.g. malicious or broken): labelled, not installable by default.
    Deleted,
    /// A status this Gatehouse does not know: treated like `deleted`.
    #[serde(other)]
    Unknown,
}

impl Status {
    /// Whether a version with this status may be installed without the
    /// person's explicit say-so.
    pub fn installable(self) -> bool {
        self == Status::Active
    }

    /// The lowercase word the registry uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Deprecated => "deprecated",
            Status::Deleted => "deleted",
            Status::Unknown => "unknown",
        }
    }
}

/// One published version of a server, as the registry lists it: its
/// `server.json` and the registry's own metadata about it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RegistryEntry {
    /// The publisher's `server.json`.
    pub server: ServerJson,
    /// The registry's status for this version. An entry with no official
    /// metadata is `unknown`, so it is not installable by default.
    pub status: Status,
    /// When it was published (RFC 3339), as the registry says.
    pub published_at: Option<String>,
    /// When the registry last changed it (RFC 3339).
    pub updated_at: Option<String>,
    /// Whether it is the server's latest version.
    pub is_latest: bool,
    /// Why its status changed, when the registry says.
    pub status_message: Option<String>,
}

/// One page of registry entries and the cursor of the next.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ServerPage {
    /// The entries on this page.
    pub servers: Vec<RegistryEntry>,
    /// The cursor for the next page; null on the last.
    pub next_cursor: Option<String>,
}

// --- The wire shapes, as the API sends them -------------------------------

/// `ServerResponse`: `{"server": {...}, "_meta": {...}}`.
#[derive(Deserialize)]
pub(crate) struct WireEntry {
    server: ServerJson,
    #[serde(rename = "_meta", default)]
    meta: WireMeta,
}

#[derive(Deserialize, Default)]
struct WireMeta {
    #[serde(rename = "io.modelcontextprotocol.registry/official", default)]
    official: Option<WireOfficial>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOfficial {
    #[serde(default = "unknown_status")]
    status: Status,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    is_latest: bool,
    #[serde(default)]
    status_message: Option<String>,
}

fn unknown_status() -> Status {
    Status::Unknown
}

/// `ServerListResponse`: `{"servers": [...], "metadata": {"nextCursor", "count"}}`.
#[derive(Deserialize)]
pub(crate) struct WireList {
    servers: Vec<WireEntry>,
    #[serde(default)]
    metadata: WireListMeta,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireListMeta {
    #[serde(default)]
    next_cursor: Option<String>,
}

impl From<WireEntry> for RegistryEntry {
    fn from(w: WireEntry) -> Self {
        match w.meta.official {
            Some(o) => RegistryEntry {
                server: w.server,
                status: o.status,
                published_at: o.published_at,
                updated_at: o.updated_at,
                is_latest: o.is_latest,
                status_message: o.status_message,
            },
            None => RegistryEntry {
                server: w.server,
                status: Status::Unknown,
                published_at: None,
                updated_at: None,
                is_latest: false,
                status_message: None,
            },
        }
    }
}

impl From<WireList> for ServerPage {
    fn from(w: WireList) -> Self {
        ServerPage {
            servers: w.servers.into_iter().map(RegistryEntry::from).collect(),
            // An empty cursor means the end, like an absent one.
            next_cursor: w.metadata.next_cursor.filter(|c| !c.is_empty()),
        }
    }
}
