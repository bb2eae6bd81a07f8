//! Noticing changes made by other processes.
//!
//! Each watcher holds its own connection and asks SQLite for
//! `PRAGMA data_version`, which moves whenever another connection commits.
//! Only then does it read the small `revisions` table to learn which topics
//! changed. A check that finds nothing costs one pragma, a few microseconds,
//! so callers can afford to check several times a second and then push the
//! change onward (the app to its UI, a proxy to its client).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use ts_rs::TS;

use crate::Result;

/// A part of the store that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Topic {
    /// Servers were added, changed or removed.
    Servers,
    /// A tool policy, rule or default changed.
    Policies,
    /// A server listed different tools.
    Tools,
    /// Audit records were appended.
    Audit,
    /// Alerts were raised or acknowledged, or a rule was muted.
    Alerts,
    /// A tool definition was pinned, quarantined, approved or rejected.
    Pins,
}

impl Topic {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "servers" => Some(Topic::Servers),
            "policies" => Some(Topic::Policies),
            "tools" => Some(Topic::Tools),
            "audit" => Some(Topic::Audit),
            "alerts" => Some(Topic::Alerts),
            "pins" => Some(Topic::Pins),
            _ => None,
        }
    }
}

/// Watches the database for commits from other connections.
#[derive(Debug)]
pub struct ChangeWatcher {
    conn: Connection,
    data_version: i64,
    revisions: HashMap<String, i64>,
}

impl ChangeWatcher {
    /// Opens a watcher on the (already migrated) database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_millis(200))?;
        let mut watcher = Self {
            data_version: data_version(&conn)?,
            revisions: HashMap::new(),
            conn,
        };
        watcher.revisions = watcher.read_revisions()?;
        Ok(watcher)
    }

    /// The topics that changed since the last call (empty if none).
    pub fn changed(&mut self) -> Result<Vec<Topic>> {
        let version = data_version(&self.conn)?;
        if version == self.data_version {
            return Ok(Vec::new());
        }
        self.data_version = version;
        let now = self.read_revisions()?;
        let changed = now
            .iter()
            .filter(|(topic, rev)| self.revisions.get(*topic) != Some(rev))
            .filter_map(|(topic, _)| Topic::parse(topic))
            .collect();
        self.revisions = now;
        Ok(changed)
    }

    fn read_revisions(&self) -> Result<HashMap<String, i64>> {
        let mut stmt = self
            .conn
            // Audit records are many and appended by the proxies' writers;
            // rather than bump a counter in each of their commits, the
            // newest record's id is the audit topic's revision.
            .prepare_cached(
                "SELECT topic, rev FROM revisions WHERE topic <> 'audit'
                 UNION ALL SELECT 'audit', coalesce(max(id), 0) FROM audit",
            )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "data_version", |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataDir, NewServer, Store, Transport};

    #[test]
    fn reports_server_changes_from_another_connection_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        let mut store = Store::open(&dir).unwrap();
        let mut watcher = ChangeWatcher::open(&dir.database()).unwrap();
        assert!(watcher.changed().unwrap().is_empty());

        store
            .add_server(&NewServer {
                name: "demo".into(),
                transport: Transport::stdio("python3", ["server.py"]),
            })
            .unwrap();
        assert_eq!(watcher.changed().unwrap(), vec![Topic::Servers]);
        assert!(
            watcher.changed().unwrap().is_empty(),
            "a change is reported once"
        );

        store.remove_server("demo").unwrap();
        assert_eq!(watcher.changed().unwrap(), vec![Topic::Servers]);
    }
}
