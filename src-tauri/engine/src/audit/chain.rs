//! Tamper evidence: a SHA-256 hash chain through every audit record.
//!
//! Each record stores `hash` = SHA-256 over a canonical encoding of its
//! stored content ([`content_columns!`]) and `prev_hash`, the hash of the
//! record before it in id order. The chain spans every proxy process: the
//! writer reads the chain's head after `BEGIN IMMEDIATE`, so two processes
//! never link to the same record. The `audit_chain` row keeps the head
//! (updated in the same transaction as the records), so a truncated tail
//! shows, and the anchor retention leaves behind (the hash of the last
//! record it deleted), where [`Store::audit_verify`] starts. The first
//! record's `prev_hash` is 32 zero bytes.
//!
//! This makes edits evident, not impossible: someone who can write the
//! database can also rebuild the whole chain. It catches a record edited,
//! deleted, reordered or cut off by anyone who does not.

use std::fmt;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::{Result, Store};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Separates this encoding from any other use of SHA-256 (and versions it).
const DOMAIN: &[u8] = b"gatehouse-audit-v1\0";

/// The content a record's hash covers, in the order it is encoded, as
/// `audit_named` reads it: names as text.
macro_rules! content_columns {
    () => {
        "time, session, client, server, method, tool, arguments, arguments_size, arguments_hash, \
         decision, reason, result_size, is_error, rpc_error, latency_us, seq, result, result_hash"
    };
}

/// The same, as `audit` stores it (schema v11): the names as ids into
/// `audit_sessions` (position 1) and `audit_names` (positions 2 to 5). The
/// writer inserts exactly these (then `prev_hash, hash`).
macro_rules! stored_columns {
    () => {
        "time, session_id, client_id, server_id, method_id, tool_id, arguments, arguments_size, \
         arguments_hash, decision, reason, result_size, is_error, rpc_error, latency_us, seq, \
         result, result_hash"
    };
}
pub(super) use stored_columns;

/// The positions of [`stored_columns!`] that hold a name's id.
pub(super) const NAME_COLUMNS: std::ops::RangeInclusive<usize> = 1..=5;

/// How much of the previous record's hash a record stores: enough to tell
/// a broken link (a record deleted or moved before it) from an edit. The
/// record's own hash covers the previous hash whole.
pub(super) const LINK_LEN: usize = 4;

/// How many columns [`content_columns!`] names.
pub(super) const CONTENT_LEN: usize = 18;

/// How many of them the first records had (schema v6). The columns added
/// since are encoded only when they hold a value, each behind a marker and
/// its position, so a record stored before they existed keeps its hash.
const FIRST_LEN: usize = 16;

/// Marks an added column's value in the encoding: no type tag uses it.
const ADDED: u8 = 0xFE;

/// Setting: days of audit history to keep; `0` keeps everything.
pub const RETENTION_DAYS_KEY: &str = "audit.retention_days";
/// Setting: the size (MiB) the database may reach before the oldest records
/// go; absent or `0`: no cap.
pub const RETENTION_MAX_MB_KEY: &str = "audit.retention_max_mb";
/// Setting: arguments longer than this many bytes are stored as a preview
/// of this length, with the full text's size and hash.
pub const PREVIEW_BYTES_KEY: &str = "audit.preview_bytes";

/// Days kept when nothing is set.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The shortest preview that may be set.
pub const MIN_PREVIEW_BYTES: usize = 64;
/// Preview length when nothing is set.
pub const DEFAULT_PREVIEW_BYTES: usize = 4096;

/// Hashes one record's content after `prev`. `buf` is scratch space, reused
/// so that hashing a million records allocates once.
pub(crate) fn record_hash(buf: &mut Vec<u8>, prev: &Hash, fields: &[ValueRef<'_>]) -> Hash {
    buf.clear();
    buf.extend_from_slice(DOMAIN);
    buf.extend_from_slice(prev);
    for (i, field) in fields.iter().enumerate() {
        if i >= FIRST_LEN {
            if matches!(field, ValueRef::Null) {
                continue;
            }
            buf.extend_from_slice(&[ADDED, i as u8]);
        }
        // A type tag, then a fixed-width value or a length-prefixed one: no
        // two different rows encode alike.
        match *field {
            ValueRef::Null => buf.push(0),
            ValueRef::Integer(i) => {
                buf.push(1);
                buf.extend_from_slice(&i.to_le_bytes());
            }
            ValueRef::Real(f) => {
                buf.push(2);
                buf.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                buf.push(if matches!(field, ValueRef::Text(_)) {
                    3
                } else {
                    4
                });
                buf.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                buf.extend_from_slice(bytes);
            }
        }
    }
    Sha256::digest(&buf[..]).into()
}

/// SHA-256 of `bytes`.
pub(super) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The last record of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    pub id: i64,
    pub hash: Hash,
}

/// Reads the chain's head; call inside the write transaction.
pub(super) fn head(conn: &Connection) -> rusqlite::Result<Head> {
    conn.query_row(
        "SELECT head_id, head_hash FROM audit_chain WHERE id = 1",
        [],
        |r| {
            Ok(Head {
                id: r.get(0)?,
                hash: r.get(1)?,
            })
        },
    )
}

/// Moves the chain's head; call in the transaction that added the records.
pub(super) fn set_head(conn: &Connection, head: &Head) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE audit_chain SET head_id = ?1, head_hash = ?2 WHERE id = 1")?
        .execute(params![head.id, head.hash])?;
    Ok(())
}

/// Chains every record after the head, in id order: the records stored
/// before the chain existed, when the migration that adds it runs (inside
/// its transaction). Returns how many were chained.
pub(crate) fn seal(conn: &Connection) -> rusqlite::Result<u64> {
    let mut head = head(conn)?;
    let mut select = conn.prepare(concat!(
        "SELECT id, ",
        content_columns!(),
        " FROM audit_named WHERE id > ?1 ORDER BY id"
    ))?;
    let mut update = conn.prepare("UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE id = ?1")?;
    let mut rows = select.query([head.id])?;
    let mut buf = Vec::with_capacity(512);
    let mut sealed = 0;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let fields: [ValueRef<'_>; CONTENT_LEN] =
            std::array::from_fn(|i| row.get_ref_unwrap(i + 1));
        let hash = record_hash(&mut buf, &head.hash, &fields);
        update.execute(params![id, &head.hash[..LINK_LEN], hash])?;
        head = Head { id, hash };
        sealed += 1;
    }
    if sealed > 0 {
        set_head(conn, &head)?;
    }
    Ok(sealed)
}

/// Every row of a names table (`SELECT id, name ...`), by id.
fn load_names(
    conn: &Connection,
    sql: &str,
) -> rusqlite::Result<std::collections::HashMap<i64, String>> {
    conn.prepare(sql)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Where the chain is broken: the first problem [`Store::audit_verify`]
/// found, walking in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[ts(export)]
pub enum ChainBreak {
    /// The record's content no longer matches its hash: it was edited.
    Edited {
        /// The record.
        id: i64,
    },
    /// The record does not follow the one before it (`previous`, or the
    /// start of the log when `None`): records between them were deleted, or
    /// records were moved.
    Unlinked {
        /// The record.
        id: i64,
        /// The record before it, if any.
        previous: Option<i64>,
    },
    /// The record carries no hash: it was put in behind Gatehouse's back.
    Unsealed {
        /// The record.
        id: i64,
    },
    /// The log ends before the chain's head: its last records were deleted.
    Truncated {
        /// The last record there is, if any.
        last: Option<i64>,
        /// The last record the chain recorded.
        head: i64,
    },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainBreak::Edited { id } => write!(
                f,
                "record {id} was edited: its content no longer matches its hash"
            ),
            ChainBreak::Unlinked {
                id,
                previous: Some(p),
            } => write!(
                f,
                "record {id} does not follow record {p}: records between them were deleted, or records were reordered"
            ),
            ChainBreak::Unlinked { id, previous: None } => write!(
                f,
                "record {id} does not follow the start of the log: earlier records were deleted, or records were reordered"
            ),
            ChainBreak::Unsealed { id } => {
                write!(f, "record {id} has no hash: it was added outside Gatehouse")
            }
            ChainBreak::Truncated {
                last: Some(last),
                head,
            } => write!(
                f,
                "the log ends at record {last} but its chain ends at record {head}: the last records were deleted"
            ),
            ChainBreak::Truncated { last: None, head } => write!(
                f,
                "the log is empty but its chain ends at record {head}: the records were deleted"
            ),
        }
    }
}

/// What [`Store::audit_verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ChainReport {
    /// Records checked (up to the first break).
    #[ts(type = "number")]
    pub records: u64,
    /// The first and last record checked.
    pub first_id: Option<i64>,
    /// See `first_id`.
    pub last_id: Option<i64>,
    /// The last record retention deleted, where the chain starts.
    pub anchor_id: Option<i64>,
    /// Records retention deleted, in all.
    #[ts(type = "number")]
    pub pruned: u64,
    /// The first problem, if the chain is broken.
    pub broken: Option<ChainBreak>,
}

impl ChainReport {
    /// Whether every record is as it was written.
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// How much audit history is kept, and how much of large arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Retention {
    /// Records older than this many days are deleted; `None` keeps them.
    pub days: Option<u32>,
    /// Once the database is larger than this many MiB, the oldest records
    /// are deleted; `None`: no cap.
    #[ts(type = "number | null")]
    pub max_mb: Option<u64>,
    /// Arguments longer than this are stored as a preview of this many
    /// bytes, plus the full text's size and SHA-256.
    #[ts(type = "number")]
    pub preview_bytes: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            days: Some(DEFAULT_RETENTION_DAYS),
            max_mb: None,
            preview_bytes: DEFAULT_PREVIEW_BYTES,
        }
    }
}

/// What [`Store::audit_prune`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PruneReport {
    /// Records deleted now.
    #[ts(type = "number")]
    pub deleted: u64,
    /// The last record deleted (now the anchor), if any.
    pub anchor_id: Option<i64>,
}

/// The preview length set in `conn`'s settings (or the default).
pub(super) fn preview_bytes(conn: &Connection) -> rusqlite::Result<usize> {
    Ok(setting(conn, PREVIEW_BYTES_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PREVIEW_BYTES))
}

fn setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()
}

impl Store {
    /// Walks the audit chain in id order, recomputing each record's hash,
    /// and reports the first record that is edited, missing or out of
    /// place, or a missing tail. Reads one consistent snapshot.
    pub fn audit_verify(&self) -> Result<ChainReport> {
        let tx = self.conn().unchecked_transaction()?;
        let (head_id, head_hash, anchor_id, anchor_hash, pruned) = tx.query_row(
            "SELECT head_id, head_hash, anchor_id, anchor_hash, pruned FROM audit_chain WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Hash>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Hash>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )?;
        let mut report = ChainReport {
            records: 0,
            first_id: None,
            last_id: None,
            anchor_id: (anchor_id != 0).then_some(anchor_id),
            pruned: pruned as u64,
            broken: None,
        };
        // The names, once: every record refers to a few of them.
        let names = load_names(&tx, "SELECT id, name FROM audit_names")?;
        let sessions = load_names(&tx, "SELECT id, name FROM audit_sessions")?;
        let mut select = tx.prepare(concat!(
            "SELECT id, prev_hash, hash, ",
            stored_columns!(),
            " FROM audit ORDER BY id"
        ))?;
        let mut rows = select.query([])?;
        let mut buf = Vec::with_capacity(512);
        let mut prev = anchor_hash;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let broken = match (row.get_ref(1)?, row.get_ref(2)?) {
                (ValueRef::Blob(link), ValueRef::Blob(stored)) => {
                    // Records from before schema v11 keep the whole hash.
                    if link.len() < LINK_LEN || !prev.starts_with(link) {
                        Some(ChainBreak::Unlinked {
                            id,
                            previous: report.last_id,
                        })
                    } else {
                        let fields: [ValueRef<'_>; CONTENT_LEN] = std::array::from_fn(|i| {
                            let value = row.get_ref_unwrap(i + 3);
                            if !NAME_COLUMNS.contains(&i) {
                                return value;
                            }
                            // A name whose row is gone reads as none: the
                            // hash then shows the record as edited.
                            let table = if i == 1 { &sessions } else { &names };
                            match value {
                                ValueRef::Integer(n) => table
                                    .get(&n)
                                    .map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes())),
                                _ => ValueRef::Null,
                            }
                        });
                        let hash = record_hash(&mut buf, &prev, &fields);
                        if hash[..] != *stored {
                            Some(ChainBreak::Edited { id })
                        } else {
                            prev = hash;
                            None
                        }
                    }
                }
                _ => Some(ChainBreak::Unsealed { id }),
            };
            if broken.is_some() {
                report.broken = broken;
                return Ok(report);
            }
            report.records += 1;
            report.first_id.get_or_insert(id);
            report.last_id = Some(id);
        }
        let last = report.last_id.unwrap_or(anchor_id);
        if last != head_id || prev != head_hash {
            report.broken = Some(ChainBreak::Truncated {
                last: report.last_id,
                head: head_id,
            });
        }
        Ok(report)
    }

    /// The audit retention and preview settings.
    pub fn audit_retention(&self) -> Result<Retention> {
        let defaults = Retention::default();
        let number = |key: &str| -> Result<Option<u64>> {
            Ok(self.setting(key)?.and_then(|v| v.trim().parse().ok()))
        };
        Ok(Retention {
            days: match number(RETENTION_DAYS_KEY)? {
                None => defaults.days,
                Some(0) => None,
                Some(d) => Some(d.min(u32::MAX as u64) as u32),
            },
            max_mb: number(RETENTION_MAX_MB_KEY)?.filter(|&m| m > 0),
            preview_bytes: number(PREVIEW_BYTES_KEY)?
                .map_or(defaults.preview_bytes, |b| b as usize),
        })
    }

    /// Saves the audit retention and preview settings. A preview shorter
    /// than [`MIN_PREVIEW_BYTES`] is refused: it would keep too little to
    /// tell calls apart.
    pub fn set_audit_retention(&mut self, retention: &Retention) -> Result<()> {
        if retention.preview_bytes < MIN_PREVIEW_BYTES {
            return Err(crate::Error::InvalidSpec(format!(
                "the preview must keep at least {MIN_PREVIEW_BYTES} bytes, not {}",
                retention.preview_bytes
            )));
        }
        let days = retention.days.unwrap_or(0).to_string();
        self.set_setting(RETENTION_DAYS_KEY, Some(&days))?;
        let max_mb = retention.max_mb.map(|m| m.to_string());
        self.set_setting(RETENTION_MAX_MB_KEY, max_mb.as_deref())?;
        self.set_setting(
            PREVIEW_BYTES_KEY,
            Some(&retention.preview_bytes.to_string()),
        )?;
        Ok(())
    }

    /// Applies retention as of `now` (microseconds since the epoch): deletes
    /// the oldest records up to the first one younger than the retention
    /// period, and more while the database is over its size cap, leaving
    /// the hash of the last one deleted as the chain's anchor so that
    /// verification still passes. The newest record is always kept (record
    /// ids must keep rising for the chain's head to name the end). The size
    /// cap is met approximately: the database's live pages over its record
    /// count estimate the bytes a record takes.
    pub fn audit_prune(&mut self, now: i64) -> Result<PruneReport> {
        self.audit_prune_some(now, i64::MAX)
    }

    /// Whether [`Store::audit_prune`] has anything to do as of `now`: the
    /// oldest record is older than the retention period, or the database
    /// is over its size cap. Reads only, so a proxy can ask at start.
    pub fn audit_prune_due(&self, now: i64) -> Result<bool> {
        let retention = self.audit_retention()?;
        let conn = self.conn();
        if let Some(days) = retention.days {
            let cutoff = now.saturating_sub(i64::from(days) * 86_400 * 1_000_000);
            let oldest: Option<i64> = conn
                .query_row("SELECT time FROM audit ORDER BY id LIMIT 1", [], |r| {
                    r.get(0)
                })
                .optional()?;
            if oldest.is_some_and(|t| t < cutoff) {
                return Ok(true);
            }
        }
        if let Some(max_mb) = retention.max_mb {
            let pragma = |name: &str| -> rusqlite::Result<i64> {
                conn.pragma_query_value(None, name, |r| r.get(0))
            };
            let live = (pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?;
            return Ok(live > max_mb.saturating_mul(1024 * 1024) as i64);
        }
        Ok(false)
    }

    /// Like [`Store::audit_prune`], but deletes at most `max` records, the
    /// oldest first, so a background task never holds the write lock long.
    /// Call it until it deletes nothing.
    pub fn audit_prune_some(&mut self, now: i64, max: i64) -> Result<PruneReport> {
        let retention = self.audit_retention()?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let head = head(&tx)?;
        let mut cut = 0; // records with a smaller id go
        if let Some(days) = retention.days {
            let cutoff = now.saturating_sub(i64::from(days) * 86_400 * 1_000_000);
            let first_kept: Option<i64> = tx
                .query_row(
                    "SELECT id FROM audit WHERE time >= ?1 ORDER BY id LIMIT 1",
                    [cutoff],
                    |r| r.get(0),
                )
                .optional()?;
            cut = cut.max(first_kept.unwrap_or(head.id));
        }
        if let Some(max_mb) = retention.max_mb {
            let cap = max_mb.saturating_mul(1024 * 1024) as i64;
            let pragma = |name: &str| -> rusqlite::Result<i64> {
                tx.pragma_query_value(None, name, |r| r.get(0))
            };
            let live = (pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?;
            if live > cap {
                let count: i64 = tx.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
                if count > 0 {
                    let per_record = (live / count).max(1);
                    let excess = (live - cap + per_record - 1) / per_record;
                    let first_kept: Option<i64> = tx
                        .query_row(
                            "SELECT id FROM audit ORDER BY id LIMIT 1 OFFSET ?1",
                            [excess],
                            |r| r.get(0),
                        )
                        .optional()?;
                    cut = cut.max(first_kept.unwrap_or(head.id));
                }
            }
        }
        let oldest: i64 =
            tx.query_row("SELECT coalesce(min(id), 0) FROM audit", [], |r| r.get(0))?;
        let cut = cut.min(head.id).min(oldest.saturating_add(max.max(1)));
        let anchor: Option<(i64, Hash)> = tx
            .query_row(
                "SELECT id, hash FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT 1",
                [cut],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((anchor_id, anchor_hash)) = anchor else {
            return Ok(PruneReport {
                deleted: 0,
                anchor_id: None,
            });
        };
        let deleted = tx.execute("DELETE FROM audit WHERE id <= ?1", [anchor_id])? as u64;
        tx.execute(
            "UPDATE audit_chain SET anchor_id = ?1, anchor_hash = ?2, pruned = pruned + ?3,
                                    pruned_at = ?4 WHERE id = 1",
            params![anchor_id, anchor_hash, deleted as i64, now],
        )?;
        tx.commit()?;
        Ok(PruneReport {
            deleted,
            anchor_id: Some(anchor_id),
        })
    }
}

#[cfg(test)]
mod tests;
