//! `gateway-bench`: what the HTTP gateway (`gatehouse gateway`) adds to a
//! tool call, measured side by side with direct HTTP in the same run.
//!
//! It starts `mcp-echo-http` (Streamable HTTP on loopback), registers it as
//! the remote server `echo` in a temporary `GATEHOUSE_HOME`, and `mcp-echo`
//! (stdio) as `echo-stdio`; starts `gatehouse gateway` on a free port and
//! takes a client token. Then one client, the same code for every path,
//! with one keep-alive connection per path:
//!
//! - **direct**: POST to `mcp-echo-http` itself;
//! - **gateway**: POST to `http://127.0.0.1:PORT/mcp/echo`, which goes
//!   through the proxy (policy, pins, audit) and the bridge to the same
//!   `mcp-echo-http`: the added latency the issue limits;
//! - **gateway, stdio server**: the same through the gateway to `mcp-echo`
//!   over stdio, for reference.
//!
//! Each path initializes a session and lists the tools, as clients do,
//! then sequential `tools/call`s of `echo` run in blocks that rotate
//! through the paths, so drift in a shared machine hits them alike. Prints a Markdown table; `--json FILE` writes
//! every number. Needs a Secret Service (the gateway's tokens live in the
//! keychain): `scripts/bench.sh` runs it inside one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use serde_json::{Value, json};

/// The issue's limit on the gateway's added latency at p50.
const TARGET_ADDED_P50_US: f64 = 200.0;

#[derive(Debug, Parser)]
#[command(name = "gateway-bench")]
struct Opts {
    /// The `gatehouse` binary (a release build)
    /// [default: $CARGO_TARGET_DIR/release/gatehouse, else next to this program].
    #[arg(long)]
    gatehouse: Option<PathBuf>,
    /// Calls per path.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
    /// Blocks the calls are split into, rotating through the paths.
    #[arg(long, default_value_t = 40)]
    blocks: usize,
    /// Warm-up calls per path, not counted.
    #[arg(long, default_value_t = 2_000)]
    warmup: usize,
    /// Write every number here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Opts::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Kills its process when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn beside_me(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    Ok(me.with_file_name(name))
}

fn gatehouse_path(opts: &Opts) -> anyhow::Result<PathBuf> {
    if let Some(path) = &opts.gatehouse {
        return Ok(path.clone());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let path = Path::new(&target).join("release/gatehouse");
        if path.exists() {
            return Ok(path);
        }
    }
    beside_me("gatehouse")
}

fn run(opts: Opts) -> anyhow::Result<()> {
    let gatehouse = gatehouse_path(&opts)?;
    ensure!(
        gatehouse.exists(),
        "{} is missing: build it with `cargo build --release -p gatehouse`",
        gatehouse.display()
    );
    let home = tempfile::tempdir()?;
    let cli = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(&gatehouse)
            .args(args)
            .env("GATEHOUSE_HOME", home.path())
            .env("GATEHOUSE_APP", "")
            .output()?;
        ensure!(
            out.status.success(),
            "gatehouse {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    };

    // The upstream, on a port of its own.
    let mut echo = Command::new(beside_me("mcp-echo-http")?)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting mcp-echo-http")?;
    let mut line = String::new();
    BufReader::new(echo.stdout.take().expect("piped")).read_line(&mut line)?;
    let _echo = Running(echo);
    let upstream = line
        .trim()
        .strip_prefix("listening on ")
        .context("mcp-echo-http did not say where it listens")?
        .to_string();
    let direct_url = format!("http://{upstream}/mcp");
    cli(&["server", "add", "echo", "--url", &direct_url])?;
    let stdio_echo = beside_me("mcp-echo")?;
    cli(&[
        "server",
        "add",
        "echo-stdio",
        "--",
        stdio_echo.to_str().context("a UTF-8 path")?,
    ])?;
    let token = cli(&["gateway", "token", "bench"])?.trim().to_string();

    let mut gateway = Command::new(&gatehouse)
        .args(["--json", "gateway", "--port", "0"])
        .env("GATEHOUSE_HOME", home.path())
        .env("GATEHOUSE_APP", "")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting gatehouse gateway")?;
    let mut line = String::new();
    BufReader::new(gateway.stdout.take().expect("piped")).read_line(&mut line)?;
    let _gateway = Running(gateway);
    let serving: Value =
        serde_json::from_str(&line).with_context(|| format!("gatehouse gateway said {line:?}"))?;
    let port = serving["port"].as_u64().context("the gateway's port")?;

    let bearer = format!("Bearer {token}");
    let mut paths = vec![
        Route::open("direct", &upstream, "/mcp", None)?,
        Route::open(
            "gateway",
            &format!("127.0.0.1:{port}"),
            "/mcp/echo",
            Some(&bearer),
        )?,
        Route::open(
            "gateway, stdio server",
            &format!("127.0.0.1:{port}"),
            "/mcp/echo-stdio",
            Some(&bearer),
        )?,
    ];
    for path in &mut paths {
        for _ in 0..opts.warmup {
            path.call()?;
        }
    }
    let per_block = opts.calls.div_ceil(opts.blocks);
    for _ in 0..opts.blocks {
        for path in &mut paths {
            for _ in 0..per_block {
                let started = Instant::now();
                path.call()?;
                path.samples.push(started.elapsed());
            }
        }
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!();
    println!("| path | p50 | p90 | p99 | calls |");
    println!("|---|---|---|---|---|");
    let mut report = Vec::new();
    for path in &mut paths {
        path.samples.sort();
        let (p50, p90, p99) = (
            pct(&path.samples, 50.0),
            pct(&path.samples, 90.0),
            pct(&path.samples, 99.0),
        );
        println!(
            "| {} | {p50:.1} µs | {p90:.1} µs | {p99:.1} µs | {} |",
            path.name,
            path.samples.len()
        );
        report.push(json!({"path": path.name, "p50_us": p50, "p90_us": p90, "p99_us": p99, "calls": path.samples.len()}));
    }
    let added = |q: f64| pct(&paths[1].samples, q) - pct(&paths[0].samples, q);
    let (a50, a90, a99) = (added(50.0), added(90.0), added(99.0));
    println!();
    println!(
        "gateway added latency: p50 {a50:.1} µs, p90 {a90:.1} µs, p99 {a99:.1} µs (limit at p50: {TARGET_ADDED_P50_US} µs: {})",
        if a50 <= TARGET_ADDED_P50_US {
            "met"
        } else {
            "NOT met"
        }
    );
    if let Some(file) = &opts.json {
        let all = json!({"paths": report, "added_us": {"p50": a50, "p90": a90, "p99": a99}, "load": load.trim()});
        std::fs::write(file, serde_json::to_vec_pretty(&all)?)?;
    }
    Ok(())
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q / 100.0).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// One path: a keep-alive HTTP/1.1 connection with an MCP session.
struct Route {
    name: &'static str,
    conn: BufReader<TcpStream>,
    host: String,
    path: String,
    headers: String,
    next_id: u64,
    samples: Vec<Duration>,
}

impl Route {
    fn open(
        name: &'static str,
        host: &str,
        path: &str,
        bearer: Option<&str>,
    ) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
        stream.set_nodelay(true)?;
        let mut headers = String::new();
        if let Some(bearer) = bearer {
            headers.push_str(&format!("Authorization: {bearer}\r\n"));
        }
        let mut me = Route {
            name,
            conn: BufReader::new(stream),
            host: host.to_string(),
            path: path.to_string(),
            headers,
            next_id: 1,
            samples: Vec::new(),
        };
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"gateway-bench","version":"1"}}});
        let (status, session, body) = me.post(&serde_json::to_vec(&init)?)?;
        ensure!(
            status == 200,
            "{name}: initialize answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if let Some(session) = session {
            me.headers
                .push_str(&format!("Mcp-Session-Id: {session}\r\n"));
        }
        me.headers.push_str("MCP-Protocol-Version: 2025-06-18\r\n");
        let (status, _, _) =
            me.post(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)?;
        ensure!(status == 202, "{name}: initialized answered {status}");
        // As clients do before calling: the proxy then knows the tool.
        let (status, _, body) = me.post(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)?;
        ensure!(
            status == 200 && memchr::memmem::find(&body, b"\"echo\"").is_some(),
            "{name}: tools/list answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(me)
    }

    fn call(&mut self) -> anyhow::Result<()> {
        self.next_id += 1;
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hello"}}}}}}"#,
            self.next_id
        );
        let (status, _, answer) = self.post(body.as_bytes())?;
        if status != 200 || memchr::memmem::find(&answer, b"\"hello\"").is_none() {
            bail!(
                "{}: a call answered {status}: {}",
                self.name,
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(())
    }

    /// One POST: the status, the session id if any, and the body (a JSON
    /// body, or the data of an SSE body's events).
    fn post(&mut self, body: &[u8]) -> anyhow::Result<(u16, Option<String>, Vec<u8>)> {
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{}Content-Length: {}\r\n\r\n",
            self.path,
            self.host,
            self.headers,
            body.len()
        );
        // One write, as hyper and undici send a small request: a head and
        // a body written apart reach the server as two segments.
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.conn.get_mut().write_all(&request)?;
        let mut line = String::new();
        self.conn.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .context("a status line")?
            .parse()?;
        let (mut length, mut chunked, mut session) = (None, false, None);
        loop {
            line.clear();
            self.conn.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').context("a header")?;
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = Some(value.parse::<usize>()?),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "mcp-session-id" => session = Some(value.to_string()),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.conn.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16)?;
                let mut chunk = vec![0; size + 2];
                self.conn.read_exact(&mut chunk)?;
                chunk.truncate(size);
                body.extend_from_slice(&chunk);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            self.conn.read_exact(&mut body)?;
        }
        Ok((status, session, body))
    }
}
