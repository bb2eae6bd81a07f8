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

/// Starts `server`, injecting its secrets from `secrets`. Fails closed: a
/// secret that cannot be read stops the launch.
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
    tokio::spawn(copy_to_log(stderr, log_path(dir, &server.name)));
    Ok(Launch {
        child,
        stdin,
        stdout,
        secrets: values.into_iter().map(|(_, v)| v).collect(),
    })
}

/// Appends the server's stderr to its log, rotating to `.1` when large.
async fn copy_to_log(mut stderr: tokio::process::ChildStderr, path: PathBuf) {
    let mut buf = vec![0u8; 8192];
    let Ok(mut file) = open_log(&path).await else {
        return;
    };
    let mut size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if size + n as u64 > LOG_ROTATE_BYTES {
            let _ = tokio::fs::rename(&path, path.with_extension("log.1")).await;
            match open_log(&path).await {
                Ok(f) => file = f,
                Err(_) => return,
            }
            size = 0;
        }
        if file.write_all(&buf[..n]).await.is_err() {
            return;
        }
        size += n as u64;
    }
    let _ = file.flush().await;
}

async fn open_log(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}
