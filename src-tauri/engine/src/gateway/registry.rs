//! The gateway's sessions: those clients opened with `initialize`, by
//! their `Mcp-Session-Id`, and one shared session per client and server
//! for stateless requests. Opened on demand, ended by DELETE, by idleness,
//! or when the gateway stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Shared;
use super::link::Link;
use crate::proxy::{Session, SessionOptions};
use crate::{Error, Store};

/// How long a closing session's relay gets to store its records and stop
/// its server.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Why no session could be opened.
pub(super) enum OpenError {
    /// No server has that name.
    NoServer(String),
    /// Too many sessions; the text says so.
    Busy(String),
}

/// Every open session.
pub(super) struct Sessions {
    by_id: Mutex<HashMap<Box<str>, Arc<Link>>>,
    shared: Mutex<Vec<Arc<Link>>>,
    /// One shared session is opened at a time, so two requests arriving
    /// together do not start two.
    opening_shared: tokio::sync::Mutex<()>,
    epoch: Instant,
}

impl Sessions {
    pub(super) fn new() -> Self {
        Self {
            by_id: Mutex::new(HashMap::new()),
            shared: Mutex::new(Vec::new()),
            opening_shared: tokio::sync::Mutex::new(()),
            epoch: Instant::now(),
        }
    }

    fn by_id(&self) -> MutexGuard<'_, HashMap<Box<str>, Arc<Link>>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn shared_links(&self) -> MutexGuard<'_, Vec<Arc<Link>>> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open session `id`, if it is `client`'s session with `server`:
    /// one client cannot use another's session, nor reach another server
    /// through it.
    ///
    /// A session whose server stopped is ended here, so the request gets
    /// 404 and its client initializes a new session with a new server
    /// (the requests that were waiting when it stopped got the reason).
    pub(super) fn get(&self, id: &str, server: &str, client: &str) -> Option<Arc<Link>> {
        let link = self.by_id().get(id).cloned()?;
        if &*link.server != server || &*link.client != client || link.is_closed() {
            return None;
        }
        if link.server_down() {
            self.by_id().remove(id);
            tokio::spawn(async move { link.close_and_wait(CLOSE_GRACE).await });
            return None;
        }
        Some(link)
    }

    /// Opens a new session of `client` with `server`, under a fresh
    /// session id. A client over its limit loses its least recently used
    /// session.
    pub(super) async fn open(
        &self,
        shared: &Arc<Shared>,
        server: &str,
        client: Arc<str>,
    ) -> Result<Arc<Link>, OpenError> {
        let evicted = {
            let sessions = self.by_id();
            if sessions.len() >= shared.options.max_sessions {
                return Err(OpenError::Busy(format!(
                    "Service unavailable: the gateway has {} sessions open; end some (DELETE) and try again",
                    sessions.len()
                )));
            }
            let mine: Vec<&Arc<Link>> = sessions.values().filter(|l| l.client == client).collect();
            (mine.len() >= shared.options.max_sessions_per_client)
                .then(|| mine.into_iter().min_by_key(|l| l.last_used()).cloned())
                .flatten()
        };
        if let Some(old) = evicted {
            eprintln!(
                "gatehouse: gateway: '{}' has too many sessions open; ending its least recently used one",
                old.client
            );
            self.end(&old.id).await;
        }
        let session = open_session(shared, server, &client).await?;
        let id = new_session_id();
        let link = Link::start(
            session,
            id.clone(),
            server.into(),
            client,
            false,
            self.epoch,
        );
        self.by_id().insert(id, link.clone());
        Ok(link)
    }

    /// The shared session for `client`'s stateless requests to `server`,
    /// opened if there is none.
    pub(super) async fn shared(
        &self,
        shared: &Arc<Shared>,
        server: &str,
        client: Arc<str>,
    ) -> Result<Arc<Link>, OpenError> {
        if let Some(link) = self.find_shared(server, &client) {
            return Ok(link);
        }
        let _opening = self.opening_shared.lock().await;
        if let Some(link) = self.find_shared(server, &client) {
            return Ok(link);
        }
        let session = open_session(shared, server, &client).await?;
        let link = Link::start(session, "".into(), server.into(), client, true, self.epoch);
        self.shared_links().push(link.clone());
        Ok(link)
    }

    /// The open shared session of `client` with `server`. One whose server
    /// stopped is ended, so the next request starts the server again.
    fn find_shared(&self, server: &str, client: &str) -> Option<Arc<Link>> {
        let mut down = Vec::new();
        let found = {
            let mut links = self.shared_links();
            links.retain(|l| {
                if l.server_down() {
                    down.push(l.clone());
                }
                !l.is_closed() && !l.server_down()
            });
            links
                .iter()
                .find(|l| &*l.server == server && &*l.client == client)
                .cloned()
        };
        for link in down {
            tokio::spawn(async move { link.close_and_wait(CLOSE_GRACE).await });
        }
        found
    }

    /// Ends session `id` (DELETE), if open.
    pub(super) async fn end(&self, id: &str) {
        let link = self.by_id().remove(id);
        if let Some(link) = link {
            // The relay finishes on its own; the request need not wait.
            tokio::spawn(async move { link.close_and_wait(CLOSE_GRACE).await });
        }
    }

    /// Ends the sessions idle for longer than their limit.
    pub(super) async fn reap(&self, session_idle: Duration, shared_idle: Duration) {
        let mut idle: Vec<Arc<Link>> = Vec::new();
        self.by_id().retain(|_, link| {
            let keep = !link.is_closed() && !link.is_idle(session_idle);
            if !keep {
                idle.push(link.clone());
            }
            keep
        });
        self.shared_links().retain(|link| {
            let keep = !link.is_closed() && !link.is_idle(shared_idle);
            if !keep {
                idle.push(link.clone());
            }
            keep
        });
        for link in idle {
            tokio::spawn(async move { link.close_and_wait(CLOSE_GRACE).await });
        }
    }

    /// Ends every session and waits for their relays (the gateway stops).
    pub(super) async fn close_all(&self) {
        let mut all: Vec<Arc<Link>> = self.by_id().drain().map(|(_, l)| l).collect();
        all.append(&mut self.shared_links());
        let closing: Vec<_> = all
            .into_iter()
            .map(|link| tokio::spawn(async move { link.close_and_wait(CLOSE_GRACE).await }))
            .collect();
        for closed in closing {
            let _ = closed.await;
        }
    }
}

/// Opens a `proxy::Session` for `client` with `server`. Opening reads the
/// store and the keychain and starts the server: blocking work, done on a
/// blocking thread.
async fn open_session(
    shared: &Arc<Shared>,
    server: &str,
    client: &Arc<str>,
) -> Result<Session, OpenError> {
    let dir = shared.dir.clone();
    let name = server.to_string();
    let secrets = shared.secrets.clone();
    let options = SessionOptions {
        max_message_bytes: Some(shared.options.max_message_bytes),
        client: Some(client.clone()),
        app: shared.options.app.clone(),
    };
    let runtime = tokio::runtime::Handle::current();
    let opened = tokio::task::spawn_blocking(move || {
        // An unknown name is the client's mistake (404); any other trouble
        // is the session's to report, on every request (fail closed).
        if let Err(Error::ServerNotFound(name)) = Store::open(&dir).and_then(|s| s.server(&name)) {
            return Err(OpenError::NoServer(name));
        }
        Ok(runtime.block_on(Session::open(&dir, &name, options, secrets)))
    })
    .await;
    match opened {
        Ok(result) => result,
        Err(e) => Err(OpenError::Busy(format!(
            "Service unavailable: the session could not be opened ({e})"
        ))),
    }
}

/// A session id: 128 random bits as hex.
fn new_session_id() -> Box<str> {
    use chacha20poly1305::aead::OsRng;
    use chacha20poly1305::aead::rand_core::RngCore;
    use std::fmt::Write as _;
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let mut id = String::with_capacity(32);
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    id.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_random_visible_ascii() {
        let a = new_session_id();
        let b = new_session_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
