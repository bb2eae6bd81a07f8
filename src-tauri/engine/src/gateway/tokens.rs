//! The gateway's per-client bearer tokens.
//!
//! Each client Gatehouse connects to the gateway (Cursor, VS Code, Claude
//! Code...) gets its own token: 256 random bits, base64url. The store keeps
//! only its SHA-256, which is all the gateway needs to check a request; the
//! token itself lives in the OS keychain (server [`SECRET_SERVER`], key: the
//! client's name), from where Gatehouse writes it into the client's config.
//! The client the token names is who the audit says called.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine as _;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Engine, Error, Result, SecretStore, SecretValue, Store, now_micros, rfc3339};

/// The keychain "server" the tokens are stored under; no registered server
/// can have this name (names start with a letter or digit).
pub const SECRET_SERVER: &str = "_gateway";

/// The setting holding the gateway's port.
pub const PORT_SETTING: &str = "gateway.port";

/// The gateway's port when none is set.
pub const DEFAULT_PORT: u16 = 47100;

/// Schema step 12: the tokens' hashes, and the 'gateway' topic a running
/// gateway watches to pick up new, rotated and revoked tokens.
pub(crate) const MIGRATION: &str = r#"
    CREATE TABLE gateway_tokens (
        client      TEXT PRIMARY KEY,
        hash        BLOB NOT NULL CHECK (length(hash) = 32),  -- SHA-256 of the token
        created_at  INTEGER NOT NULL,                         -- microseconds since the epoch
        rotated_at  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    INSERT INTO revisions (topic, rev) VALUES ('gateway', 0);
    CREATE TRIGGER gateway_tokens_inserted AFTER INSERT ON gateway_tokens
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'gateway'; END;
    CREATE TRIGGER gateway_tokens_updated AFTER UPDATE ON gateway_tokens
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'gateway'; END;
    CREATE TRIGGER gateway_tokens_deleted AFTER DELETE ON gateway_tokens
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'gateway'; END;
"#;

/// A client that has a gateway token. Never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayClient {
    /// The client's name, as the audit records it.
    pub client: String,
    /// When its first token was made (RFC 3339).
    pub created: String,
    /// When its current token was made (RFC 3339).
    pub rotated: String,
}

/// Checks that `client` can name a gateway client: 1 to 64 letters,
/// digits, '.', '_' or '-', starting with a letter or digit.
pub fn validate_client_name(client: &str) -> Result<()> {
    if crate::servers::is_plain_name(client) {
        Ok(())
    } else {
        Err(Error::InvalidSpec(format!(
            "client name {client:?} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// The SHA-256 of a token, as stored.
pub(crate) fn hash(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// A fresh token: 256 bits from the OS's random source, base64url.
fn generate() -> SecretValue {
    use chacha20poly1305::aead::OsRng;
    use chacha20poly1305::aead::rand_core::RngCore;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    SecretValue::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The token of `client`, made if it has none. A client whose token is in
/// the store but whose keychain copy is missing or does not match gets a
/// new one: the old value cannot be recovered from its hash.
pub fn token(store: &mut Store, secrets: &dyn SecretStore, client: &str) -> Result<SecretValue> {
    validate_client_name(client)?;
    if let Some(stored) = store.gateway_token_hash(client)?
        && let Some(value) = secrets.get(SECRET_SERVER, client)?
        && bool::from(hash(value.expose().as_bytes()).ct_eq(&stored))
    {
        return Ok(value);
    }
    rotate(store, secrets, client)
}

/// Replaces `client`'s token with a new one (making it if it had none); the
/// old one stops working at once in every running gateway.
pub fn rotate(store: &mut Store, secrets: &dyn SecretStore, client: &str) -> Result<SecretValue> {
    validate_client_name(client)?;
    let value = generate();
    // The keychain first: a token whose hash is stored but whose value is
    // lost would lock the client out until rotated again.
    secrets.set(SECRET_SERVER, client, &value)?;
    store.set_gateway_token_hash(client, &hash(value.expose().as_bytes()))?;
    Ok(value)
}

/// Removes `client`'s token from the store and the keychain; `false` if it
/// had none.
pub fn revoke(store: &mut Store, secrets: &dyn SecretStore, client: &str) -> Result<bool> {
    validate_client_name(client)?;
    // The store first: once the hash is gone, the token no longer works.
    let removed = store.delete_gateway_token(client)?;
    secrets.delete(SECRET_SERVER, client)?;
    Ok(removed)
}

impl Store {
    /// The clients with a gateway token, by name.
    pub fn gateway_clients(&self) -> Result<Vec<GatewayClient>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT client, created_at, rotated_at FROM gateway_tokens ORDER BY client",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(GatewayClient {
                client: r.get(0)?,
                created: rfc3339(r.get(1)?),
                rotated: rfc3339(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The gateway's port: the `gateway.port` setting, or [`DEFAULT_PORT`].
    /// 0 means any free port.
    pub fn gateway_port(&self) -> Result<u16> {
        match self.setting(PORT_SETTING)? {
            None => Ok(DEFAULT_PORT),
            Some(v) => v.parse().map_err(|_| {
                Error::InvalidSpec(format!(
                    "the gateway port in the store ({v:?}) is not a port number"
                ))
            }),
        }
    }

    /// Sets the gateway's port (0: any free port), used from its next start.
    pub fn set_gateway_port(&mut self, port: u16) -> Result<()> {
        self.set_setting(PORT_SETTING, Some(&port.to_string()))
    }

    fn gateway_token_hash(&self, client: &str) -> Result<Option<[u8; 32]>> {
        let hash: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT hash FROM gateway_tokens WHERE client = ?1",
                [client],
                |r| r.get(0),
            )
            .optional()?;
        Ok(hash.and_then(|h| h.try_into().ok()))
    }

    fn set_gateway_token_hash(&mut self, client: &str, hash: &[u8; 32]) -> Result<()> {
        let now = now_micros();
        self.conn().execute(
            "INSERT INTO gateway_tokens (client, hash, created_at, rotated_at) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (client) DO UPDATE SET hash = excluded.hash, rotated_at = excluded.rotated_at",
            params![client, &hash[..], now],
        )?;
        Ok(())
    }

    fn delete_gateway_token(&mut self, client: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM gateway_tokens WHERE client = ?1", [client])?
            > 0)
    }
}

impl Engine {
    /// `client`'s gateway token, made if it has none: what Gatehouse
    /// writes into the client's config when it connects it by URL.
    pub fn gateway_token(&self, client: &str) -> Result<SecretValue> {
        token(&mut self.store(), self.secrets(), client)
    }

    /// Gives `client` a new gateway token; the old one stops working.
    pub fn gateway_token_rotate(&self, client: &str) -> Result<SecretValue> {
        rotate(&mut self.store(), self.secrets(), client)
    }

    /// Removes `client`'s gateway token; `false` if it had none.
    pub fn gateway_token_revoke(&self, client: &str) -> Result<bool> {
        revoke(&mut self.store(), self.secrets(), client)
    }

    /// The clients with a gateway token (never the tokens).
    pub fn gateway_clients(&self) -> Result<Vec<GatewayClient>> {
        self.store().gateway_clients()
    }
}

/// The tokens a running gateway accepts, by hash, kept current with the
/// store: by a watcher thread, and when a request brings a token the table
/// does not know (it may have been made a moment ago).
pub(super) struct TokenTable {
    database: PathBuf,
    entries: ArcSwap<Vec<(Arc<str>, [u8; 32])>>,
    sync: Mutex<Sync>,
}

/// What keeps the table current: one connection, the 'gateway' topic's
/// revision the entries were read at, and when it was last looked at.
#[derive(Default)]
struct Sync {
    store: Option<Store>,
    revision: Option<i64>,
}

/// How often the watcher looks for changed tokens.
const WATCH_TICK: Duration = Duration::from_millis(250);

impl TokenTable {
    /// Loads the tokens from the store at `database`.
    pub(super) fn load(database: &Path) -> Result<Arc<Self>> {
        let table = Arc::new(Self {
            database: database.to_path_buf(),
            entries: ArcSwap::from_pointee(Vec::new()),
            sync: Mutex::new(Sync::default()),
        });
        table.refresh()?;
        Ok(table)
    }

    /// The client whose token `presented` is, if any. Every stored hash is
    /// compared, in constant time, whatever matched first.
    pub(super) fn find(&self, presented: &[u8]) -> Option<Arc<str>> {
        let digest = hash(presented);
        let entries = self.entries.load();
        let mut found = None;
        for (client, stored) in entries.iter() {
            if bool::from(stored.ct_eq(&digest)) {
                found = Some(client);
            }
        }
        found.cloned()
    }

    /// Reads the tokens again if they changed in the store; whether they
    /// changed. Blocking: call it off the event loop.
    pub(super) fn refresh(&self) -> Result<bool> {
        let mut sync = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        if sync.store.is_none() {
            sync.store = Some(Store::open_path(&self.database)?);
        }
        let store = sync.store.as_ref().expect("opened above");
        let read = revision(store).and_then(|rev| {
            if sync.revision == Some(rev) {
                return Ok(None);
            }
            Ok(Some((rev, read(store)?)))
        });
        match read {
            Ok(None) => Ok(false),
            Ok(Some((rev, entries))) => {
                self.entries.store(Arc::new(entries));
                sync.revision = Some(rev);
                Ok(true)
            }
            Err(e) => {
                // Opened again next time.
                sync.store = None;
                Err(e)
            }
        }
    }

    /// After a request with an unknown token: whether the table changed.
    /// Always looks: a token made a moment ago (after the watcher's last
    /// look) must work at once. A flood of wrong tokens costs one read of
    /// the topic's revision each, one at a time; the tokens themselves are
    /// read only when the revision moved.
    pub(super) fn refresh_after_miss(&self) -> bool {
        self.refresh().unwrap_or(false)
    }

    /// Starts the thread that keeps the table current; it ends once the
    /// table is dropped.
    pub(super) fn watch(self: &Arc<Self>) {
        let table = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("gateway-tokens".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(WATCH_TICK);
                    let Some(table) = table.upgrade() else { return };
                    if let Err(e) = table.refresh() {
                        eprintln!("gatehouse: the gateway cannot read its tokens: {e}");
                    }
                }
            })
            .expect("spawning a thread");
    }
}

/// The 'gateway' topic's revision: it moves with every token change.
fn revision(store: &Store) -> Result<i64> {
    Ok(store.conn().query_row(
        "SELECT rev FROM revisions WHERE topic = 'gateway'",
        [],
        |r| r.get(0),
    )?)
}

fn read(store: &Store) -> Result<Vec<(Arc<str>, [u8; 32])>> {
    let mut stmt = store
        .conn()
        .prepare_cached("SELECT client, hash FROM gateway_tokens ORDER BY client")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (client, hash) = row?;
        // The schema keeps every hash 32 bytes long.
        if let Ok(hash) = <[u8; 32]>::try_from(hash) {
            entries.push((Arc::from(client), hash));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataDir, MemorySecrets};

    fn store() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
        (tmp, store)
    }

    #[test]
    fn a_token_is_made_once_kept_in_the_keychain_and_stored_as_its_hash() {
        let (_tmp, mut store) = store();
        let secrets = MemorySecrets::default();
        let first = token(&mut store, &secrets, "cursor").unwrap();
        assert_eq!(first.expose().len(), 43, "256 bits, base64url");
        assert!(
            first
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(token(&mut store, &secrets, "cursor").unwrap(), first);
        assert_eq!(
            secrets.get(SECRET_SERVER, "cursor").unwrap().as_ref(),
            Some(&first)
        );
        let stored: Vec<u8> = store
            .conn()
            .query_row("SELECT hash FROM gateway_tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, hash(first.expose().as_bytes()));
        let other = token(&mut store, &secrets, "vscode").unwrap();
        assert_ne!(other, first);
        let names: Vec<_> = store
            .gateway_clients()
            .unwrap()
            .into_iter()
            .map(|c| c.client)
            .collect();
        assert_eq!(names, ["cursor", "vscode"]);
    }

    #[test]
    fn rotating_and_revoking_change_what_the_table_accepts() {
        let (tmp, mut store) = store();
        let secrets = MemorySecrets::default();
        let old = token(&mut store, &secrets, "cursor").unwrap();
        let table = TokenTable::load(&tmp.path().join("gatehouse.db")).unwrap();
        assert_eq!(
            table.find(old.expose().as_bytes()).as_deref(),
            Some("cursor")
        );
        assert_eq!(table.find(b"not-a-token"), None);

        let new = rotate(&mut store, &secrets, "cursor").unwrap();
        assert_ne!(new, old);
        table.refresh().unwrap();
        assert_eq!(table.find(old.expose().as_bytes()), None);
        assert_eq!(
            table.find(new.expose().as_bytes()).as_deref(),
            Some("cursor")
        );

        assert!(revoke(&mut store, &secrets, "cursor").unwrap());
        assert!(!revoke(&mut store, &secrets, "cursor").unwrap());
        table.refresh().unwrap();
        assert_eq!(table.find(new.expose().as_bytes()), None);
        assert_eq!(secrets.get(SECRET_SERVER, "cursor").unwrap(), None);
    }

    #[test]
    fn a_lost_keychain_copy_gets_a_new_token() {
        let (_tmp, mut store) = store();
        let secrets = MemorySecrets::default();
        let first = token(&mut store, &secrets, "cursor").unwrap();
        secrets.delete(SECRET_SERVER, "cursor").unwrap();
        let second = token(&mut store, &secrets, "cursor").unwrap();
        assert_ne!(first, second);
        assert_eq!(
            secrets.get(SECRET_SERVER, "cursor").unwrap().as_ref(),
            Some(&second)
        );
    }

    #[test]
    fn client_names_are_checked() {
        let (_tmp, mut store) = store();
        let secrets = MemorySecrets::default();
        for bad in ["", "_gateway", "a b", "x/y", &"a".repeat(65)] {
            assert!(token(&mut store, &secrets, bad).is_err(), "{bad:?}");
        }
        assert!(token(&mut store, &secrets, "claude-code").is_ok());
    }

    #[test]
    fn the_port_defaults_and_can_be_set() {
        let (_tmp, mut store) = store();
        assert_eq!(store.gateway_port().unwrap(), DEFAULT_PORT);
        store.set_gateway_port(0).unwrap();
        assert_eq!(store.gateway_port().unwrap(), 0);
        store.set_setting(PORT_SETTING, Some("http")).unwrap();
        assert!(store.gateway_port().is_err());
    }
}
