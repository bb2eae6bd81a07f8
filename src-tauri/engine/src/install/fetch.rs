//! Downloads for the installer, and the checksums they are held to.

use std::sync::Once;
use std::time::Duration;

use sha2::{Digest, Sha256, Sha512};

use crate::{Error, Result};

/// The largest artifact (or metadata document) downloaded.
const MAX_BYTES: usize = 256 << 20;

/// A plain HTTP(S) client: rustls with ring, the system's roots.
pub(super) struct Fetcher {
    http: reqwest::Client,
}

impl Fetcher {
    pub(super) fn new() -> Result<Self> {
        static PROVIDER: Once = Once::new();
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http = reqwest::Client::builder()
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| Error::Registry(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self { http })
    }

    /// GETs `url` whole (at most 256 MiB); any status but 2xx is an error
    /// naming the URL.
    pub(super) fn get(&self, url: &str) -> Result<Vec<u8>> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::Registry(format!("{url:?} is not a valid URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Registry(format!(
                "{url} is not an http(s) URL; Gatehouse downloads packages over HTTPS"
            )));
        }
        let http = &self.http;
        crate::registry::block_on(async move {
            let fail = |e: reqwest::Error| Error::Registry(format!("GET {url}: {e}"));
            let mut resp = http.get(parsed).send().await.map_err(fail)?;
            if !resp.status().is_success() {
                return Err(Error::Registry(format!(
                    "GET {url}: HTTP {}",
                    resp.status()
                )));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(fail)? {
                if body.len() + chunk.len() > MAX_BYTES {
                    return Err(Error::Registry(format!(
                        "GET {url}: larger than {} MiB; refused",
                        MAX_BYTES >> 20
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })?
    }

    /// GETs `url` and parses it as JSON.
    pub(super) fn get_json(&self, url: &str) -> Result<serde_json::Value> {
        let body = self.get(url)?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::Registry(format!("GET {url}: not JSON: {e}")))
    }
}

/// Whether `bytes` match the Subresource Integrity string `sri` (npm's
/// `dist.integrity`): the first of its `sha512-`/`sha256-` hashes is
/// checked; an SRI with neither is refused.
pub(super) fn sri_matches(sri: &str, bytes: &[u8]) -> Result<bool> {
    for part in sri.split_whitespace() {
        if let Some(b64) = part.strip_prefix("sha512-") {
            return Ok(base64(&Sha512::digest(bytes)) == b64);
        }
        if let Some(b64) = part.strip_prefix("sha256-") {
            return Ok(base64(&Sha256::digest(bytes)) == b64);
        }
    }
    Err(Error::InvalidSpec(format!(
        "the integrity {sri:?} has no sha512 or sha256 hash; Gatehouse cannot verify it"
    )))
}

/// The SRI string of `bytes` (`sha512-<base64>`).
pub fn sri_sha512(bytes: &[u8]) -> String {
    format!("sha512-{}", base64(&Sha512::digest(bytes)))
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    super::tree::hex(&Sha256::digest(bytes))
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn sri_checks_the_bytes() {
        // `printf hello | openssl dgst -sha512 -binary | base64`
        let sri = "sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==";
        assert!(sri_matches(sri, b"hello").unwrap());
        assert!(!sri_matches(sri, b"hellO").unwrap());
        assert_eq!(sri_sha512(b"hello"), sri);
        assert!(sri_matches("md5-xyz", b"hello").is_err());
    }
}
