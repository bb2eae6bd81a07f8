//! PyPI: the chosen wheel checked against its pinned SHA-256, its
//! dependencies downloaded as wheels and hashed into a requirements file,
//! everything installed with `pip --require-hashes --no-index` into the
//! cache, and the console script's entry point launched with the system's
//! Python in isolated mode, never `uvx pkg`.
//!
//! The install is a `pip --target` folder rather than a virtual
//! environment: a venv holds absolute paths (its interpreter is a link out
//! of the tree, its scripts' shebangs name the build folder), so it could
//! neither be renamed into place nor pass the tree check. Python runs with
//! `-I` (no user site, no environment variables) and `-B` (no bytecode
//! written into the cache, which would change the tree).

use std::path::Path;
use std::process::Command;

use super::fetch::{Fetcher, sha256_hex};
use super::{Checksum, Launch, PackageSpec, Sources, Step};
use crate::{Error, Result};

/// The wheel, downloaded and verified; nothing written yet.
pub(super) struct Verified {
    filename: String,
    bytes: Vec<u8>,
}

/// Downloads `spec.file_url` and checks its SHA-256.
pub(super) fn download(
    fetcher: &Fetcher,
    spec: &PackageSpec,
    progress: &mut dyn FnMut(Step),
) -> Result<Verified> {
    let Checksum::Sha256(pinned) = &spec.checksum else {
        return Err(Error::InvalidSpec(format!(
            "PyPI package {} is pinned by {:?}; PyPI files are pinned by their SHA-256",
            spec.identifier, spec.checksum
        )));
    };
    let Some(url) = &spec.file_url else {
        return Err(Error::InvalidSpec(format!(
            "PyPI package {}@{} names no file to download",
            spec.identifier, spec.version
        )));
    };
    let filename = url
        .split(['?', '#'])
        .next()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default()
        .to_string();
    if !filename.ends_with(".whl") || filename.contains(['\\', '\0']) || filename.starts_with('.') {
        return Err(Error::InvalidSpec(format!(
            "{url} is not a wheel; Gatehouse installs PyPI packages from wheels only (a source archive runs code to build)"
        )));
    }
    progress(Step::Downloading);
    let bytes = fetcher.get(url)?;
    progress(Step::Verifying);
    let found = sha256_hex(&bytes);
    if !found.eq_ignore_ascii_case(pinned.trim()) {
        return Err(Error::InvalidSpec(format!(
            "checksum mismatch: {url} hashes to sha256 {found}, not the vetted {pinned}; nothing was installed"
        )));
    }
    Ok(Verified { filename, bytes })
}

/// Installs the verified wheel and its dependencies into `build/lib`.
pub(super) fn install(
    verified: &Verified,
    sources: &Sources,
    spec: &PackageSpec,
    build: &Path,
    dest: &Path,
    progress: &mut dyn FnMut(Step),
) -> Result<Launch> {
    progress(Step::Installing);
    let python = super::find_program("python3").ok_or_else(|| {
        Error::InvalidSpec("Python (`python3`) is not installed; PyPI servers need it".into())
    })?;
    // Downloads live beside the build folder, not in the tree.
    let wheels = build.with_extension("wheels");
    std::fs::create_dir_all(&wheels).map_err(|e| Error::io(&wheels, e))?;
    let _cleanup = super::Cleanup(Some(wheels.clone()));
    let wheel = wheels.join(&verified.filename);
    std::fs::write(&wheel, &verified.bytes).map_err(|e| Error::io(&wheel, e))?;
    let index = format!("{}/simple/", sources.pypi.trim_end_matches('/'));
    pip(
        &python,
        &[
            "download",
            "--only-binary=:all:",
            "--index-url",
            &index,
            "--dest",
            &wheels.display().to_string(),
            &wheel.display().to_string(),
        ],
    )?;

    // Every file, hashed: the pinned wheel by its vetted hash.
    let mut requirements = String::new();
    let mut entries: Vec<_> = std::fs::read_dir(&wheels)
        .map_err(|e| Error::io(&wheels, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in &entries {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let Some((project, version)) = wheel_name(&name) else {
            return Err(Error::InvalidSpec(format!(
                "pip downloaded {name}, which is not a wheel; refused"
            )));
        };
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        requirements.push_str(&format!(
            "{project}=={version} --hash=sha256:{}\n",
            sha256_hex(&bytes)
        ));
    }
    let req = build.join("requirements.txt");
    std::fs::write(&req, &requirements).map_err(|e| Error::io(&req, e))?;
    let lib = build.join("lib");
    pip(
        &python,
        &[
            "install",
            "--require-hashes",
            "--no-deps",
            "--no-index",
            "--no-compile",
            "--disable-pip-version-check",
            "--find-links",
            &wheels.display().to_string(),
            "--target",
            &lib.display().to_string(),
            "-r",
            &req.display().to_string(),
        ],
    )?;
    let entry = entry_point(&lib, spec)?;
    let dest_lib = dest.join("lib").display().to_string();
    let (module, attr) = entry.split_once(':').unwrap_or((entry.as_str(), ""));
    let code = format!(
        "import sys, importlib; sys.path.insert(0, {lib}); f = importlib.import_module({module})\nfor a in {attrs}: f = getattr(f, a)\nsys.exit(f())",
        lib = serde_json::to_string(&dest_lib).expect("a string serializes"),
        module = serde_json::to_string(module.trim()).expect("a string serializes"),
        attrs = serde_json::to_string(
            &attr
                .trim()
                .split('.')
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
        )
        .expect("strings serialize"),
    );
    Ok(Launch {
        command: python.display().to_string(),
        args: vec!["-I".into(), "-B".into(), "-c".into(), code],
        env: Default::default(),
    })
}

fn pip(python: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new(python)
        .args(["-m", "pip"])
        .args(args)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .output()
        .map_err(|e| Error::InvalidSpec(format!("cannot run pip: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.trim().lines().rev().take(8).collect();
        return Err(Error::InvalidSpec(format!(
            "`pip {}` failed ({}): {}",
            args[0],
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    Ok(())
}

/// `(project, version)` of a wheel's file name.
fn wheel_name(file: &str) -> Option<(&str, &str)> {
    let stem = file.strip_suffix(".whl")?;
    let mut parts = stem.split('-');
    Some((parts.next()?, parts.next()?))
}

/// The console script to run: the only one, or the one named like the
/// project.
fn entry_point(lib: &Path, spec: &PackageSpec) -> Result<String> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '.'], "_");
    let wanted = norm(&spec.identifier);
    let dist_info = std::fs::read_dir(lib)
        .map_err(|e| Error::io(lib, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".dist-info") && norm(name.split('-').next().unwrap_or("")) == wanted
        })
        .ok_or_else(|| {
            Error::InvalidSpec(format!(
                "{} installed no .dist-info folder",
                spec.identifier
            ))
        })?;
    let path = dist_info.join("entry_points.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut in_scripts = false;
    let mut scripts = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_scripts = line == "[console_scripts]";
        } else if in_scripts && let Some((name, target)) = line.split_once('=') {
            scripts.push((name.trim().to_string(), target.trim().to_string()));
        }
    }
    let chosen = if scripts.len() == 1 {
        scripts.pop()
    } else {
        scripts.into_iter().find(|(n, _)| norm(n) == wanted)
    };
    chosen.map(|(_, target)| target).ok_or_else(|| {
        Error::InvalidSpec(format!(
            "{} declares no console script Gatehouse can start (none, or several and none named like it)",
            spec.identifier
        ))
    })
}

/// The exact version (`wanted`, or the current one) of a PyPI project and
/// its wheel's URL and SHA-256, from the JSON API.
pub(super) fn resolve(
    fetcher: &Fetcher,
    sources: &Sources,
    name: &str,
    wanted: Option<&str>,
) -> Result<PackageSpec> {
    let base = sources.pypi.trim_end_matches('/');
    let url = match wanted {
        Some(v) => format!("{base}/pypi/{name}/{v}/json"),
        None => format!("{base}/pypi/{name}/json"),
    };
    let meta = fetcher.get_json(&url)?;
    let Some(version) = meta["info"]["version"].as_str() else {
        return Err(Error::Registry(format!("GET {url}: no info.version")));
    };
    let wheel = meta["urls"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["packagetype"] == "bdist_wheel" && f["yanked"] != true)
        .ok_or_else(|| {
            Error::Registry(format!(
                "GET {url}: {name} {version} has no wheel; Gatehouse installs PyPI packages from wheels only"
            ))
        })?;
    let (Some(file_url), Some(sha256)) =
        (wheel["url"].as_str(), wheel["digests"]["sha256"].as_str())
    else {
        return Err(Error::Registry(format!(
            "GET {url}: the wheel has no url or sha256"
        )));
    };
    Ok(PackageSpec {
        kind: super::PackageKind::Pypi,
        identifier: name.to_string(),
        version: version.to_string(),
        checksum: Checksum::Sha256(sha256.to_string()),
        file_url: Some(file_url.to_string()),
    })
}
