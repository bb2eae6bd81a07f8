//! `gatehouse run NAME`: the proxy a client launches. Stdin/stdout speak MCP
//! to the client; the registered server runs as a child process.
//!
//! If the server cannot be started (unknown name, a secret missing from the
//! keychain, a command that does not exist), the proxy still answers: every
//! request gets an error that says why, so the person sees it in their
//! client instead of a silent disconnect.

use std::sync::Arc;

use gatehouse_engine::proxy::{Session, SessionOptions};
use gatehouse_engine::{DataDir, Keychain, Store};

pub fn run(name: &str, max_message_bytes: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(name, max_message_bytes))
}

async fn serve(name: &str, max_message_bytes: usize) -> anyhow::Result<()> {
    let dir = DataDir::from_env()?;
    // Retention, for people who never open the app (which applies it
    // hourly): when it is due, on a thread of its own, in small steps.
    if Store::open(&dir)
        .and_then(|store| store.audit_prune_due(gatehouse_engine::now_micros()))
        .unwrap_or(false)
    {
        prune_in_background(&dir);
    }
    let options = SessionOptions {
        max_message_bytes: Some(max_message_bytes),
        client: None,
        app: desktop_app(),
    };
    Session::open(&dir, name, options, Arc::new(Keychain))
        .await
        .serve(stdio::input(), stdio::output())
        .await;
    Ok(())
}

/// The desktop app, to start when a call needs approval and no app runs:
/// `$GATEHOUSE_APP` if set (empty: never start one), else `gatehouse-app`
/// beside this binary, as the app's packages install them.
pub(super) fn desktop_app() -> Option<std::path::PathBuf> {
    if let Some(app) = std::env::var_os("GATEHOUSE_APP") {
        return (!app.is_empty()).then(|| app.into());
    }
    let exe = std::env::current_exe().ok()?;
    let beside = exe.with_file_name(format!("gatehouse-app{}", std::env::consts::EXE_SUFFIX));
    beside.is_file().then_some(beside)
}

/// Stdin and stdout on the event loop. Clients launch the proxy with pipes;
/// tokio's `stdin()`/`stdout()` would hand every read and write to a
/// thread pool, which costs more than the rest of a call. Files and
/// terminals (someone trying the proxy by hand) keep the portable path.
/// Each side is chosen on its own: a pipe is made non-blocking, which only
/// the event loop can read or write.
mod stdio {
    use tokio::io::{AsyncRead, AsyncWrite};

    pub fn input() -> Box<dyn AsyncRead + Unpin> {
        #[cfg(unix)]
        if let Some(pipe) = pipes::stdin() {
            return Box::new(pipe);
        }
        Box::new(tokio::io::stdin())
    }

    pub fn output() -> Box<dyn AsyncWrite + Unpin> {
        #[cfg(unix)]
        if let Some(pipe) = pipes::stdout() {
            return Box::new(pipe);
        }
        Box::new(tokio::io::stdout())
    }

    #[cfg(unix)]
    mod pipes {
        use std::fs::File;
        use std::os::fd::{AsFd, BorrowedFd};

        use tokio::net::unix::pipe;

        /// A duplicate of `fd` if it is a pipe. Checked here: from_file
        /// sets O_NONBLOCK before it refuses a non-pipe, and the blocking
        /// fallback could not use the descriptor after that.
        fn duplicate_pipe(fd: BorrowedFd<'_>) -> Option<File> {
            use std::os::unix::fs::FileTypeExt;
            let file = File::from(fd.try_clone_to_owned().ok()?);
            let is_pipe = file.metadata().ok()?.file_type().is_fifo();
            is_pipe.then_some(file)
        }

        pub fn stdin() -> Option<pipe::Receiver> {
            pipe::Receiver::from_file(duplicate_pipe(std::io::stdin().as_fd())?).ok()
        }

        pub fn stdout() -> Option<pipe::Sender> {
            pipe::Sender::from_file(duplicate_pipe(std::io::stdout().as_fd())?).ok()
        }
    }
}

/// Applies audit retention on a thread, a few thousand records per
/// transaction so this proxy's writer (and other proxies') never wait long.
fn prune_in_background(dir: &DataDir) {
    let dir = dir.clone();
    let _ = std::thread::Builder::new()
        .name("audit-retention".into())
        .spawn(move || {
            let Ok(mut store) = Store::open(&dir) else {
                return;
            };
            let now = gatehouse_engine::now_micros();
            loop {
                match store.audit_prune_some(now, 5_000) {
                    Ok(step) if step.deleted > 0 => {
                        std::thread::sleep(std::time::Duration::from_millis(20))
                    }
                    Ok(_) => return,
                    Err(e) => {
                        eprintln!("gatehouse: applying audit retention failed: {e}");
                        return;
                    }
                }
            }
        });
}
