//! The person's consent: PKCE, the authorization URL, the browser, and the
//! loopback listener the authorization server redirects back to
//! (RFC 8252 §7.3: `http://127.0.0.1:PORT/callback`).

use std::fmt;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::wire::fail;
use crate::Result;

/// 32 bytes from the OS's random source, base64url: a PKCE verifier (43
/// characters, RFC 7636 §4.1) or a `state`.
pub(super) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| fail(format!("the OS's random source failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// RFC 7636 §4.2: the S256 challenge of a verifier.
pub(super) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A function that opens a URL as the person's browser would.
pub type OpenUrl = Arc<dyn Fn(&str) -> Result<()> + Send + Sync>;

/// How the authorization page is opened.
#[derive(Clone, Default)]
pub enum Browser {
    /// `$GATEHOUSE_BROWSER` if set (a command and its arguments, split on
    /// whitespace, given the URL as its last argument), else the system's
    /// browser: `xdg-open`, `open` on macOS, the URL handler on Windows.
    #[default]
    FromEnv,
    /// The system's browser, whatever the environment says.
    System,
    /// A command and its arguments, given the URL as its last argument.
    Command(Vec<String>),
    /// A function given the URL (tests consent with it).
    Function(OpenUrl),
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Browser::FromEnv => f.write_str("FromEnv"),
            Browser::System => f.write_str("System"),
            Browser::Command(c) => f.debug_tuple("Command").field(c).finish(),
            Browser::Function(_) => f.write_str("Function(..)"),
        }
    }
}

impl Browser {
    /// Opens `url`. The command's output never reaches Gatehouse's stdout,
    /// which may be an MCP client's pipe.
    pub(super) fn open(&self, url: &str) -> Result<()> {
        let argv: Vec<String> = match self {
            Browser::Function(f) => return f(url),
            Browser::Command(argv) => argv.clone(),
            Browser::FromEnv => match std::env::var("GATEHOUSE_BROWSER") {
                Ok(cmd) if !cmd.trim().is_empty() => {
                    cmd.split_whitespace().map(str::to_string).collect()
                }
                _ => system_browser(),
            },
            Browser::System => system_browser(),
        };
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| fail("the browser command is empty".into()))?;
        let mut child = std::process::Command::new(program)
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("could not start the browser `{program}`: {e}")))?;
        // Reap it whenever it exits; the flow does not wait for it.
        std::thread::spawn(move || child.wait());
        Ok(())
    }
}

fn system_browser() -> Vec<String> {
    let argv: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        // `start` is a cmd.exe built-in whose quoting mangles `&` in URLs;
        // the URL protocol handler opens the default browser directly.
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else {
        &["xdg-open"]
    };
    argv.iter().map(|s| s.to_string()).collect()
}

/// The loopback listener the authorization server sends the person back to.
pub(super) struct Callback {
    listener: TcpListener,
    redirect_uri: String,
}

/// What came back.
pub(super) struct Returned {
    /// The authorization code.
    pub code: String,
    /// RFC 9207's `iss`, if sent.
    pub iss: Option<String>,
}

/// The largest request head read from the browser.
const MAX_HEAD: usize = 16 << 10;

impl Callback {
    /// Listens on 127.0.0.1, on `port` if it is free (a dynamically
    /// registered redirect URI's), else on any free port. Says which.
    pub async fn bind(port: Option<u16>) -> Result<(Self, bool)> {
        if let Some(port) = port
            && let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await
        {
            return Ok((Self::with(listener)?, true));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
            fail(format!(
                "cannot listen on 127.0.0.1 for the OAuth redirect: {e}"
            ))
        })?;
        Ok((Self::with(listener)?, port.is_none()))
    }

    fn with(listener: TcpListener) -> Result<Self> {
        let port = listener
            .local_addr()
            .map_err(|e| fail(format!("the OAuth redirect listener: {e}")))?
            .port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// `http://127.0.0.1:PORT/callback`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for the redirect that carries `state`.
    /// Anything else that reaches the port (another path, a wrong or
    /// missing `state`) is answered and ignored (MCP authorization, "Open
    /// Redirection"); an error the authorization server sends back with
    /// our `state` ends the wait.
    pub async fn wait(&self, state: &str, timeout: Duration, issuer: &str) -> Result<Returned> {
        let deadline = Instant::now() + timeout;
        loop {
            let accepted = tokio::time::timeout_at(deadline, self.listener.accept()).await;
            let mut stream = match accepted {
                Err(_) => {
                    return Err(fail(format!(
                        "no answer from the browser within {} s: the authorization at {issuer} was not completed",
                        timeout.as_secs()
                    )));
                }
                Ok(Err(e)) => {
                    return Err(fail(format!("the OAuth redirect listener failed: {e}")));
                }
                Ok(Ok((stream, _))) => stream,
            };
            // A connection that sends nothing must not hold up the flow.
            let read_by = deadline.min(Instant::now() + Duration::from_secs(10));
            let Ok(Some(target)) = tokio::time::timeout_at(read_by, read_target(&mut stream))
                .await
                .unwrap_or(Ok(None))
            else {
                continue;
            };
            match parse_callback(&target, state) {
                Outcome::Ignore(status) => {
                    respond(
                        &mut stream,
                        status,
                        "This is not the authorization Gatehouse is waiting for.",
                    )
                    .await;
                }
                Outcome::Refused(why) => {
                    respond(
                        &mut stream,
                        "400 Bad Request",
                        &format!("Authorization failed: {why}. You can close this tab."),
                    )
                    .await;
                    return Err(fail(format!(
                        "the authorization server {issuer} did not authorize Gatehouse: {why}"
                    )));
                }
                Outcome::Code(returned) => {
                    respond(
                        &mut stream,
                        "200 OK",
                        "Gatehouse is authorized. You can close this tab.",
                    )
                    .await;
                    return Ok(returned);
                }
            }
        }
    }
}

enum Outcome {
    Ignore(&'static str),
    Refused(String),
    Code(Returned),
}

fn parse_callback(target: &str, state: &str) -> Outcome {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/callback" {
        return Outcome::Ignore("404 Not Found");
    }
    let mut got_state = None;
    let (mut code, mut error, mut description, mut iss) = (None, None, None, None);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "state" => &mut got_state,
            "code" => &mut code,
            "error" => &mut error,
            "error_description" => &mut description,
            "iss" => &mut iss,
            _ => continue,
        };
        if slot.is_some() {
            // RFC 6749 §3.1: a parameter must not appear twice.
            return Outcome::Ignore("400 Bad Request");
        }
        *slot = Some(v.into_owned());
    }
    if got_state.as_deref() != Some(state) {
        return Outcome::Ignore("400 Bad Request");
    }
    match (code, error) {
        (_, Some(error)) => Outcome::Refused(match description {
            Some(d) => format!("{error} ({d})"),
            None => error,
        }),
        (Some(code), None) if !code.is_empty() => Outcome::Code(Returned { code, iss }),
        _ => Outcome::Ignore("400 Bad Request"),
    }
}

/// The request target of a `GET`, or `None` for anything else.
async fn read_target(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Ok(Some(target.to_string())),
        _ => Ok(None),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Gatehouse</title><p style=\"font:16px system-ui;margin:3em\">{message}</p>"
    );
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }

    #[test]
    fn only_the_redirect_with_our_state_counts() {
        let code = |t: &str| match parse_callback(t, "s1") {
            Outcome::Code(r) => Some((r.code, r.iss)),
            _ => None,
        };
        assert_eq!(code("/callback?code=c&state=s1"), Some(("c".into(), None)));
        assert_eq!(
            code("/callback?state=s1&code=c&iss=https%3A%2F%2Fa"),
            Some(("c".into(), Some("https://a".into())))
        );
        for ignored in [
            "/callback?code=c&state=s2",
            "/callback?code=c",
            "/favicon.ico",
            "/callback?code=c&state=s1&state=s1",
            "/callback?state=s1",
        ] {
            assert!(
                matches!(parse_callback(ignored, "s1"), Outcome::Ignore(_)),
                "{ignored}"
            );
        }
        assert!(matches!(
            parse_callback("/callback?error=access_denied&state=s1", "s1"),
            Outcome::Refused(e) if e == "access_denied"
        ));
        // An error without our state is someone else's: ignored.
        assert!(matches!(
            parse_callback("/callback?error=access_denied&state=x", "s1"),
            Outcome::Ignore(_)
        ));
    }
}
