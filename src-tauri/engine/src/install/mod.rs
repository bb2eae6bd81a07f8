//! Pinned installs: Gatehouse downloads a server's package itself, checks it
//! against the checksum that was vetted, installs it into its own cache and
//! launches it from there, never letting `npx -y` or `uvx` resolve afresh.
//!
//! [`PackageSpec`] is what the registry client's vetting report hands to the
//! installer: one exact version of one package and its pinned checksum.
//!
//! The installed tree is pinned by its hash ([`tree`]): the store's `pins`
//! row of kind `package` links a server to its install ([`PackagePin`]),
//! and every launch first re-hashes the tree and refuses to start a server
//! whose files differ ([`Store::package_check`](crate::Store::package_check)),
//! naming the first changed, added or removed file.

mod pin;
#[cfg(test)]
mod tests;
pub mod tree;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use pin::{LaunchCheck, PackagePin, mismatch_record, pin_key, verify};

/// Where a package comes from, as the MCP Registry's `registryType` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum PackageKind {
    /// An npm package, run with Node.
    Npm,
    /// A PyPI distribution, run from a virtual environment.
    Pypi,
    /// An OCI image, run by digest with Docker.
    Oci,
    /// An MCP bundle (`.mcpb`, a zip with a `manifest.json`).
    Mcpb,
}

impl PackageKind {
    /// The kind's name, as in the registry's `registryType` and pin keys.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Npm => "npm",
            PackageKind::Pypi => "pypi",
            PackageKind::Oci => "oci",
            PackageKind::Mcpb => "mcpb",
        }
    }
}

/// The checksum a package is pinned to. Nothing runs unless the downloaded
/// bytes match it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
#[ts(export)]
pub enum Checksum {
    /// npm's Subresource Integrity string, e.g. `sha512-<base64>`.
    Integrity(String),
    /// A SHA-256 in lowercase hex (a PyPI file, an MCPB's `fileSha256`).
    Sha256(String),
    /// An OCI image digest, `sha256:<hex>`.
    Digest(String),
}

/// One exact version of one package and the checksum it was vetted with:
/// what the registry client produces and the installer installs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PackageSpec {
    /// Which package registry (or bundle format) it comes from.
    pub kind: PackageKind,
    /// The package's name in that registry (npm name, PyPI project, image
    /// reference without tag or digest, or the bundle's name).
    pub identifier: String,
    /// The exact version, never a range or "latest".
    pub version: String,
    /// The pinned checksum of the artifact.
    pub checksum: Checksum,
    /// The artifact's URL where the registry names one file: the chosen
    /// PyPI file (a wheel when there is one) or the MCPB bundle.
    pub file_url: Option<String>,
}
