//! The HTTP side: the official MCP Registry's v0.1 API, and plain GETs of
//! the package registries' metadata for vetting. Every error names the URL
//! and what went wrong (unreachable host, HTTP status, a body that is not the
//! documented JSON), and nothing is guessed: a failed request fails the call.

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use super::model::{RegistryEntry, ServerPage, WireEntry, WireList};
use crate::{Error, Result, Store};

/// The official MCP Registry.
pub const DEFAULT_REGISTRY_URL: &str = "https://registry.modelcontextprotocol.io";
/// The public npm registry.
pub const DEFAULT_NPM_URL: &str = "https://registry.npmjs.org";
/// The Python Package Index.
pub const DEFAULT_PYPI_URL: &str = "https://pypi.org";

/// Setting: the MCP Registry's base URL (a company may run its own).
pub const REGISTRY_URL_SETTING: &str = "registry.url";
/// Setting: the npm registry's base URL.
pub const NPM_URL_SETTING: &str = "registry.npm_url";
/// Setting: PyPI's base URL.
pub const PYPI_URL_SETTING: &str = "registry.pypi_url";
/// Setting: one OCI registry base URL that replaces every image's host
/// (a mirror; tests point it at a local server).
pub const OCI_URL_SETTING: &str = "registry.oci_url";

/// The largest JSON answer read: registry pages and package metadata are
/// far smaller; anything bigger is refused rather than buffered.
const MAX_JSON_BYTES: usize = 16 << 20;

/// Where the registries are, and how long to wait for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// The MCP Registry's base URL.
    pub registry_url: String,
    /// The npm registry's base URL.
    pub npm_url: String,
    /// PyPI's base URL.
    pub pypi_url: String,
    /// An OCI registry that replaces every image's host, if set.
    pub oci_url: Option<String>,
    /// The longest one request may take.
    pub timeout: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            registry_url: DEFAULT_REGISTRY_URL.into(),
            npm_url: DEFAULT_NPM_URL.into(),
            pypi_url: DEFAULT_PYPI_URL.into(),
            oci_url: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl RegistryConfig {
    /// The settings in `store`, each overridden by its environment variable
    /// when set: `GATEHOUSE_REGISTRY_URL`, `GATEHOUSE_NPM_URL`,
    /// `GATEHOUSE_PYPI_URL`, `GATEHOUSE_OCI_URL`.
    pub fn load(store: &Store) -> Result<Self> {
        let pick = |env: &str, setting: &str| -> Result<Option<String>> {
            match std::env::var(env) {
                Ok(v) if !v.is_empty() => Ok(Some(v)),
                _ => store.setting(setting),
            }
        };
        let mut cfg = Self::default();
        if let Some(v) = pick("GATEHOUSE_REGISTRY_URL", REGISTRY_URL_SETTING)? {
            cfg.registry_url = v;
        }
        if let Some(v) = pick("GATEHOUSE_NPM_URL", NPM_URL_SETTING)? {
            cfg.npm_url = v;
        }
        if let Some(v) = pick("GATEHOUSE_PYPI_URL", PYPI_URL_SETTING)? {
            cfg.pypi_url = v;
        }
        cfg.oci_url = pick("GATEHOUSE_OCI_URL", OCI_URL_SETTING)?;
        Ok(cfg)
    }
}

/// A client of the MCP Registry and of the package registries it points to.
pub struct RegistryClient {
    http: reqwest::Client,
    cfg: RegistryConfig,
}

/// A GET's answer: status, headers and body, read whole (within a cap).
pub(crate) struct Fetched {
    /// The final URL, for messages.
    pub url: String,
    /// The HTTP status.
    pub status: reqwest::StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl RegistryClient {
    /// A client for `cfg`. TLS is rustls with the system's roots.
    pub fn new(cfg: RegistryConfig) -> Result<Self> {
        static PROVIDER: Once = Once::new();
        // Another part of the process may have installed one already: fine.
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http = reqwest::Client::builder()
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10).min(cfg.timeout))
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| Error::Registry(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self { http, cfg })
    }

    /// The configuration it uses.
    pub fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    /// `GET /v0.1/servers`: one page of servers whose name matches `search`
    /// (all when empty), from `cursor`, at most `limit`, of `version` (e.g.
    /// `latest`; all versions when `None`).
    pub async fn search(
        &self,
        search: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
        version: Option<&str>,
    ) -> Result<ServerPage> {
        let mut url = self.registry_url(&["servers"])?;
        {
            let mut q = url.query_pairs_mut();
            if !search.is_empty() {
                q.append_pair("search", search);
            }
            if let Some(c) = cursor {
                q.append_pair("cursor", c);
            }
            if let Some(l) = limit {
                q.append_pair("limit", &l.to_string());
            }
            if let Some(v) = version {
                q.append_pair("version", v);
            }
        }
        let list: WireList = self.get_json(url).await?;
        Ok(list.into())
    }

    /// Every page of [`RegistryClient::search`], following
    /// `metadata.nextCursor`, up to `max_pages` pages (an error beyond, so a
    /// registry that never ends cannot hold Gatehouse).
    pub async fn search_all(
        &self,
        search: &str,
        version: Option<&str>,
        max_pages: usize,
    ) -> Result<Vec<RegistryEntry>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..max_pages {
            let page = self
                .search(search, cursor.as_deref(), Some(100), version)
                .await?;
            out.extend(page.servers);
            match page.next_cursor {
                // A cursor that does not move would loop forever.
                Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
                Some(_) => {
                    return Err(Error::Registry(format!(
                        "{}: the registry returned the same cursor twice",
                        self.cfg.registry_url
                    )));
                }
                None => return Ok(out),
            }
        }
        Err(Error::Registry(format!(
            "{}: more than {max_pages} pages of results for {search:?}; narrow the search",
            self.cfg.registry_url
        )))
    }

    /// `GET /v0.1/servers/{name}/versions`: every published version of a
    /// server, with its status.
    pub async fn versions(&self, name: &str) -> Result<Vec<RegistryEntry>> {
        let url = self.registry_url(&["servers", name, "versions"])?;
        let list: WireList = self.get_json(url).await?;
        Ok(ServerPage::from(list).servers)
    }

    /// `GET /v0.1/servers/{name}/versions/{version}` (`latest` for the
    /// latest).
    pub async fn version(&self, name: &str, version: &str) -> Result<RegistryEntry> {
        let url = self.registry_url(&["servers", name, "versions", version])?;
        let entry: WireEntry = self.get_json(url).await?;
        Ok(entry.into())
    }

    /// `BASE/v0.1/SEGMENTS...`, each segment percent-encoded (a server's
    /// name holds a `/`, which becomes `%2F`).
    fn registry_url(&self, segments: &[&str]) -> Result<Url> {
        join(&self.cfg.registry_url, "v0.1", segments)
    }

    /// GETs `url` and parses its JSON body as `T`. A non-2xx status, an
    /// unreachable host or a body of another shape is an error naming `url`.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let fetched = self.get(url, &[], MAX_JSON_BYTES).await?;
        fetched.ok()?;
        serde_json::from_slice(&fetched.body).map_err(|e| {
            Error::Registry(format!(
                "GET {}: the answer is not the JSON the API documents: {e}",
                fetched.url
            ))
        })
    }

    /// GETs `url` with extra `headers`, reading at most `max_bytes` of body.
    /// Any status is returned: the caller decides (`Fetched::ok`).
    pub(crate) async fn get(
        &self,
        url: Url,
        headers: &[(&'static str, String)],
        max_bytes: usize,
    ) -> Result<Fetched> {
        let shown = url.to_string();
        let mut req = self.http.get(url);
        for (name, value) in headers {
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::Registry(format!("GET {shown}: header {name} has an invalid value"))
            })?;
            req = req.header(*name, value);
        }
        let mut resp = req.send().await.map_err(|e| request_error(&shown, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Err(Error::Registry(format!(
                "GET {shown}: the answer is larger than {} MiB; refused",
                max_bytes >> 20
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| request_error(&shown, &e))? {
            if body.len() + chunk.len() > max_bytes {
                return Err(Error::Registry(format!(
                    "GET {shown}: the answer is larger than {} MiB; refused",
                    max_bytes >> 20
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url: shown,
            status,
            headers,
            body,
        })
    }
}

impl Fetched {
    /// An error naming the URL, the status and the start of the body unless
    /// the status is 2xx.
    pub(crate) fn ok(&self) -> Result<()> {
        if self.status.is_success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.trim().chars().take(200).collect();
        Err(Error::Registry(if text.is_empty() {
            format!("GET {}: HTTP {}", self.url, self.status)
        } else {
            format!("GET {}: HTTP {}: {text}", self.url, self.status)
        }))
    }
}

/// `BASE/PREFIX/SEGMENTS...` with each segment percent-encoded. `BASE` may
/// have a path of its own (a registry served under `/mcp`, say).
pub(crate) fn join(base: &str, prefix: &str, segments: &[&str]) -> Result<Url> {
    let mut url = Url::parse(base).map_err(|e| {
        Error::Registry(format!(
            "{base:?} is not a valid registry URL: {e}; set a full URL such as {DEFAULT_REGISTRY_URL}"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Registry(format!(
            "{base:?} is not an http(s) URL; registries are reached over HTTPS"
        )));
    }
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::Registry(format!("{base:?} cannot be a base URL")))?;
        path.pop_if_empty();
        if !prefix.is_empty() {
            path.extend(prefix.split('/'));
        }
        for s in segments {
            path.push(s);
        }
    }
    Ok(url)
}

/// A reqwest error as a sentence naming the URL.
fn request_error(url: &str, e: &reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "no answer in time (timed out)".to_string()
    } else if e.is_connect() {
        format!("cannot connect: {}", root_cause(e))
    } else {
        root_cause(e)
    };
    Error::Registry(format!("GET {url}: {what}"))
}

/// The innermost cause of an error, which says what actually failed.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Runs `fut` to completion on a fresh single-threaded runtime on its own
/// thread, so a synchronous caller can use the async client whether or not
/// it is itself inside a runtime (the app's commands are).
pub fn block_on<F>(fut: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Registry(format!("cannot start the HTTP runtime: {e}")))?;
            Ok(rt.block_on(fut))
        })
        .join()
        .unwrap_or_else(|_| Err(Error::Registry("the registry request panicked".into())))
    })
}
