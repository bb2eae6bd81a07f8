//! npm and PyPI packages: ownership from the package registry's own
//! record (`mcpName`, `mcp-name:` in the description) and the checksum the
//! install will be pinned to.

use super::*;

/// npm: `GET {npm}/{identifier}/{version}`: `mcpName` and `dist.integrity`.
pub(super) async fn vet_npm(
    client: &RegistryClient,
    server: &str,
    p: &Package,
    version: &str,
) -> Vetted {
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
pub(super) async fn vet_pypi(
    client: &RegistryClient,
    server: &str,
    p: &Package,
    version: &str,
) -> Vetted {
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
