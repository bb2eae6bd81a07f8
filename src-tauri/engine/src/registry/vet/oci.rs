//! OCI images: the reference, the manifest's digest and the config blob's
//! server-name label, through the registry's anonymous token flow.

use super::*;

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
pub(super) async fn vet_oci(client: &RegistryClient, server: &str, p: &Package) -> Vetted {
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
    async fn get(&self, tail: &[&str], accept: &str) -> Result<crate::registry::client::Fetched> {
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
