//! Starting a stdio server: its command, arguments and environment, with
//! secret values read from the keychain at launch and nowhere else. Its
//! stderr goes to a per-server log file, rotated by size.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::{DataDir, Error, Result, SecretStore, SecretValue, Server, Transport};

/// Rotate a server's log when it passes this size; keep one old file.
const LOG_ROTATE_BYTES: u64 = 5 * 1024 * 1024;

/// A started server.
pub struct Launch {
    /// The process, for shutdown.
    pub child: Child,
    /// Its stdin.
    pub stdin: ChildStdin,
    /// Its stdout.
    pub stdout: ChildStdout,
    /// The secret values it received, for redaction.
    pub secrets: Vec<SecretValue>,
}

/// The log file of `server`'s stderr.
pub fn log_path(dir: &DataDir, server: &str) -> PathBuf {
    dir.logs().join(format!("{server}.log"))
}

/// Why a server was not started.
#[derive(Debug)]
pub enum LaunchError {
    /// Its installed package no longer matches its pin: the reason names
    /// the first changed, added or removed file. Deserves an audit record
    /// ([`crate::install::mismatch_record`]).
    ChecksumMismatch(String),
    /// Anything else: unknown server, missing secret, a command that does
    /// not start, a pin that cannot be read.
    Failed(Error),
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::ChecksumMismatch(reason) => f.write_str(reason),
            LaunchError::Failed(e) => e.fmt(f),
        }
    }
}

impl From<Error> for LaunchError {
    fn from(e: Error) -> Self {
        LaunchError::Failed(e)
    }
}

/// Starts the registered server `name` the way every launch must: when it
/// runs an installed package, the package's tree is re-hashed first and a
/// tree that differs from its pin is refused
/// ([`Store::package_check`](crate::Store::package_check)); then
/// [`launch`].
pub fn launch_verified(
    dir: &DataDir,
    store: &crate::Store,
    name: &str,
    secrets: &dyn SecretStore,
) -> std::result::Result<Launch, LaunchError> {
    let server = store.server(name)?;
    if let crate::install::LaunchCheck::Mismatch { reason, .. } = store.package_check(name)? {
        return Err(LaunchError::ChecksumMismatch(reason));
    }
    Ok(launch(dir, &server, secrets)?)
}

/// Starts `server`, injecting its secrets from `secrets`. Fails closed: a
/// secret that cannot be read stops the launch. Does not check an
/// installed package: use [`launch_verified`] for a registered server.
pub fn launch(dir: &DataDir, server: &Server, secrets: &dyn SecretStore) -> Result<Launch> {
    let Transport::Stdio {
        command,
        args,
        env,
        secrets: names,
    } = &server.transport
    else {
        return Err(Error::InvalidSpec(format!(
            "'{}' is a remote server; remote servers are not supported by this version of `gatehouse run`",
            server.name
        )));
    };
    let mut values = Vec::with_capacity(names.len());
    for key in names {
        let value = secrets
            .get(&server.name, key)?
            .ok_or_else(|| Error::SecretMissing {
                server: server.name.clone(),
                key: key.clone(),
            })?;
        values.push((key, value));
    }
    let mut cmd = Command::new(command);
    cmd.args(args)
        .envs(env)
        .envs(values.iter().map(|(k, v)| (k.as_str(), v.expose())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Error::InvalidSpec(format!(
            "could not start `{command}` for server '{}': {e}",
            server.name
        ))
    })?;
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    crate::paths::create_private_dir(&dir.logs())?;
    let secrets: Vec<SecretValue> = values.into_iter().map(|(_, v)| v).collect();
    let scrubber = Scrubber::new(&secrets);
    tokio::spawn(copy_to_log(stderr, log_path(dir, &server.name), scrubber));
    Ok(Launch {
        child,
        stdin,
        stdout,
        secrets,
    })
}

/// Replaces the server's own secret values in its stderr before they reach
/// the log: a server that prints its environment must not put a key on
/// disk. Works on a byte stream, so a value split across reads is caught.
struct Scrubber {
    needles: Vec<Vec<u8>>,
    /// Longest needle, less one: what is held back at a chunk's end in
    /// case a value continues in the next read.
    overlap: usize,
    pending: Vec<u8>,
}

const SCRUBBED: &[u8] = b"[REDACTED]";
/// Past this, text without a line break is written anyway.
const MAX_HELD: usize = 64 * 1024;

impl Scrubber {
    fn new(secrets: &[SecretValue]) -> Self {
        let needles: Vec<Vec<u8>> = secrets
            .iter()
            .map(|s| s.expose().as_bytes().to_vec())
            .filter(|n| !n.is_empty())
            .collect();
        let overlap = needles.iter().map(Vec::len).max().unwrap_or(1) - 1;
        Self {
            needles,
            overlap,
            pending: Vec::new(),
        }
    }

    /// Takes `chunk`; returns what can be written now: complete lines, or
    /// all but a possible partial value once too much is held.
    fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.needles.is_empty() {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        self.scrub();
        let cut = match memchr::memrchr(b'\n', &self.pending) {
            Some(i) => i + 1,
            None if self.pending.len() > MAX_HELD => self.pending.len() - self.overlap,
            None => 0,
        };
        self.pending.drain(..cut).collect()
    }

    /// What is left when the stream ends.
    fn finish(mut self) -> Vec<u8> {
        self.scrub();
        self.pending
    }

    fn scrub(&mut self) {
        for needle in &self.needles {
            if memchr::memmem::find(&self.pending, needle).is_none() {
                continue;
            }
            let mut out = Vec::with_capacity(self.pending.len());
            let mut last = 0;
            for at in memchr::memmem::find_iter(&self.pending, needle) {
                if at < last {
                    continue;
                }
                out.extend_from_slice(&self.pending[last..at]);
                out.extend_from_slice(SCRUBBED);
                last = at + needle.len();
            }
            out.extend_from_slice(&self.pending[last..]);
            self.pending = out;
        }
    }
}

/// Appends the server's stderr to its log, secrets scrubbed, rotating to
/// `.1` when large.
async fn copy_to_log(
    mut stderr: tokio::process::ChildStderr,
    path: PathBuf,
    mut scrubber: Scrubber,
) {
    let mut buf = vec![0u8; 8192];
    let Ok(mut file) = open_log(&path).await else {
        return;
    };
    let mut size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    loop {
        let clean = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => scrubber.feed(&buf[..n]),
        };
        let n = clean.len();
        if n == 0 {
            continue;
        }
        if size + n as u64 > LOG_ROTATE_BYTES {
            let _ = tokio::fs::rename(&path, path.with_extension("log.1")).await;
            match open_log(&path).await {
                Ok(f) => file = f,
                Err(_) => return,
            }
            size = 0;
        }
        if file.write_all(&clean).await.is_err() {
            return;
        }
        size += n as u64;
    }
    let _ = file.write_all(&scrubber.finish()).await;
    let _ = file.flush().await;
}

async fn open_log(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub_in_chunks(secrets: &[&str], input: &[u8], chunk: usize) -> Vec<u8> {
        let secrets: Vec<SecretValue> = secrets.iter().map(|s| SecretValue::new(*s)).collect();
        let mut scrubber = Scrubber::new(&secrets);
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            out.extend(scrubber.feed(piece));
        }
        out.extend(scrubber.finish());
        out
    }

    #[test]
    fn secret_values_are_scrubbed_even_when_split_across_reads() {
        let input = b"token=sk-canary-123 and again sk-canary-123\nno newline sk-canary-123";
        for chunk in 1..input.len() {
            let out = scrub_in_chunks(&["sk-canary-123", "other-secret"], input, chunk);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "token=[REDACTED] and again [REDACTED]\nno newline [REDACTED]",
                "chunk size {chunk}"
            );
        }
    }

    #[test]
    fn a_long_line_is_written_without_waiting_for_its_end_and_stays_scrubbed() {
        let secrets = [SecretValue::new("sk-canary-123")];
        let mut scrubber = Scrubber::new(&secrets);
        let mut long = vec![b'x'; MAX_HELD];
        long.extend_from_slice(b"sk-canary");
        let early = scrubber.feed(&long);
        assert!(!early.is_empty(), "a line past the limit is written");
        let rest = [scrubber.feed(b"-123 tail"), scrubber.finish()].concat();
        let all = [early, rest].concat();
        let text = String::from_utf8(all).unwrap();
        assert!(!text.contains("sk-canary"), "{}", &text[text.len() - 40..]);
        assert!(text.ends_with("[REDACTED] tail"));
    }

    #[test]
    fn without_secrets_stderr_passes_through_untouched() {
        let input = b"partial line without newline";
        assert_eq!(scrub_in_chunks(&[], input, 5), input);
    }
}
