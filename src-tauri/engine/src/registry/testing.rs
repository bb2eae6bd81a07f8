//! A tiny HTTP/1.1 server of recorded answers, for tests of the registry
//! client (the engine's and the CLI's): the real reqwest client and parser
//! run against it, and no outside registry is ever contacted.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One recorded answer.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The HTTP status.
    pub status: u16,
    /// Extra headers, e.g. `Docker-Content-Digest`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A 200 with a JSON (or any) body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Any status with a body.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Serves recorded answers keyed by the request's exact path and query (as
/// sent, percent-encoding included) on 127.0.0.1, until dropped. Anything
/// not recorded gets a 404 naming it, and is remembered in `misses`.
pub struct FixtureServer {
    url: String,
    routes: Arc<Mutex<HashMap<String, Recorded>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FixtureServer {
    /// Starts a server on a free port with no routes.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let routes: Arc<Mutex<HashMap<String, Recorded>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, q) = (routes.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, q) = (r.clone(), q.clone());
                std::thread::spawn(move || serve(stream, &r, &q));
            }
        });
        Self {
            url,
            routes,
            requests,
        }
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Records `answer` for `path_and_query`, e.g. `/v0.1/servers?search=x`.
    pub fn route(&self, path_and_query: &str, answer: Recorded) -> &Self {
        self.routes
            .lock()
            .unwrap()
            .insert(path_and_query.to_string(), answer);
        self
    }

    /// Every request's path and query so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    routes: &Mutex<HashMap<String, Recorded>>,
    requests: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut content_length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut sink = vec![0; content_length];
        let _ = reader.read_exact(&mut sink);
        requests.lock().unwrap().push(target.clone());
        let answer = routes
            .lock()
            .unwrap()
            .get(&target)
            .cloned()
            .unwrap_or_else(|| {
                Recorded::status(
                    404,
                    format!("{{\"title\":\"Not Found\",\"detail\":\"no fixture for {target}\"}}"),
                )
            });
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
            answer.status,
            answer.body.len()
        );
        for (k, v) in &answer.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&answer.body).is_err() {
            return;
        }
    }
}

/// The folder of recorded registry answers.
pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registry")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A server with the recorded "acme" registry: one server for the MCP
/// Registry, npm, PyPI and bundle downloads (point every `GATEHOUSE_*_URL`
/// at [`FixtureServer::url`]).
///
/// - `GET /v0.1/servers?search=acme...` (and `search=io.github.acme/`, for
///   the publisher's servers): three pages linked by `nextCursor`, with a
///   deprecated (`io.github.acme/tides`) and a deleted
///   (`io.github.acme/radar`) entry;
/// - `io.github.acme/weather`: versions 1.1.0 (deprecated) and 1.2.0, whose
///   `server.json` has an npm package whose `mcpName` matches, a PyPI
///   package whose description has no `mcp-name:`, an npm package with a
///   range version, an npm package with no `mcpName`, an MCPB bundle whose
///   `fileSha256` is wrong, and a `nuget` package Gatehouse cannot install;
/// - `io.github.acme/tides` 0.3.1 (deprecated): a PyPI package that checks out;
/// - `io.github.acme/broken`: versions answer 500, `latest` a malformed body.
pub fn acme_registry() -> FixtureServer {
    let server = FixtureServer::start();
    let base = server.url().to_string();
    for search in ["acme", "io.github.acme%2F"] {
        for (cursor, page) in [
            ("", "servers-page1.json"),
            (
                "&cursor=io.github.acme%2Ftides%3A0.3.1",
                "servers-page2.json",
            ),
            (
                "&cursor=io.github.acme%2Fradar%3A2.0.0",
                "servers-page3.json",
            ),
        ] {
            for limit in ["30", "100"] {
                server.route(
                    &format!("/v0.1/servers?search={search}{cursor}&limit={limit}&version=latest"),
                    Recorded::ok(fixture(page)),
                );
            }
        }
    }
    let weather = String::from_utf8(fixture("weather-1.2.0.json"))
        .unwrap()
        .replace("BUNDLE_URL", &format!("{base}/bundles"));
    server
        .route(
            "/v0.1/servers/io.github.acme%2Fweather/versions",
            Recorded::ok(fixture("weather-versions.json")),
        )
        .route(
            "/v0.1/servers/io.github.acme%2Fweather/versions/1.2.0",
            Recorded::ok(weather.clone()),
        )
        .route(
            "/v0.1/servers/io.github.acme%2Fweather/versions/latest",
            Recorded::ok(weather),
        )
        .route(
            "/v0.1/servers/io.github.acme%2Ftides/versions/0.3.1",
            Recorded::ok(tides_entry()),
        )
        .route(
            "/@acme%2Fweather-mcp/1.2.0",
            Recorded::ok(fixture("npm-weather-mcp-1.2.0.json")),
        )
        .route(
            "/acme-weather-unclaimed/0.9.0",
            Recorded::ok(fixture("npm-unclaimed-0.9.0.json")),
        )
        .route(
            "/pypi/acme-weather-mcp/1.2.0/json",
            Recorded::ok(fixture("pypi-acme-weather-mcp-1.2.0.json")),
        )
        .route(
            "/pypi/acme-tides/0.3.1/json",
            Recorded::ok(fixture("pypi-acme-tides-0.3.1.json")),
        )
        .route(
            "/bundles/weather-1.2.0.mcpb",
            Recorded::ok(fixture("weather-1.2.0.mcpb")),
        )
        .route(
            "/v0.1/servers/io.github.acme%2Fbroken/versions",
            Recorded::status(500, "{\"title\":\"Internal Server Error\",\"status\":500}"),
        )
        .route(
            "/v0.1/servers/io.github.acme%2Fbroken/versions/latest",
            Recorded::ok("{\"server\": {\"name\": \"io.github.acme/broken\", \"version\": "),
        );
    server
}

/// The deprecated `io.github.acme/tides` 0.3.1 as `GET .../versions/0.3.1`
/// answers: the entry of the first search page.
fn tides_entry() -> Vec<u8> {
    let page: serde_json::Value = serde_json::from_slice(&fixture("servers-page1.json")).unwrap();
    serde_json::to_vec(&page["servers"][1]).unwrap()
}

/// The registry name [`hello_registry`] answers for.
pub const HELLO_SERVER: &str = "io.github.acme/hello";

/// The recorded versions of [`HELLO_SERVER`] (`hello-versions.json`),
/// whose one package is the installer's test npm package
/// ([`crate::install::testing::NPM_NAME`] 1.0.0, served by an
/// `NpmFixture`):
///
/// - 1.0.0 reads one required secret `HELLO_TOKEN` and a plain
///   `HELLO_MODE` (default `polite`);
/// - 1.1.0, the same package, also reads a required secret
///   `HELLO_ARCHIVE_KEY` and is given the argument `--greeting formal`.
pub fn hello_versions() -> serde_json::Value {
    serde_json::from_slice(&fixture("hello-versions.json")).expect("hello-versions.json is JSON")
}

/// Entry `index` of [`hello_versions`] with the registry `status` given,
/// marked latest or not.
pub fn hello_entry(index: usize, status: &str, latest: bool) -> serde_json::Value {
    let mut entry = hello_versions()["servers"][index].take();
    let official = &mut entry["_meta"]["io.modelcontextprotocol.registry/official"];
    official["status"] = status.into();
    official["isLatest"] = latest.into();
    entry
}

/// Routes `entries` as the registry's versions of [`HELLO_SERVER`]: the
/// list, each version, and `latest` (the last one).
pub fn route_hello(server: &FixtureServer, entries: &[serde_json::Value]) {
    let base = "/v0.1/servers/io.github.acme%2Fhello/versions";
    let list = serde_json::json!({"servers": entries, "metadata": {"count": entries.len()}});
    server.route(base, Recorded::ok(list.to_string()));
    for entry in entries {
        let version = entry["server"]["version"].as_str().expect("a version");
        server.route(
            &format!("{base}/{version}"),
            Recorded::ok(entry.to_string()),
        );
    }
    if let Some(last) = entries.last() {
        server.route(&format!("{base}/latest"), Recorded::ok(last.to_string()));
    }
}

/// A registry answering for [`HELLO_SERVER`] 1.0.0 ([`hello_versions`])
/// only, with the registry `status` given.
pub fn hello_registry(status: &str) -> FixtureServer {
    let server = FixtureServer::start();
    route_hello(&server, &[hello_entry(0, status, true)]);
    server
}

/// Publishes [`HELLO_SERVER`] 1.1.0 (active, latest) on `server`, a
/// [`hello_registry`], with 1.0.0 now of `installed_status`.
pub fn publish_hello_update(server: &FixtureServer, installed_status: &str) {
    route_hello(
        server,
        &[
            hello_entry(0, installed_status, false),
            hello_entry(1, "active", true),
        ],
    );
}
