//! `proxy-bench`: what the embedded proxy (`gatehouse run NAME`) costs,
//! measured side by side with the direct path in the same run.
//!
//! It registers `mcp-echo` as server `bench` in a temporary
//! `GATEHOUSE_HOME` (policy on: `noop` denied, `echo` allowed; audit on, as
//! always), then drives each path with the same client code:
//!
//! - **direct**: the client spawns `mcp-echo` itself;
//! - **relay**: `line-relay mcp-echo`, a bare byte relay: the floor of any
//!   stdio proxy (one more process hop, no work);
//! - **proxy**: `gatehouse run bench`;
//! - with `--python`, also a plain-Python server, direct and behind the
//!   proxy (server `bench-py`): the reference point of a typical server.
//!
//! Measured, alternating between the paths so that drift in the machine
//! hits them alike: (a) time from spawn until `initialize` is answered;
//! (b) sequential `tools/call` latency, one call at a time, in blocks that
//! rotate through the paths; (c) pipelined throughput, a writer thread
//! sending every call at once while the reader counts replies; (d) the
//! resident memory of the process the client spawned (for the proxy,
//! `gatehouse` itself, not its child), from `/proc/PID/status`.
//!
//! It prints Markdown tables and, with `--json FILE`, writes every number.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

/// Targets from the proxy issue.
const TARGET_ADDED_P50_US: f64 = 30.0;
const TARGET_ADDED_P99_US: f64 = 300.0;
const TARGET_CALLS_PER_S: f64 = 20_000.0;
const TARGET_ADDED_INIT_MS: f64 = 5.0;
const TARGET_RSS_MIB: f64 = 15.0;

/// Measures `gatehouse run` against a direct connection to the same server.
#[derive(Debug, Parser)]
#[command(name = "proxy-bench")]
struct Opts {
    /// The `gatehouse` binary to measure (a release build)
    /// [default: $CARGO_TARGET_DIR/release/gatehouse, else next to this program].
    #[arg(long)]
    gatehouse: Option<PathBuf>,
    /// The `mcp-echo` server [default: next to this program].
    #[arg(long)]
    echo: Option<PathBuf>,
    /// The `line-relay` floor [default: next to this program].
    #[arg(long)]
    relay: Option<PathBuf>,
    /// Skip the bare line-relay path.
    #[arg(long)]
    no_relay: bool,
    /// Also measure a plain-Python server, direct and behind the proxy.
    #[arg(long)]
    python: bool,
    /// The Python interpreter for `--python`.
    #[arg(long, default_value = "python3")]
    python_bin: String,
    /// The Python server script [default: bench/python/mcp_echo.py].
    #[arg(long)]
    python_server: Option<PathBuf>,
    /// Small counts, for a check that everything works (seconds, not minutes).
    #[arg(long)]
    quick: bool,
    /// Spawn-to-initialize measurements per path [default: 30; quick: 8].
    #[arg(long)]
    init_runs: Option<usize>,
    /// Timed sequential calls per path [default: 20000; quick: 2000].
    #[arg(long)]
    calls: Option<usize>,
    /// Untimed calls per path before the timed ones [default: 2000; quick: 200].
    #[arg(long)]
    warmup: Option<usize>,
    /// Sequential calls per path before switching to the next [default: 1000; quick: 500].
    #[arg(long)]
    block: Option<usize>,
    /// Calls per pipelined run [default: 100000; quick: 10000].
    #[arg(long)]
    pipelined: Option<usize>,
    /// Pipelined runs per path; the median is reported [default: 3; quick: 1].
    #[arg(long)]
    pipelined_runs: Option<usize>,
    /// Sequential calls to the denied tool, proxy paths only [default: 2000; quick: 200].
    #[arg(long)]
    denied: Option<usize>,
    /// The text each `echo` call sends.
    #[arg(long, default_value = "hello")]
    text: String,
    /// Where to create the temporary GATEHOUSE_HOME [default: the system temp dir].
    #[arg(long)]
    tmp_in: Option<PathBuf>,
    /// Keep the temporary GATEHOUSE_HOME (its path is printed).
    #[arg(long)]
    keep_home: bool,
    /// Also write every number to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write each path's sequential latencies (ns, in call order) to DIR/PATH.txt.
    #[arg(long, value_name = "DIR")]
    samples: Option<PathBuf>,
    /// Exit 1 if a target is missed.
    #[arg(long)]
    check: bool,
}

/// The counts in force, after `--quick` and explicit flags.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Counts {
    init_runs: usize,
    calls: usize,
    warmup: usize,
    block: usize,
    pipelined: usize,
    pipelined_runs: usize,
    denied: usize,
}

impl Counts {
    fn of(o: &Opts) -> Self {
        let q = o.quick;
        let pick = |v: Option<usize>, full: usize, quick: usize| {
            v.unwrap_or(if q { quick } else { full }).max(1)
        };
        Self {
            init_runs: pick(o.init_runs, 30, 8),
            calls: pick(o.calls, 20_000, 2_000),
            warmup: pick(o.warmup, 2_000, 200),
            block: pick(o.block, 1_000, 500),
            pipelined: pick(o.pipelined, 100_000, 10_000),
            pipelined_runs: pick(o.pipelined_runs, 3, 1),
            denied: pick(o.denied, 2_000, 200),
        }
    }
}

/// One way of reaching the echo server.
struct Target {
    /// Short name used in the tables.
    name: &'static str,
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    /// It is `gatehouse run` (audit records are written, `noop` is denied).
    proxy: bool,
    /// The direct path this one is compared with.
    baseline: Option<usize>,
}

impl Target {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        cmd
    }
}

/// A running path: the process the client spawned and its pipes.
struct Session {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    line: Vec<u8>,
    request: Vec<u8>,
    next_id: u64,
}

#[derive(Deserialize)]
struct Response<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolResult {
    #[serde(rename = "isError", default)]
    is_error: bool,
    #[serde(default)]
    content: Vec<serde_json::Value>,
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"proxy-bench","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

impl Session {
    fn start(target: &Target) -> anyhow::Result<Self> {
        let mut child = target
            .command()
            .spawn()
            .with_context(|| format!("starting {}", target.program.display()))?;
        let input = child.stdin.take().expect("piped");
        let output = BufReader::with_capacity(64 * 1024, child.stdout.take().expect("piped"));
        Ok(Self {
            child,
            input,
            output,
            line: Vec::with_capacity(8 * 1024),
            request: Vec::with_capacity(1024),
            next_id: 1,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        self.input.write_all(line.as_bytes())?;
        self.input.write_all(b"\n")?;
        Ok(())
    }

    /// Reads one line into `self.line`.
    fn receive(&mut self) -> anyhow::Result<()> {
        self.line.clear();
        if self.output.read_until(b'\n', &mut self.line)? == 0 {
            bail!("the server closed its output");
        }
        Ok(())
    }

    fn response(&self) -> anyhow::Result<Response<'_>> {
        serde_json::from_slice(&self.line).with_context(|| {
            format!(
                "unparsable reply: {}",
                String::from_utf8_lossy(&self.line).trim_end()
            )
        })
    }

    /// `initialize`, `notifications/initialized`, and a `tools/list` that
    /// must show `echo` (and, behind the proxy, not the denied `noop`).
    fn handshake(&mut self, proxy: bool) -> anyhow::Result<()> {
        self.send(INITIALIZE)?;
        self.receive()?;
        ensure!(self.response()?.result.is_some(), "initialize failed");
        self.send(INITIALIZED)?;
        let id = self.take_id();
        self.send(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#
        ))?;
        self.receive()?;
        let r = self.response()?;
        let tools = r.result.context("tools/list failed")?.get();
        ensure!(
            tools.contains(r#""echo""#),
            "tools/list lacks echo: {tools}"
        );
        ensure!(
            tools.contains(r#""noop""#) != proxy,
            "the proxy should hide the denied `noop`, and only the proxy: {tools}"
        );
        Ok(())
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Writes a `tools/call` request, newline included, into `buf`.
    fn call_line(buf: &mut Vec<u8>, id: u64, tool: &str, text_json: &str) {
        use std::io::Write as _;
        let _ = write!(
            buf,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":{text_json}}}}}}}"#
        );
        buf.push(b'\n');
    }

    /// One `tools/call`, timed from before the write to after the reply's
    /// last byte. The reply is checked after the clock stops.
    fn timed_call(
        &mut self,
        tool: &str,
        text_json: &str,
        expect_error: bool,
    ) -> anyhow::Result<u64> {
        let id = self.take_id();
        let mut request = std::mem::take(&mut self.request);
        request.clear();
        Self::call_line(&mut request, id, tool, text_json);
        let start = Instant::now();
        self.input.write_all(&request)?;
        self.receive()?;
        let ns = start.elapsed().as_nanos() as u64;
        self.request = request;
        let r = self.response()?;
        ensure!(r.id == Some(id), "reply to the wrong request");
        let result = r.result.with_context(|| {
            format!(
                "tools/call {tool} failed: {}",
                r.error.map(|e| e.get()).unwrap_or("?")
            )
        })?;
        let result: ToolResult = serde_json::from_str(result.get())?;
        ensure!(
            result.is_error == expect_error,
            "tools/call {tool}: isError is {}, expected {expect_error}",
            result.is_error
        );
        ensure!(!result.content.is_empty(), "tools/call {tool}: no content");
        Ok(ns)
    }

    /// `n` calls written at once by a writer thread while this thread reads
    /// the replies. Returns the time from the first write to the last reply,
    /// and how many replies were errors.
    fn pipelined(&mut self, n: usize, text_json: &str) -> anyhow::Result<(Duration, usize)> {
        let first = self.next_id;
        let mut payload = Vec::with_capacity(n * 120);
        for i in 0..n as u64 {
            Self::call_line(&mut payload, first + i, "echo", text_json);
        }
        self.next_id += n as u64;
        let errors_marker = memchr::memmem::Finder::new(br#""error":"#);
        let input = &mut self.input;
        let output = &mut self.output;
        let line = &mut self.line;
        std::thread::scope(|scope| {
            let start = Instant::now();
            let writer = scope.spawn(move || input.write_all(&payload));
            let mut errors = 0;
            for _ in 0..n {
                line.clear();
                if output.read_until(b'\n', line)? == 0 {
                    bail!("the server closed its output during the pipelined run");
                }
                if errors_marker.find(line).is_some() {
                    errors += 1;
                }
            }
            let elapsed = start.elapsed();
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
            Ok((elapsed, errors))
        })
    }

    /// Closes the server's input and waits for it to exit.
    fn finish(self) -> anyhow::Result<()> {
        let Session {
            mut child,
            input,
            mut output,
            ..
        } = self;
        drop(input);
        let mut rest = Vec::new();
        output.read_to_end(&mut rest)?;
        child.wait()?;
        Ok(())
    }
}

/// Spawn to `initialize` answered, for one fresh process.
fn time_to_initialize(target: &Target) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut s = Session::start(target)?;
    s.send(INITIALIZE)?;
    s.receive()?;
    let elapsed = start.elapsed();
    ensure!(
        s.response()?.result.is_some(),
        "{}: initialize failed: {}",
        target.name,
        String::from_utf8_lossy(&s.line)
    );
    s.finish()?;
    Ok(elapsed)
}

/// Memory of a process, from `/proc/PID/status`.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
    threads: u64,
}

fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        threads: field("Threads:"),
    })
}

/// Percentiles of a latency sample, in microseconds.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Summary {
    n: usize,
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

fn summarize(ns: &mut [u64]) -> Summary {
    if ns.is_empty() {
        return Summary::default();
    }
    ns.sort_unstable();
    // Nearest rank.
    let at = |p: f64| {
        let rank = ((p / 100.0) * ns.len() as f64).ceil() as usize;
        ns[rank.clamp(1, ns.len()) - 1] as f64 / 1000.0
    };
    Summary {
        n: ns.len(),
        mean: ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1000.0,
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        p999: at(99.9),
        max: *ns.last().unwrap() as f64 / 1000.0,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Everything measured for one path.
#[derive(Debug, Default, serde::Serialize)]
struct Results {
    name: String,
    init_ms: Vec<f64>,
    init_median_ms: f64,
    latency: Summary,
    denied: Option<Summary>,
    calls_per_s: Vec<f64>,
    calls_per_s_median: f64,
    pipelined_errors: usize,
    memory_idle: Memory,
    memory_sequential: Memory,
    memory_after: Memory,
}

fn main() -> ExitCode {
    let opts = Opts::parse();
    match run(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("proxy-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name(name))
}

fn existing(path: PathBuf, hint: &str) -> anyhow::Result<PathBuf> {
    ensure!(path.is_file(), "{} does not exist: {hint}", path.display());
    Ok(path)
}

fn gatehouse_path(opts: &Opts) -> anyhow::Result<PathBuf> {
    let hint = "build it with `cargo build --release -p gatehouse` or pass --gatehouse";
    if let Some(p) = &opts.gatehouse {
        return existing(p.clone(), hint);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let p = Path::new(&dir).join("release/gatehouse");
        if p.is_file() {
            return Ok(p);
        }
    }
    existing(sibling("gatehouse")?, hint)
}

/// Runs `gatehouse ARGS` with the benchmark's home; returns its stdout.
fn gatehouse(bin: &Path, home: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args(args)
        .env("GATEHOUSE_HOME", home)
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    ensure!(
        out.status.success(),
        "`gatehouse {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

fn run(opts: &Opts) -> anyhow::Result<bool> {
    let counts = Counts::of(opts);
    if cfg!(debug_assertions) {
        eprintln!(
            "proxy-bench: warning: this is a debug build of the benchmark client; use --release"
        );
    }
    let gh = gatehouse_path(opts)?;
    let echo = match &opts.echo {
        Some(p) => existing(p.clone(), "pass --echo")?,
        None => existing(
            sibling("mcp-echo")?,
            "build it with `cargo build --release -p gatehouse-bench`",
        )?,
    };
    let relay = match (&opts.relay, opts.no_relay) {
        (_, true) => None,
        (Some(p), false) => Some(existing(p.clone(), "pass --relay")?),
        (None, false) => Some(existing(
            sibling("line-relay")?,
            "build it with `cargo build --release -p gatehouse-bench`",
        )?),
    };
    let python = if opts.python {
        let script = opts
            .python_server
            .clone()
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("python/mcp_echo.py"));
        let script = existing(script, "pass --python-server")?;
        // The interpreter itself, not a version manager's shim script, so
        // both paths start the same process.
        let out = Command::new(&opts.python_bin)
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .with_context(|| format!("running {}", opts.python_bin))?;
        ensure!(out.status.success(), "{} does not run", opts.python_bin);
        let exe = PathBuf::from(String::from_utf8(out.stdout)?.trim());
        Some((exe, script))
    } else {
        None
    };

    let mut builder = tempfile::Builder::new();
    builder.prefix("gatehouse-bench-");
    let tmp = match &opts.tmp_in {
        Some(dir) => builder.tempdir_in(dir)?,
        None => builder.tempdir()?,
    };
    let home = tmp.path().to_path_buf();
    gatehouse(
        &gh,
        &home,
        &["server", "add", "bench", "--", path_str(&echo)?],
    )?;
    gatehouse(&gh, &home, &["policy", "set", "bench", "noop", "deny"])?;
    gatehouse(&gh, &home, &["policy", "set", "bench", "echo", "allow"])?;
    if let Some((exe, script)) = &python {
        gatehouse(
            &gh,
            &home,
            &[
                "server",
                "add",
                "bench-py",
                "--",
                path_str(exe)?,
                path_str(script)?,
            ],
        )?;
        gatehouse(&gh, &home, &["policy", "set", "bench-py", "noop", "deny"])?;
        gatehouse(&gh, &home, &["policy", "set", "bench-py", "echo", "allow"])?;
    }
    let proxy_env = vec![
        (
            OsString::from("GATEHOUSE_HOME"),
            home.clone().into_os_string(),
        ),
        (OsString::from("HOME"), home.clone().into_os_string()),
    ];

    let mut targets = vec![Target {
        name: "direct",
        program: echo.clone(),
        args: vec![],
        env: vec![],
        proxy: false,
        baseline: None,
    }];
    if let Some(relay) = relay {
        targets.push(Target {
            name: "relay",
            program: relay,
            args: vec![echo.clone().into_os_string()],
            env: vec![],
            proxy: false,
            baseline: Some(0),
        });
    }
    targets.push(Target {
        name: "proxy",
        program: gh.clone(),
        args: vec!["run".into(), "bench".into()],
        env: proxy_env.clone(),
        proxy: true,
        baseline: Some(0),
    });
    if let Some((exe, script)) = &python {
        let py_direct = targets.len();
        targets.push(Target {
            name: "py-direct",
            program: exe.clone(),
            args: vec![script.clone().into_os_string()],
            env: vec![],
            proxy: false,
            baseline: None,
        });
        targets.push(Target {
            name: "py-proxy",
            program: gh.clone(),
            args: vec!["run".into(), "bench-py".into()],
            env: proxy_env,
            proxy: true,
            baseline: Some(py_direct),
        });
    }
    let text_json = serde_json::to_string(&opts.text)?;
    let mut results: Vec<Results> = targets
        .iter()
        .map(|t| Results {
            name: t.name.to_string(),
            ..Default::default()
        })
        .collect();

    let load_before = loadavg();
    eprintln!(
        "proxy-bench: gatehouse {}, home {}, paths: {}",
        gh.display(),
        home.display(),
        targets
            .iter()
            .map(|t| t.name)
            .collect::<Vec<_>>()
            .join(", ")
    );

    // (a) Spawn to initialize answered, alternating paths.
    eprintln!(
        "proxy-bench: time to initialize, {} runs per path",
        counts.init_runs
    );
    for run in 0..counts.init_runs {
        for i in rotation(targets.len(), run) {
            let d = time_to_initialize(&targets[i])?;
            results[i].init_ms.push(d.as_secs_f64() * 1000.0);
        }
    }
    for r in &mut results {
        let mut v = r.init_ms.clone();
        r.init_median_ms = median(&mut v);
    }

    // One long-lived session per path for the rest.
    let mut sessions = Vec::new();
    for (t, r) in targets.iter().zip(&mut results) {
        let mut s = Session::start(t)?;
        s.handshake(t.proxy)
            .with_context(|| format!("{}: handshake", t.name))?;
        r.memory_idle = memory(s.pid())?;
        sessions.push(s);
    }

    // (b) Sequential latency: warm-up, then blocks rotating through paths.
    eprintln!(
        "proxy-bench: sequential latency, {} warm-up + {} timed calls per path",
        counts.warmup, counts.calls
    );
    for (t, s) in targets.iter().zip(&mut sessions) {
        for _ in 0..counts.warmup {
            s.timed_call("echo", &text_json, false)
                .with_context(|| format!("{}: warm-up", t.name))?;
        }
    }
    let mut samples: Vec<Vec<u64>> = vec![Vec::with_capacity(counts.calls); targets.len()];
    let blocks = counts.calls.div_ceil(counts.block);
    for b in 0..blocks {
        let n = counts.block.min(counts.calls - b * counts.block);
        for i in rotation(targets.len(), b) {
            for _ in 0..n {
                let ns = sessions[i]
                    .timed_call("echo", &text_json, false)
                    .with_context(|| format!("{}: call", targets[i].name))?;
                samples[i].push(ns);
            }
        }
    }
    if let Some(dir) = &opts.samples {
        std::fs::create_dir_all(dir)?;
        for (t, s) in targets.iter().zip(&samples) {
            let text: String = s.iter().map(|ns| format!("{ns}\n")).collect();
            std::fs::write(dir.join(format!("{}.txt", t.name)), text)?;
        }
    }
    for (r, s) in results.iter_mut().zip(&mut samples) {
        r.latency = summarize(s);
    }

    // Refused calls: answered by the proxy itself, after their audit record.
    for (i, t) in targets.iter().enumerate() {
        if !t.proxy {
            continue;
        }
        let mut ns = Vec::with_capacity(counts.denied);
        for _ in 0..counts.denied {
            ns.push(
                sessions[i]
                    .timed_call("noop", &text_json, true)
                    .with_context(|| format!("{}: denied call", t.name))?,
            );
        }
        results[i].denied = Some(summarize(&mut ns));
    }

    for (r, s) in results.iter_mut().zip(&sessions) {
        r.memory_sequential = memory(s.pid())?;
    }

    // (c) Pipelined throughput, alternating paths.
    eprintln!(
        "proxy-bench: pipelined throughput, {} run(s) of {} calls per path",
        counts.pipelined_runs, counts.pipelined
    );
    for run in 0..counts.pipelined_runs {
        for i in rotation(targets.len(), run) {
            let (d, errors) = sessions[i]
                .pipelined(counts.pipelined, &text_json)
                .with_context(|| format!("{}: pipelined", targets[i].name))?;
            results[i]
                .calls_per_s
                .push(counts.pipelined as f64 / d.as_secs_f64());
            results[i].pipelined_errors += errors;
        }
    }
    for r in &mut results {
        let mut v = r.calls_per_s.clone();
        r.calls_per_s_median = median(&mut v);
    }

    // (d) Memory after all that, then close every session.
    for (r, s) in results.iter_mut().zip(sessions) {
        r.memory_after = memory(s.pid())?;
        s.finish()?;
    }

    // The audit log must hold one record per request the proxies answered.
    let proxies = targets.iter().filter(|t| t.proxy).count() as u64;
    let expected_audit = proxies
        * (counts.init_runs
            + 2
            + counts.warmup
            + counts.calls
            + counts.denied
            + counts.pipelined * counts.pipelined_runs) as u64;
    let newest: serde_json::Value = serde_json::from_str(&gatehouse(
        &gh,
        &home,
        &["audit", "list", "--limit", "1", "--json"],
    )?)?;
    let audit_rows = newest[0]["id"].as_u64().unwrap_or(0);
    let db_bytes = std::fs::read_dir(&home)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("gatehouse.db"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>();

    let load_after = loadavg();
    let verdicts = report(
        &targets,
        &results,
        &counts,
        audit_rows,
        expected_audit,
        db_bytes,
    );
    println!(
        "Load average (1, 5, 15 min) before: {load_before}; after: {load_after}. The machine has {} cores; other load skews the tails.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let all_met = verdicts.iter().all(|v| v.met);

    if let Some(path) = &opts.json {
        let doc = json!({
            "counts": counts,
            "gatehouse": gh,
            "echo_text": opts.text,
            "paths": results,
            "audit_rows": audit_rows,
            "audit_rows_expected": expected_audit,
            "database_bytes": db_bytes,
            "load_before": load_before,
            "load_after": load_after,
            "targets": verdicts,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if opts.keep_home {
        let kept = tmp.keep();
        eprintln!("proxy-bench: kept {}", kept.display());
    }
    Ok(all_met || !opts.check)
}

/// The first three fields of `/proc/loadavg`.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The order of the paths for round `round`: rotated, so none is always first.
fn rotation(n: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |k| (k + round) % n)
}

#[derive(Debug, serde::Serialize)]
struct Verdict {
    target: &'static str,
    measured: String,
    limit: String,
    met: bool,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report(
    targets: &[Target],
    results: &[Results],
    counts: &Counts,
    audit_rows: u64,
    expected_audit: u64,
    db_bytes: u64,
) -> Vec<Verdict> {
    let mut out = String::new();
    let header = |out: &mut String, first: &str| {
        out.push_str(&format!("| {first} |"));
        for t in targets {
            out.push_str(&format!(" {} |", t.name));
        }
        out.push_str("\n|---|");
        for _ in targets {
            out.push_str("---:|");
        }
        out.push('\n');
    };
    let row = |out: &mut String, label: &str, f: &dyn Fn(&Results) -> String| {
        out.push_str(&format!("| {label} |"));
        for r in results {
            out.push_str(&format!(" {} |", f(r)));
        }
        out.push('\n');
    };

    out.push_str(&format!(
        "\n### Per path\n\nSequential: {} timed `tools/call` per path after {} warm-up, in blocks of {} rotating through the paths. Pipelined: median of {} run(s) of {} calls. Times in µs unless marked.\n\n",
        counts.calls, counts.warmup, counts.block, counts.pipelined_runs, counts.pipelined
    ));
    header(&mut out, "metric");
    row(
        &mut out,
        &format!(
            "spawn → initialize answered, median of {} (ms)",
            counts.init_runs
        ),
        &|r| format!("{:.2}", r.init_median_ms),
    );
    row(&mut out, "tools/call p50", &|r| {
        format!("{:.1}", r.latency.p50)
    });
    row(&mut out, "tools/call p90", &|r| {
        format!("{:.1}", r.latency.p90)
    });
    row(&mut out, "tools/call p99", &|r| {
        format!("{:.1}", r.latency.p99)
    });
    row(&mut out, "tools/call p99.9", &|r| {
        format!("{:.1}", r.latency.p999)
    });
    row(&mut out, "tools/call max", &|r| {
        format!("{:.0}", r.latency.max)
    });
    row(&mut out, "tools/call mean", &|r| {
        format!("{:.1}", r.latency.mean)
    });
    row(&mut out, "denied call p50 / p99", &|r| match r.denied {
        Some(d) => format!("{:.1} / {:.1}", d.p50, d.p99),
        None => "–".into(),
    });
    row(&mut out, "pipelined calls/s", &|r| {
        format!("{:.0}", r.calls_per_s_median)
    });
    row(&mut out, "VmRSS after handshake (MiB)", &|r| {
        format!("{:.1}", mib(r.memory_idle.rss_kib))
    });
    row(&mut out, "VmHWM after sequential calls (MiB)", &|r| {
        format!("{:.1}", mib(r.memory_sequential.hwm_kib))
    });
    row(&mut out, "VmHWM at end (MiB)", &|r| {
        format!("{:.1}", mib(r.memory_after.hwm_kib))
    });
    row(&mut out, "VmRSS at end (MiB)", &|r| {
        format!("{:.1}", mib(r.memory_after.rss_kib))
    });
    row(&mut out, "threads", &|r| r.memory_after.threads.to_string());

    out.push_str("\n### Added over the direct path\n\nDifferences of the percentiles above (path − its direct baseline).\n\n| path | vs | init (ms) | p50 (µs) | p90 (µs) | p99 (µs) | calls/s ratio |\n|---|---|---:|---:|---:|---:|---:|\n");
    for (t, r) in targets.iter().zip(results) {
        let Some(b) = t.baseline else { continue };
        let base = &results[b];
        out.push_str(&format!(
            "| {} | {} | {:+.2} | {:+.1} | {:+.1} | {:+.1} | {:.2} |\n",
            t.name,
            base.name,
            r.init_median_ms - base.init_median_ms,
            r.latency.p50 - base.latency.p50,
            r.latency.p90 - base.latency.p90,
            r.latency.p99 - base.latency.p99,
            r.calls_per_s_median / base.calls_per_s_median,
        ));
    }

    // The targets are judged on the Rust server's proxy path.
    let mut verdicts = Vec::new();
    if let Some((pi, p)) = targets
        .iter()
        .enumerate()
        .find(|(_, t)| t.proxy && t.name == "proxy")
    {
        let r = &results[pi];
        let base = &results[p.baseline.unwrap_or(0)];
        let added_p50 = r.latency.p50 - base.latency.p50;
        let added_p99 = r.latency.p99 - base.latency.p99;
        let added_init = r.init_median_ms - base.init_median_ms;
        let hwm = mib(r.memory_after.hwm_kib);
        let hwm_sequential = mib(r.memory_sequential.hwm_kib);
        verdicts = vec![
            Verdict {
                target: "added latency p50",
                measured: format!("{added_p50:.1} µs"),
                limit: format!("≤ {TARGET_ADDED_P50_US} µs"),
                met: added_p50 <= TARGET_ADDED_P50_US,
            },
            Verdict {
                target: "added latency p99",
                measured: format!("{added_p99:.1} µs"),
                limit: format!("≤ {TARGET_ADDED_P99_US} µs"),
                met: added_p99 <= TARGET_ADDED_P99_US,
            },
            Verdict {
                target: "pipelined throughput",
                measured: format!("{:.0} calls/s", r.calls_per_s_median),
                limit: format!("≥ {TARGET_CALLS_PER_S} calls/s"),
                met: r.calls_per_s_median >= TARGET_CALLS_PER_S,
            },
            Verdict {
                target: "added time to initialize",
                measured: format!("{added_init:.2} ms"),
                limit: format!("≤ {TARGET_ADDED_INIT_MS} ms"),
                met: added_init <= TARGET_ADDED_INIT_MS,
            },
            Verdict {
                target: "proxy RSS, sequential calls (VmHWM)",
                measured: format!("{hwm_sequential:.1} MiB"),
                limit: format!("≤ {TARGET_RSS_MIB} MiB"),
                met: hwm_sequential <= TARGET_RSS_MIB,
            },
            Verdict {
                target: "proxy RSS, after the pipelined runs (VmHWM)",
                measured: format!("{hwm:.1} MiB"),
                limit: format!("≤ {TARGET_RSS_MIB} MiB"),
                met: hwm <= TARGET_RSS_MIB,
            },
        ];
        out.push_str("\n### Targets (proxy in front of `mcp-echo`)\n\n| target | measured | limit | result |\n|---|---:|---:|---|\n");
        for v in &verdicts {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                v.target,
                v.measured,
                v.limit,
                if v.met { "pass" } else { "**MISS**" }
            ));
        }
    }

    let errors: usize = results.iter().map(|r| r.pipelined_errors).sum();
    out.push_str(&format!(
        "\nAudit records written: {audit_rows} (expected {expected_audit}); database and WAL: {:.1} MiB. Error replies in pipelined runs: {errors}.\n",
        db_bytes as f64 / (1024.0 * 1024.0)
    ));
    if audit_rows != expected_audit {
        out.push_str("WARNING: the audit record count differs from the requests sent.\n");
    }
    print!("{out}");
    verdicts
}
