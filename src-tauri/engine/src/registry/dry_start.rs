//! The dry start: before a registry server is enabled for any client,
//! Gatehouse installs the vetted package into its cache (where a real
//! install finds it), launches it on its own (not registered, in no
//! client's config, without secrets), asks for its tools over MCP, stops
//! it, and scans what it offered. A registry install of the same vetted
//! package afterwards reuses that install when its tree is unchanged
//! ([`DryInstalls`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use ts_rs::TS;

use super::PackageReport;
use super::install::{check_status, choose_package, fixed_arguments};
use crate::install::{self, Installed, PackageSpec};
use crate::scan::{self, Finding, ToolScan};
use crate::{Engine, Error, Result};

/// How long a dry start may take, from launch to the last page of tools.
pub const DRY_START_TIMEOUT: Duration = Duration::from_secs(20);

/// The MCP version the dry start asks for.
const PROTOCOL_VERSION: &str = "2025-06-18";

/// At most this many `tools/list` pages are asked for.
const MAX_PAGES: usize = 50;

/// At most this many bytes of the server's stderr are kept.
const STDERR_TAIL: usize = 4096;

/// What a dry start found: the server's tools and instructions with the
/// scanner's findings on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DryStart {
    /// Each tool the server listed, with its findings and risk tier.
    pub tools: Vec<ToolScan>,
    /// The server's `initialize` instructions, if it gave any.
    pub instructions: Option<String>,
    /// The scanner's findings on the instructions.
    pub instruction_findings: Vec<Finding>,
    /// The end of what the server wrote to stderr.
    pub stderr_tail: String,
}

impl Engine {
    /// Dry-starts `name` at `version` (`latest` when `None`) with
    /// [`DRY_START_TIMEOUT`], as [`Engine::registry_dry_start_within`] does.
    pub fn registry_dry_start(&self, name: String, version: Option<String>) -> Result<DryStart> {
        self.registry_dry_start_within(name, version, DRY_START_TIMEOUT)
    }

    /// Vets `name` at `version`, installs the package a registry install
    /// would pick into the cache (verified against its checksum), launches
    /// it directly with its plain environment only (no secrets), lists its
    /// tools over MCP within `timeout`, stops it and scans what it offered.
    /// Nothing is registered. A deleted version is refused; the package's
    /// ownership is shown in the report, not enforced here.
    pub fn registry_dry_start_within(
        &self,
        name: String,
        version: Option<String>,
        timeout: Duration,
    ) -> Result<DryStart> {
        let report = self.registry_vet(name, version)?;
        check_status(&report, true)?;
        let package = choose_package(&report)?;
        let spec = package.spec.clone().expect("a chosen package has a spec");
        let package_args = fixed_arguments(&package.package_arguments)?;
        let sources = self.package_sources()?;
        let installed = install::install(self.data_dir(), &spec, &sources, |_| {})?;
        self.dry_installs.record(&spec, &installed);

        let mut command = Command::new(&installed.command);
        command
            .args(installed.args.iter().chain(&package_args))
            .envs(plain_environment(package))
            .envs(&installed.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = format!("{} {}", report.name, report.version);
        list_tools(command, &what, timeout)
    }
}

/// The packages dry starts installed into the cache in this process, by
/// the vetted spec (its checksum included) they were downloaded, verified
/// and built from, with the tree hash taken right after the build.
#[derive(Default)]
pub(crate) struct DryInstalls(Mutex<HashMap<PackageSpec, Installed>>);

impl DryInstalls {
    fn record(&self, spec: &PackageSpec, installed: &Installed) {
        self.lock().insert(spec.clone(), installed.clone());
    }

    /// The install a dry start made of exactly `spec`, taken out of the
    /// record, if its tree still hashes as it did when built: its download
    /// was verified against the same pinned checksum, and not a byte of it
    /// changed since (the dry-started server may have written to it). None
    /// otherwise: the caller downloads and verifies afresh.
    pub(super) fn reuse(&self, spec: &PackageSpec) -> Option<Installed> {
        let installed = self.lock().remove(spec)?;
        let hash = install::tree::tree_hash(&installed.path).ok()?;
        (hash == installed.tree_hash).then_some(installed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PackageSpec, Installed>> {
        // A map of plain values cannot be left half-written.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The package's non-secret variables that have a fixed value or default.
fn plain_environment(package: &PackageReport) -> BTreeMap<String, String> {
    package
        .environment_variables
        .iter()
        .filter(|v| !v.is_secret)
        .filter_map(|v| {
            let value = v.value.as_ref().or(v.default.as_ref())?;
            (!value.contains('{')).then(|| (v.name.clone(), value.clone()))
        })
        .collect()
}

/// A child killed and reaped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The MCP conversation with a launched server, bounded by a deadline.
struct Session {
    stdin: ChildStdin,
    lines: Receiver<String>,
    deadline: Instant,
    next_id: u64,
}

/// Why a conversation stopped.
enum Stop {
    /// The server closed its stdout (it exited).
    Exited,
    /// The deadline passed.
    TimedOut,
    /// The server answered with an error, or something that is not MCP.
    Failed(String),
}

impl Session {
    fn send(&mut self, message: &Value) -> Result<(), Stop> {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|_| Stop::Exited)
    }

    /// Sends a request and waits for its answer's `result`, skipping the
    /// server's notifications and requests.
    fn request(&mut self, method: &str, params: Value) -> Result<Value, Stop> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => return Err(Stop::TimedOut),
                Err(RecvTimeoutError::Disconnected) => return Err(Stop::Exited),
            };
            let Ok(mut message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if message.get("id").and_then(Value::as_u64) != Some(id)
                || message.get("method").is_some()
            {
                continue;
            }
            if let Some(error) = message.get("error") {
                return Err(Stop::Failed(format!(
                    "{method} answered with an error: {error}"
                )));
            }
            return match message.get_mut("result").map(Value::take) {
                Some(result @ Value::Object(_)) => Ok(result),
                _ => Err(Stop::Failed(format!("{method} answered without a result"))),
            };
        }
    }
}

/// Launches `command`, speaks MCP over its stdio (initialize, initialized,
/// every page of tools/list) within `timeout`, stops it and scans the tools.
fn list_tools(mut command: Command, what: &str, timeout: Duration) -> Result<DryStart> {
    let program = command.get_program().to_string_lossy().into_owned();
    let child = command
        .spawn()
        .map_err(|e| Error::StartFailed(format!("{what} could not be started ({program}): {e}")))?;
    let mut running = Running(child);
    let stdin = running.0.stdin.take().expect("stdin is piped");
    let stdout = running.0.stdout.take().expect("stdout is piped");
    let stderr = running.0.stderr.take().expect("stderr is piped");

    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
    let (stderr_done, stderr_closed) = mpsc::channel::<()>();
    {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            let mut stderr = stderr;
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                let mut tail = tail.lock().expect("stderr tail lock");
                tail.extend(&buf[..n]);
                let excess = tail.len().saturating_sub(STDERR_TAIL);
                tail.drain(..excess);
            }
            drop(stderr_done);
        });
    }

    let mut session = Session {
        stdin,
        lines,
        deadline: Instant::now() + timeout,
        next_id: 0,
    };
    let outcome = converse(&mut session);
    drop(session);
    drop(running);
    // The server is gone: what it wrote is read to the end, unless a
    // process it started keeps the pipe open.
    let _ = stderr_closed.recv_timeout(Duration::from_secs(1));
    let stderr_tail = {
        let tail = tail.lock().expect("stderr tail lock");
        let (a, b) = tail.as_slices();
        String::from_utf8_lossy(&[a, b].concat()).trim().to_string()
    };
    let shown = if stderr_tail.is_empty() {
        "nothing on stderr".to_string()
    } else {
        format!("its stderr ends with:\n{stderr_tail}")
    };
    match outcome {
        Ok((tools, instructions)) => {
            let instruction_findings = instructions
                .as_deref()
                .map(scan::scan_instructions)
                .unwrap_or_default();
            Ok(DryStart {
                tools: scan::scan_tools(&Value::Array(tools)),
                instructions,
                instruction_findings,
                stderr_tail,
            })
        }
        Err(Stop::TimedOut) => Err(Error::StartTimedOut(format!(
            "{what} did not list its tools within {} s; {shown}",
            timeout.as_secs_f32()
        ))),
        Err(Stop::Exited) => Err(Error::StartFailed(format!(
            "{what} exited before listing its tools; {shown}"
        ))),
        Err(Stop::Failed(why)) => Err(Error::StartFailed(format!("{what}: {why}; {shown}"))),
    }
}

/// initialize, notifications/initialized, then tools/list until the last
/// page: the tools and the instructions.
fn converse(session: &mut Session) -> Result<(Vec<Value>, Option<String>), Stop> {
    let init = session.request(
        "initialize",
        json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "gatehouse-dry-start", "version": env!("CARGO_PKG_VERSION")},
        }),
    )?;
    let instructions = init
        .get("instructions")
        .and_then(Value::as_str)
        .map(str::to_string);
    session.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let mut page = session.request("tools/list", params)?;
        if let Some(Value::Array(list)) = page.get_mut("tools").map(Value::take) {
            tools.extend(list);
        }
        cursor = page
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_string);
        if cursor.is_none() {
            return Ok((tools, instructions));
        }
    }
    Err(Stop::Failed(format!(
        "tools/list gave more than {MAX_PAGES} pages"
    )))
}
