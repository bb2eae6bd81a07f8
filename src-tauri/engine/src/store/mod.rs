//! The one SQLite database shared by the app and every proxy process.
//!
//! It is opened in WAL mode with a busy timeout, so many readers and one
//! writer at a time can share it across processes. Versioned migrations run
//! at open; a database from a newer Gatehouse is refused, never downgraded.
//! Domain modules (servers, later policy and audit) add their own queries
//! through [`Store::conn`]; this module owns only the connection and schema.

mod migrations;
mod watch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use migrations::SCHEMA_VERSION;
pub use watch::{ChangeWatcher, Topic};

use crate::{DataDir, Error, Result};

/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open, migrated connection to the Gatehouse database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating and migrating if needed) the database in `dir`.
    pub fn open(dir: &DataDir) -> Result<Self> {
        Self::open_path(&dir.database())
    }

    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open_path(path: &Path) -> Result<Self> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        restrict_to_owner(path)?;
        configure(&conn)?;
        migrate(&mut conn, path)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for domain modules' queries.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for domain modules' transactions.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// The database holds the audit log: readable by its owner only. SQLite
/// gives the `-wal` and `-shm` files the same mode as the database.
fn restrict_to_owner(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(path, e))?;
        }
    }
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets proxies read policy while another process writes audit records.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::InvalidSpec(format!(
            "the database could not switch to WAL mode (it reports '{mode}')"
        )));
    }
    // NORMAL is durable across a crash of the process; only power loss can
    // drop the last transactions, and WAL keeps the file consistent.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current = user_version(conn)?;
    check_supported(current, path)?;
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    // Another process may be migrating too: take the write lock, then look again.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = user_version(&tx)?;
    check_supported(current, path)?;
    for step in &migrations::MIGRATIONS[current as usize..] {
        tx.execute_batch(step)?;
    }
    // Records stored before the audit chain existed join it here.
    crate::audit::chain::seal(&tx)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

fn check_supported(found: i64, path: &Path) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
        (tmp, store)
    }

    #[test]
    fn opens_in_wal_mode_with_current_schema() {
        let (_tmp, store) = temp_store();
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(user_version(store.conn()).unwrap(), SCHEMA_VERSION);
        let timeout: i64 = store
            .conn()
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert_eq!(timeout, BUSY_TIMEOUT.as_millis() as i64);
    }

    #[cfg(unix)]
    #[test]
    fn database_file_is_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt;
        let (_tmp, store) = temp_store();
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn reopening_keeps_data_and_does_not_rerun_migrations() {
        let (tmp, store) = temp_store();
        store
            .conn()
            .execute(
                "INSERT INTO servers (name, transport, command, created_at) VALUES ('a', 'stdio', 'x', 1)",
                [],
            )
            .unwrap();
        drop(store);
        let store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM servers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn refuses_a_newer_schema_with_a_clear_error() {
        let (tmp, store) = temp_store();
        store
            .conn()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(store);
        let err = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap_err();
        assert_eq!(err.code(), "schema_too_new");
        let message = err.to_string();
        assert!(
            message.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
            "{message}"
        );
        assert!(message.contains("newer Gatehouse"), "{message}");
    }

    #[test]
    fn migrates_an_old_database_forward() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gatehouse.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(migrations::MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let store = Store::open_path(&path).unwrap();
        assert_eq!(user_version(store.conn()).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn an_audit_log_from_before_the_compact_rows_still_verifies_and_reads_the_same() {
        use rusqlite::types::ValueRef;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gatehouse.db");
        // Schema v10: names as text on every record, whole previous hashes.
        let rows = [
            (
                "s1",
                Some("claude"),
                "files",
                "tools/call",
                Some("read"),
                r#"{"path":"/a"}"#,
            ),
            (
                "s1",
                Some("claude"),
                "files",
                "tools/call",
                Some("write"),
                r#"{"path":"/b"}"#,
            ),
            ("s2", None, "web", "initialize", None, "{}"),
        ];
        {
            let conn = Connection::open(&path).unwrap();
            for step in &migrations::MIGRATIONS[..10] {
                conn.execute_batch(step).unwrap();
            }
            conn.pragma_update(None, "user_version", 10).unwrap();
            let mut prev = [0u8; 32];
            let mut buf = Vec::new();
            for (i, (session, client, server, method, tool, args)) in rows.iter().enumerate() {
                let text = |t: &'static str| ValueRef::Text(t.as_bytes());
                let opt = |t: Option<&'static str>| t.map_or(ValueRef::Null, text);
                let time = 1_000 + i as i64;
                let mut fields = [ValueRef::Null; 18];
                fields[0] = ValueRef::Integer(time);
                fields[1] = text(session);
                fields[2] = opt(*client);
                fields[3] = text(server);
                fields[4] = text(method);
                fields[5] = opt(*tool);
                fields[6] = text(args);
                fields[9] = text("allowed");
                fields[14] = ValueRef::Integer(7);
                fields[15] = ValueRef::Integer(i as i64 + 1);
                let hash = crate::audit::chain::record_hash(&mut buf, &prev, &fields);
                conn.execute(
                    "INSERT INTO audit (time, session, client, server, method, tool, arguments,
                         decision, latency_us, seq, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'allowed', 7, ?8, ?9, ?10)",
                    rusqlite::params![
                        time,
                        session,
                        client,
                        server,
                        method,
                        tool,
                        args,
                        i as i64 + 1,
                        prev,
                        hash
                    ],
                )
                .unwrap();
                prev = hash;
            }
            conn.execute("UPDATE audit_chain SET head_id = 3, head_hash = ?1", [prev])
                .unwrap();
        }
        let store = Store::open_path(&path).unwrap();
        let report = store.audit_verify().unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.records, 3);
        let entries = store
            .audit_list(&crate::audit::AuditFilter::default())
            .unwrap();
        let read: Vec<_> = entries
            .iter()
            .rev()
            .map(|e| {
                (
                    e.session.as_str(),
                    e.client.as_deref(),
                    e.server.as_str(),
                    e.method.as_deref(),
                    e.tool.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            read,
            rows.iter()
                .map(|r| (r.0, r.1, r.2, Some(r.3), r.4))
                .collect::<Vec<_>>()
        );
        // Filters by name, and full text, work on the migrated rows.
        let by_tool = store
            .audit_list(&crate::audit::AuditFilter {
                tool: Some("write".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(by_tool.len(), 1);
        let found = store
            .audit_search(&crate::audit::AuditFilter {
                search: Some("/b".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.entries.len(), 1);
        // A record written now links to the migrated ones.
        let mut store = store;
        let next = crate::audit::AuditRecord {
            time: 2_000,
            session: "s3".into(),
            client: None,
            server: "files".into(),
            method: Some("tools/call".into()),
            tool: Some("read".into()),
            arguments: None,
            decision: crate::audit::AuditDecision::Allowed,
            reason: None,
            result_size: None,
            is_error: None,
            rpc_error: None,
            result: None,
            result_hash: None,
            latency_us: 1,
            seq: None,
        };
        crate::audit::writer::insert_all(store.conn_mut(), None, [&next].into_iter()).unwrap();
        assert!(store.audit_verify().unwrap().intact());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gatehouse.db");
        std::fs::write(&path, b"this is not sqlite, just some text long enough to matter.......................................................").unwrap();
        let err = Store::open_path(&path).unwrap_err();
        assert_eq!(err.code(), "database");
        // The file is left as it was.
        assert!(
            std::fs::read(&path)
                .unwrap()
                .starts_with(b"this is not sqlite")
        );
    }
}
