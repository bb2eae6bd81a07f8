//! OCI images: pinned by digest and run by digest (`docker run ...
//! image@sha256:...`), so the engine checks the content against the pin
//! when it pulls. Gatehouse has no image store of its own: the install
//! directory holds the reference, so the tree hash pins it and a changed
//! reference refuses the launch like any changed file.

use std::path::Path;

use super::{Checksum, Launch, PackageSpec};
use crate::{Error, Result};

/// The image reference an install runs: `identifier@sha256:<hex>`.
pub fn image_reference(spec: &PackageSpec) -> Result<String> {
    let Checksum::Digest(digest) = &spec.checksum else {
        return Err(Error::InvalidSpec(format!(
            "OCI image {} is pinned by {:?}; images are pinned by their digest (sha256:...)",
            spec.identifier, spec.checksum
        )));
    };
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(Error::InvalidSpec(format!(
            "{digest:?} is not an image digest (sha256: and 64 lowercase hex digits)"
        )));
    }
    // The identifier is the image without tag or digest.
    let last = spec.identifier.rsplit('/').next().unwrap_or_default();
    if spec.identifier.contains('@') || last.contains(':') {
        return Err(Error::InvalidSpec(format!(
            "{} carries a tag or digest; the pinned digest is the only one used",
            spec.identifier
        )));
    }
    Ok(format!("{}@{digest}", spec.identifier))
}

/// The launch of `spec`: `docker run -i --rm --pull missing IMAGE@DIGEST`,
/// stdio attached, and the reference recorded in `build`.
pub(super) fn install(spec: &PackageSpec, build: &Path) -> Result<Launch> {
    let reference = image_reference(spec)?;
    let record = serde_json::json!({ "image": reference }).to_string();
    let path = build.join("image.json");
    std::fs::write(&path, record).map_err(|e| Error::io(&path, e))?;
    let docker = super::find_program("docker")
        .map_or_else(|| "docker".to_string(), |p| p.display().to_string());
    Ok(Launch {
        command: docker,
        args: ["run", "-i", "--rm", "--pull", "missing", &reference]
            .map(str::to_string)
            .to_vec(),
        env: Default::default(),
    })
}
