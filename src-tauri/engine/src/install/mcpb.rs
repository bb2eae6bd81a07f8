//! MCP bundles (`.mcpb`): a zip checked against its pinned `fileSha256`,
//! unpacked into the cache (no entry may leave the folder, no links), and
//! launched as its `manifest.json`'s `server.mcp_config` says, with
//! `${__dirname}` the install directory.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::fetch::{Fetcher, sha256_hex};
use super::{Checksum, Launch, PackageSpec, Step};
use crate::{Error, Result};

/// The most a bundle may unpack to.
const MAX_UNPACKED: u64 = 1 << 30;

/// Downloads the bundle and checks its SHA-256; nothing written.
pub(super) fn download(
    fetcher: &Fetcher,
    spec: &PackageSpec,
    progress: &mut dyn FnMut(Step),
) -> Result<Vec<u8>> {
    let Checksum::Sha256(pinned) = &spec.checksum else {
        return Err(Error::InvalidSpec(format!(
            "bundle {} is pinned by {:?}; bundles are pinned by their fileSha256",
            spec.identifier, spec.checksum
        )));
    };
    let Some(url) = &spec.file_url else {
        return Err(Error::InvalidSpec(format!(
            "bundle {}@{} names no file to download",
            spec.identifier, spec.version
        )));
    };
    progress(Step::Downloading);
    let bytes = fetcher.get(url)?;
    progress(Step::Verifying);
    let found = sha256_hex(&bytes);
    if !found.eq_ignore_ascii_case(pinned.trim()) {
        return Err(Error::InvalidSpec(format!(
            "checksum mismatch: {url} hashes to sha256 {found}, not the vetted {pinned}; nothing was installed"
        )));
    }
    Ok(bytes)
}

/// Unpacks `bytes` into `build` and reads the launch from its manifest.
pub(super) fn install(bytes: &[u8], build: &Path, dest: &Path) -> Result<Launch> {
    unpack(bytes, build)?;
    let path = build.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        Error::InvalidSpec("the bundle has no manifest.json at its root".to_string())
    })?;
    let manifest: Value = serde_json::from_str(&text)
        .map_err(|e| Error::InvalidSpec(format!("the bundle's manifest.json is not JSON: {e}")))?;
    launch_of(&manifest, dest)
}

/// Unpacks a zip into `dir`, refusing entries that would land outside it,
/// links, and archives that unpack to more than 1 GiB.
pub fn unpack(bytes: &[u8], dir: &Path) -> Result<()> {
    let bad = |why: String| Error::InvalidSpec(format!("the bundle is refused: {why}"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("not a zip file ({e})")))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| bad(format!("entry {i} cannot be read ({e})")))?;
        let name = entry.name().to_string();
        let Some(rel) = entry.enclosed_name() else {
            return Err(bad(format!("{name:?} would be written outside its folder")));
        };
        if entry.is_symlink() {
            return Err(bad(format!("{name:?} is a link")));
        }
        let out = dir.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&out)
            .map_err(|e| Error::io(&out, e))?;
        let left = MAX_UNPACKED - total;
        let copied = std::io::copy(&mut (&mut entry).take(left + 1), &mut file)
            .map_err(|e| bad(format!("{name:?} cannot be unpacked ({e})")))?;
        total += copied;
        if total > MAX_UNPACKED {
            return Err(bad("it unpacks to more than 1 GiB".into()));
        }
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io(&out, e))?;
        }
    }
    Ok(())
}

/// The command of a bundle manifest's `server.mcp_config`.
fn launch_of(manifest: &Value, dest: &Path) -> Result<Launch> {
    let config = &manifest["server"]["mcp_config"];
    let Some(command) = config["command"].as_str() else {
        return Err(Error::InvalidSpec(
            "the bundle's manifest.json has no server.mcp_config.command".into(),
        ));
    };
    let dirname = dest.display().to_string();
    let fill = |s: &str| s.replace("${__dirname}", &dirname);
    let command = if command.contains('/') || command.contains("${__dirname}") {
        fill(command)
    } else {
        super::find_program(command)
            .map_or_else(|| command.to_string(), |p| p.display().to_string())
    };
    let args = config["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(fill)
        .collect();
    let env = config["env"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), fill(v.as_str()?))))
        .collect();
    Ok(Launch { command, args, env })
}
