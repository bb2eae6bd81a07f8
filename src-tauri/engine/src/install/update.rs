//! "Check for updates" on a server's installed package: what a newer
//! version would change, shown before the person re-vets anything.
//!
//! A package pinned from a command line (`npx`/`uvx`) is compared with the
//! package registry's current version (version, checksum, download). A
//! server installed from the MCP Registry is compared with the registry's
//! newest active version, both vetted again
//! ([`crate::registry`]'s update check): besides the package, its
//! environment, arguments, transport, ownership and status.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Checksum, PackageSpec, resolve};
use crate::{Engine, Error, Result};

/// What a newer version of a server's pinned package would change, shown
/// before the person re-vets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UpdateCheck {
    /// The pinned package.
    pub current: PackageSpec,
    /// The package the newest version would install: the package
    /// registry's current version, or the package an install of the MCP
    /// Registry's newest version would pin. None when that version has no
    /// package Gatehouse can pin (a change says why).
    pub latest: Option<PackageSpec>,
    /// For a server installed from the MCP Registry: its name, the version
    /// installed and the registry's newest active version.
    pub registry: Option<RegistryUpdate>,
    /// Whether a newer version than the installed one is available.
    pub newer: bool,
    /// What would change, most fundamental first. Empty when nothing does.
    pub changes: Vec<UpdateChange>,
}

/// The MCP Registry's side of an update check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RegistryUpdate {
    /// The server's registry name.
    pub name: String,
    /// The server version installed.
    pub installed: String,
    /// The registry's newest active version; none when it lists none.
    pub latest: Option<String>,
}

/// One difference between the installed version and a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UpdateChange {
    /// What differs.
    pub kind: UpdateChangeKind,
    /// The environment variable concerned, for the `env_*` kinds.
    pub subject: Option<String>,
    /// How it is now, as shown to people; a secret's value never is.
    pub before: Option<String>,
    /// How it would be.
    pub after: Option<String>,
    /// One line for people.
    pub text: String,
}

impl UpdateChange {
    /// A change of `kind` from `before` to `after`, described by `text`.
    pub fn new(
        kind: UpdateChangeKind,
        before: Option<String>,
        after: Option<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            subject: None,
            before,
            after,
            text: text.into(),
        }
    }

    /// The same change, about `subject` (an environment variable).
    pub fn about(mut self, subject: &str) -> Self {
        self.subject = Some(subject.to_string());
        self
    }
}

/// What kind of difference an [`UpdateChange`] is, in the order changes
/// are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum UpdateChangeKind {
    /// The server's version in the MCP Registry.
    ServerVersion,
    /// The registry's status: the installed version is deprecated or
    /// deleted now, or no longer listed.
    Status,
    /// Another package altogether: its type or identifier differs, or the
    /// new version has none Gatehouse can install.
    Package,
    /// The package's version.
    PackageVersion,
    /// The checksum the package would be pinned to.
    Checksum,
    /// Where the package's file is downloaded from.
    Download,
    /// How a client talks to the server.
    Transport,
    /// The arguments given to the runtime (`node`, `python`...).
    RuntimeArguments,
    /// The arguments given to the package.
    PackageArguments,
    /// An environment variable the new version reads that this one does not.
    EnvAdded,
    /// One the new version no longer reads.
    EnvRemoved,
    /// One whose requirement, secrecy, default or choices differ.
    EnvChanged,
    /// Whether the package's ownership by the server checks out.
    Ownership,
}

/// A checksum as people read it: its value (the kind is in the spec).
fn checksum_text(checksum: &Checksum) -> &str {
    match checksum {
        Checksum::Integrity(v) | Checksum::Sha256(v) | Checksum::Digest(v) => v,
    }
}

/// The package-level differences between `current` and `latest`: version,
/// checksum and download URL.
pub(crate) fn spec_changes(current: &PackageSpec, latest: &PackageSpec) -> Vec<UpdateChange> {
    let mut out = Vec::new();
    if current.version != latest.version {
        out.push(UpdateChange::new(
            UpdateChangeKind::PackageVersion,
            Some(current.version.clone()),
            Some(latest.version.clone()),
            format!(
                "package version: {} \u{2192} {}",
                current.version, latest.version
            ),
        ));
    }
    if current.checksum != latest.checksum {
        let (before, after) = (
            checksum_text(&current.checksum),
            checksum_text(&latest.checksum),
        );
        out.push(UpdateChange::new(
            UpdateChangeKind::Checksum,
            Some(before.to_string()),
            Some(after.to_string()),
            format!("checksum: {before} \u{2192} {after}"),
        ));
    }
    if current.file_url != latest.file_url {
        let shown = |url: &Option<String>| {
            url.clone()
                .unwrap_or_else(|| "(from the registry)".to_string())
        };
        let (before, after) = (shown(&current.file_url), shown(&latest.file_url));
        out.push(UpdateChange::new(
            UpdateChangeKind::Download,
            Some(before.clone()),
            Some(after.clone()),
            format!("download: {before} \u{2192} {after}"),
        ));
    }
    out
}

impl Engine {
    /// "Check for updates" on `server`'s installed package. Installed from
    /// the MCP Registry: the registry's newest active version, vetted and
    /// compared with the installed one, vetted again (package, checksum,
    /// environment, arguments, transport, ownership, status). Pinned from
    /// a command line: the package registry's current version of the npm
    /// or PyPI package (version, checksum, download).
    pub fn package_updates(&self, server: String) -> Result<UpdateCheck> {
        let pin = {
            let store = self.store();
            store.server(&server)?;
            store.package_pin(&server)?
        }
        .ok_or_else(|| Error::InvalidSpec(format!("'{server}' runs no installed package")))?;
        if let Some(origin) = pin.registry.clone() {
            return self.registry_update_check(&pin.spec, &origin);
        }
        let sources = self.package_sources()?;
        let latest = resolve(&sources, pin.spec.kind, &pin.spec.identifier, None)?;
        let changes = spec_changes(&pin.spec, &latest);
        Ok(UpdateCheck {
            newer: !changes.is_empty(),
            current: pin.spec,
            latest: Some(latest),
            registry: None,
            changes,
        })
    }
}
