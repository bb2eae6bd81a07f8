//! MCP bundles: the download checked against its `fileSha256`.

use super::*;

/// MCPB: `fileSha256` present, and the downloaded file matches it.
pub(super) async fn vet_mcpb(client: &RegistryClient, p: &Package) -> Vetted {
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
