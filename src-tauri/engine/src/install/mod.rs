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

mod engine;
mod fetch;
pub mod mcpb;
mod npm;
pub mod oci;
mod pin;
mod pypi;
pub mod testing;
#[cfg(test)]
mod tests;
pub mod tree;
mod update;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{DataDir, Error, Result};

pub use engine::{PackageStatus, RunnerPackage, resolve, runner_package};
pub use fetch::{sha256_hex, sri_sha512};
pub(crate) use pin::replace_package_pin;
pub use pin::{
    LastCheck, LaunchCheck, PackagePin, RegistryOrigin, mismatch_record, pin_key, verify,
};
pub(crate) use update::spec_changes;
pub use update::{RegistryUpdate, UpdateChange, UpdateChangeKind, UpdateCheck};

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

/// Where packages are downloaded from. Configurable, so a company mirror
/// (or a test's local server) can stand in for the public registries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The npm registry's base URL, e.g. `https://registry.npmjs.org`.
    pub npm: String,
    /// PyPI's base URL, e.g. `https://pypi.org` (its `/simple/` index and
    /// JSON API are below it).
    pub pypi: String,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            npm: crate::registry::DEFAULT_NPM_URL.into(),
            pypi: crate::registry::DEFAULT_PYPI_URL.into(),
        }
    }
}

impl From<&crate::registry::RegistryConfig> for Sources {
    fn from(cfg: &crate::registry::RegistryConfig) -> Self {
        Self {
            npm: cfg.npm_url.clone(),
            pypi: cfg.pypi_url.clone(),
        }
    }
}

/// What the installer is doing, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename = "InstallStep")]
pub enum Step {
    /// Fetching metadata or the artifact.
    Downloading,
    /// Checking a checksum.
    Verifying,
    /// Unpacking or installing into the build directory.
    Installing,
    /// Computing the tree hash.
    Hashing,
}

/// A package installed in Gatehouse's cache, and how to start it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// The install directory: `packages/<kind>/<identifier>@<version>`.
    pub path: PathBuf,
    /// The tree hash of everything in it (hex SHA-256): the server's pin.
    pub tree_hash: String,
    /// The program to launch.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables the launch needs (beyond the server's own).
    pub env: BTreeMap<String, String>,
}

/// How a kind's installer says to start what it installed.
struct Launch {
    command: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
}

/// The install directory of `spec` in `dir`'s cache.
pub fn cache_path(dir: &DataDir, spec: &PackageSpec) -> PathBuf {
    dir.root()
        .join("packages")
        .join(spec.kind.as_str())
        .join(format!(
            "{}@{}",
            spec.identifier.replace('/', "%2F").replace(':', "%3A"),
            spec.version
        ))
}

/// Checks that `spec` names one exact version by a name that is safe as a
/// folder name.
fn validate(spec: &PackageSpec) -> Result<()> {
    let name_ok = !spec.identifier.is_empty()
        && spec.identifier.len() <= 214
        && spec
            .identifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@/._-:".contains(c))
        && !spec.identifier.split('/').any(|p| p == ".." || p == ".");
    if !name_ok {
        return Err(Error::InvalidSpec(format!(
            "{:?} is not a package name Gatehouse installs",
            spec.identifier
        )));
    }
    let version_ok = !spec.version.is_empty()
        && spec.version != "latest"
        && spec
            .version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
        && spec
            .version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+-_".contains(c));
    if !version_ok {
        return Err(Error::InvalidSpec(format!(
            "{:?} is not an exact version; Gatehouse installs one vetted version, never a range or \"latest\"",
            spec.version
        )));
    }
    Ok(())
}

/// An artifact downloaded and checked against its pin.
enum Downloaded {
    Npm(npm::Verified),
    Pypi(pypi::Verified),
    Mcpb(Vec<u8>),
    /// Nothing is downloaded by Gatehouse: the engine pulls by digest.
    Oci,
}

/// Removes a directory when dropped, unless disarmed: a failed install
/// leaves nothing behind.
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// Downloads `spec`, verifies it against its pinned checksum before
/// anything is written or run, and installs it into `dir`'s cache
/// (`packages/<kind>/<identifier>@<version>/`). The install is built in a
/// temporary directory beside it, hashed, and renamed into place (over an
/// earlier install of the same version: a re-install); its manifest is
/// kept beside it. Install scripts never run.
pub fn install(
    dir: &DataDir,
    spec: &PackageSpec,
    sources: &Sources,
    mut progress: impl FnMut(Step),
) -> Result<Installed> {
    validate(spec)?;
    let progress: &mut dyn FnMut(Step) = &mut progress;
    let dest = cache_path(dir, spec);
    let fetcher = fetch::Fetcher::new()?;
    // Everything is downloaded and checked before the cache is touched.
    let verified = match spec.kind {
        PackageKind::Npm => Downloaded::Npm(npm::download(&fetcher, sources, spec, progress)?),
        PackageKind::Pypi => Downloaded::Pypi(pypi::download(&fetcher, spec, progress)?),
        PackageKind::Mcpb => Downloaded::Mcpb(mcpb::download(&fetcher, spec, progress)?),
        // Pulled by the container engine at launch, by digest.
        PackageKind::Oci => {
            oci::image_reference(spec)?;
            Downloaded::Oci
        }
    };
    let parent = dest.parent().expect("the cache path has a parent");
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    remove_stale(parent);
    let build = parent.join(format!(
        ".build-{}-{}",
        std::process::id(),
        crate::now_micros()
    ));
    std::fs::create_dir(&build).map_err(|e| Error::io(&build, e))?;
    let mut cleanup = Cleanup(Some(build.clone()));
    let npm_cache = dir.root().join("packages").join(".npm-cache");
    let launch = match &verified {
        Downloaded::Npm(v) => npm::install(v, sources, spec, &build, &dest, &npm_cache, progress)?,
        Downloaded::Pypi(v) => pypi::install(v, sources, spec, &build, &dest, progress)?,
        Downloaded::Mcpb(bytes) => {
            progress(Step::Installing);
            mcpb::install(bytes, &build, &dest)?
        }
        Downloaded::Oci => oci::install(spec, &build)?,
    };

    progress(Step::Hashing);
    let manifest = tree::manifest(&build)?;
    let manifest_path = tree::manifest_path(&dest);
    let manifest_tmp = build.with_extension("manifest");
    std::fs::write(&manifest_tmp, manifest.to_text()).map_err(|e| Error::io(&manifest_tmp, e))?;
    // A re-install replaces the old tree: moved aside, then removed.
    let old = parent.join(format!(
        ".old-{}-{}",
        std::process::id(),
        crate::now_micros()
    ));
    let had_old = dest.exists();
    if had_old {
        std::fs::rename(&dest, &old).map_err(|e| Error::io(&dest, e))?;
    }
    if let Err(e) = std::fs::rename(&build, &dest) {
        if had_old {
            let _ = std::fs::rename(&old, &dest);
        }
        let _ = std::fs::remove_file(&manifest_tmp);
        return Err(Error::io(&dest, e));
    }
    cleanup.0 = None;
    std::fs::rename(&manifest_tmp, &manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(Installed {
        path: dest,
        tree_hash: manifest.hash(),
        command: launch.command,
        args: launch.args,
        env: launch.env,
    })
}

/// How old a build or set-aside folder must be before a later install
/// removes it: older than any install still running.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes what installs that were killed left in `parent` (`.build-*`,
/// `.old-*` and their files) once it is a day old. Best effort.
fn remove_stale(parent: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".build-") || name.starts_with(".old-")) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if stale {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// `name` found on `PATH`, as an absolute path: the launch does not depend
/// on the client's `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
