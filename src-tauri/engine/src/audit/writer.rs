//! The audit writer thread and its group commit.

use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, mpsc};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use tokio::sync::oneshot;

use super::redact::Redactor;
use super::{AuditRecord, chain};
use crate::{Error, Result, Store};

/// Most records committed in one transaction.
const MAX_BATCH: usize = 512;

type Ack = oneshot::Sender<std::result::Result<(), AuditError>>;

/// Resolves when a submitted record is committed (or failed to be).
pub type Receipt = oneshot::Receiver<std::result::Result<(), AuditError>>;

/// Why a record is not in the audit log. The caller must then fail closed:
/// nothing that was not recorded is acknowledged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The writer thread is gone (it panicked or the process is ending).
    #[error("Gatehouse's audit writer has stopped; the call was not recorded")]
    Stopped,
    /// The database refused the write (locked, full, unreadable...).
    #[error("Gatehouse could not write its audit log ({0}); the call was not recorded")]
    Write(Arc<str>),
    /// The database could not be opened at all.
    #[error("Gatehouse cannot use its database ({0}); the call was refused and not recorded")]
    Unavailable(Arc<str>),
}

/// Appends audit records from any thread or task; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    sink: Sink,
    status: Arc<Status>,
}

/// What the writer thread reports, for a proxy's spool to act on without
/// waiting: whether the database is refusing writes, and how far its
/// numbered records are committed.
#[derive(Debug, Default)]
pub(super) struct Status {
    /// Why the last commit failed; cleared by the next success.
    trouble: std::sync::Mutex<Option<AuditError>>,
    /// Whether `trouble` is set: checked on every call without the lock.
    troubled: AtomicBool,
    /// The highest `seq` committed so far.
    committed_seq: AtomicI64,
    /// Some commit failed, or some record was not handed over: the spool
    /// holds records the database may lack.
    failed_any: AtomicBool,
}

impl Status {
    pub(super) fn trouble(&self) -> Option<AuditError> {
        if !self.troubled.load(Ordering::Acquire) {
            return None;
        }
        self.trouble
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn committed_seq(&self) -> i64 {
        self.committed_seq.load(Ordering::Acquire)
    }

    pub(super) fn failed_any(&self) -> bool {
        self.failed_any.load(Ordering::Acquire)
    }

    fn set(&self, outcome: &std::result::Result<(), AuditError>, max_seq: Option<i64>) {
        let mut trouble = self.trouble.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(()) => {
                *trouble = None;
                self.troubled.store(false, Ordering::Release);
                if let Some(seq) = max_seq {
                    self.committed_seq.fetch_max(seq, Ordering::AcqRel);
                }
            }
            Err(e) => {
                *trouble = Some(e.clone());
                self.troubled.store(true, Ordering::Release);
                self.failed_any.store(true, Ordering::Release);
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Sink {
    Thread(mpsc::SyncSender<(AuditRecord, Ack)>),
    /// No database: every record fails, so every call is refused.
    Unavailable(Arc<str>),
}

impl AuditWriter {
    /// Starts the writer thread on the database at `path`. Every record's
    /// arguments, reason and error pass through `redactor` before storage,
    /// if one is given (an [`super::AuditLog`] redacts before this).
    pub fn spawn(path: &Path, redactor: Option<Redactor>) -> Result<Self> {
        // Opening through Store runs the migrations and pragmas.
        let mut store = Store::open_path(path)?;
        // Checkpoints run when the writer is idle (see `run`), never inside
        // a commit that answers are waiting for.
        store
            .conn_mut()
            .pragma_update(None, "wal_autocheckpoint", 0)?;
        // Bounded: a burst faster than the database holds the proxy back
        // (its records are safe in its spool) instead of growing memory.
        let (tx, rx) = mpsc::sync_channel::<(AuditRecord, Ack)>(BACKLOG);
        let status = Arc::new(Status::default());
        let reported = status.clone();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(store, redactor, rx, &reported))
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            sink: Sink::Thread(tx),
            status,
        })
    }

    /// A writer for a database that could not be opened: each record fails
    /// with `reason`, so a proxy built on it refuses every call and says why.
    pub fn unavailable(reason: impl Into<Arc<str>>) -> Self {
        let reason: Arc<str> = reason.into();
        let status = Status::default();
        status.set(&Err(AuditError::Unavailable(reason.clone())), None);
        Self {
            sink: Sink::Unavailable(reason),
            status: Arc::new(status),
        }
    }

    /// Appends `record`, returning once it is committed. An error means the
    /// record is not in the log; the caller must then fail closed.
    pub async fn append(&self, record: AuditRecord) -> std::result::Result<(), AuditError> {
        Self::committed(self.submit(record)).await
    }

    /// Queues `record` without waiting; await [`AuditWriter::committed`] on
    /// the receipt before acknowledging anything to the client. Lets a proxy
    /// keep reading while earlier records commit.
    pub fn submit(&self, record: AuditRecord) -> Receipt {
        let (ack, done) = oneshot::channel();
        match &self.sink {
            Sink::Thread(tx) => {
                if let Err(mpsc::SendError((_, ack))) = tx.send((record, ack)) {
                    let _ = ack.send(Err(AuditError::Stopped));
                }
            }
            Sink::Unavailable(reason) => {
                let _ = ack.send(Err(AuditError::Unavailable(reason.clone())));
            }
        }
        done
    }

    pub(super) fn status(&self) -> &Status {
        &self.status
    }

    /// Like [`AuditWriter::submit`], but never waits for room: `None` if
    /// the backlog is full. For records that are safe elsewhere (a spool)
    /// while the database is refusing writes; the status then reports that
    /// not everything was handed over.
    pub(super) fn submit_nowait(&self, record: AuditRecord) -> Option<Receipt> {
        let Sink::Thread(tx) = &self.sink else {
            return Some(self.submit(record));
        };
        let (ack, done) = oneshot::channel();
        match tx.try_send((record, ack)) {
            Ok(()) => Some(done),
            Err(mpsc::TrySendError::Full(_)) => {
                self.status.failed_any.store(true, Ordering::Release);
                None
            }
            Err(mpsc::TrySendError::Disconnected((_, ack))) => {
                let _ = ack.send(Err(AuditError::Stopped));
                Some(done)
            }
        }
    }

    /// Waits for a receipt from [`AuditWriter::submit`].
    pub async fn committed(receipt: Receipt) -> std::result::Result<(), AuditError> {
        receipt.await.unwrap_or(Err(AuditError::Stopped))
    }
}

/// Most records waiting for the writer.
pub(super) const BACKLOG: usize = 4 * MAX_BATCH;

/// How long the writer lets records gather after the first of a burst.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

/// Checkpoint the WAL once this many records were committed since the last
/// checkpoint and nothing is waiting.
const CHECKPOINT_EVERY: usize = 2048;

fn run(
    mut store: Store,
    redactor: Option<Redactor>,
    rx: mpsc::Receiver<(AuditRecord, Ack)>,
    status: &Status,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut since_checkpoint = 0;
    loop {
        let first = match rx.try_recv() {
            Ok(first) => first,
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                if since_checkpoint >= CHECKPOINT_EVERY {
                    // PASSIVE: copies what it can without blocking anyone.
                    let _ = store.conn_mut().query_row(
                        "PRAGMA wal_checkpoint(PASSIVE)",
                        [],
                        |_| Ok(()),
                    );
                    since_checkpoint = 0;
                }
                let Ok(first) = rx.recv() else { break };
                // The first record after a quiet spell: let the burst
                // gather rather than wake this thread for each record.
                // Every wake-up is a context switch the proxy's hot path
                // pays for on a busy machine, and nobody waits on the
                // commit to answer (the spool is the durable step).
                std::thread::sleep(GATHER);
                first
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcome = commit(store.conn_mut(), redactor.as_ref(), &batch)
            .map_err(|e| AuditError::Write(e.to_string().into()));
        status.set(&outcome, batch.iter().filter_map(|(r, _)| r.seq).max());
        since_checkpoint += batch.len();
        for (_, ack) in batch.drain(..) {
            let _ = ack.send(outcome.clone());
        }
    }
}

fn commit(
    conn: &mut Connection,
    redactor: Option<&Redactor>,
    batch: &[(AuditRecord, Ack)],
) -> rusqlite::Result<()> {
    insert_all(conn, redactor, batch.iter().map(|(r, _)| r))
}

/// Stores `records` in one transaction, redacted by `redactor` if given
/// (records from a proxy's [`super::AuditLog`] already are), and links each
/// into the hash chain (see [`super::chain`]). A record whose
/// `(session, seq)` is already stored is skipped. Arguments longer than the
/// preview setting are stored as a preview (a JSON string of their first
/// bytes) with the full text's size and SHA-256.
pub(crate) fn insert_all<'a>(
    conn: &mut Connection,
    redactor: Option<&Redactor>,
    records: impl Iterator<Item = &'a AuditRecord>,
) -> rusqlite::Result<()> {
    let json = |text: &'a Option<String>| -> Option<Cow<'a, str>> {
        let text = text.as_deref()?;
        Some(redactor.map_or(Cow::Borrowed(text), |r| Cow::Owned(r.json(text))))
    };
    // IMMEDIATE: the write lock is taken before the chain's head is read,
    // so no other process can link a record to the same head.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let preview = chain::preview_bytes(&tx)?;
        let mut head = chain::head(&tx)?;
        let start = head;
        let mut buf = Vec::with_capacity(512);
        let mut insert = tx.prepare_cached(concat!(
            "INSERT OR IGNORE INTO audit (",
            chain::stored_columns!(),
            ", prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
        ))?;
        let mut names = Names::default();
        for r in records {
            let reason = r.reason.as_deref().map(|t| match redactor {
                Some(redactor) => Cow::Owned(redactor.text(t)),
                None => Cow::Borrowed(t),
            });
            let (arguments, arguments_size, arguments_hash) = match json(&r.arguments) {
                Some(full) if full.len() > preview => {
                    let size = full.len() as i64;
                    let hash = chain::sha256(full.as_bytes());
                    let mut end = preview;
                    while !full.is_char_boundary(end) {
                        end -= 1;
                    }
                    // Still JSON, so readers that parse arguments can.
                    let text = serde_json::Value::from(&full[..end]).to_string();
                    (Some(Cow::Owned(text)), Some(size), Some(hash))
                }
                other => (other, None, None),
            };
            let rpc_error = json(&r.rpc_error);
            let result = json(&r.result);
            let text =
                |t: Option<&'a str>| t.map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes()));
            let int = |i: Option<i64>| i.map_or(ValueRef::Null, ValueRef::Integer);
            let fields: [ValueRef<'_>; chain::CONTENT_LEN] = [
                ValueRef::Integer(r.time),
                ValueRef::Text(r.session.as_bytes()),
                text(r.client.as_deref()),
                ValueRef::Text(r.server.as_bytes()),
                text(r.method.as_deref()),
                text(r.tool.as_deref()),
                arguments
                    .as_deref()
                    .map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes())),
                int(arguments_size),
                arguments_hash
                    .as_ref()
                    .map_or(ValueRef::Null, |h| ValueRef::Blob(h)),
                ValueRef::Text(r.decision.as_str().as_bytes()),
                reason
                    .as_deref()
                    .map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes())),
                int(r.result_size),
                int(r.is_error.map(i64::from)),
                rpc_error
                    .as_deref()
                    .map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes())),
                ValueRef::Integer(r.latency_us),
                int(r.seq),
                result
                    .as_deref()
                    .map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes())),
                r.result_hash
                    .as_ref()
                    .map_or(ValueRef::Null, |h| ValueRef::Blob(h)),
            ];
            let hash = chain::record_hash(&mut buf, &head.hash, &fields);
            // Stored: the names as ids, and the start of the previous hash.
            let mut stored = fields;
            let ids = [
                Some(names.session(&tx, &r.session)?),
                r.client
                    .as_deref()
                    .map(|c| names.name(&tx, c))
                    .transpose()?,
                Some(names.name(&tx, &r.server)?),
                r.method
                    .as_deref()
                    .map(|m| names.name(&tx, m))
                    .transpose()?,
                r.tool.as_deref().map(|t| names.name(&tx, t)).transpose()?,
            ];
            for (slot, id) in stored[chain::NAME_COLUMNS].iter_mut().zip(ids) {
                *slot = id.map_or(ValueRef::Null, ValueRef::Integer);
            }
            let inserted = insert.execute(params_from_iter(
                stored
                    .iter()
                    .copied()
                    .chain([
                        ValueRef::Blob(&head.hash[..chain::LINK_LEN]),
                        ValueRef::Blob(&hash),
                    ])
                    .map(ToSqlOutput::Borrowed),
            ))?;
            if inserted == 1 {
                head = chain::Head {
                    id: tx.last_insert_rowid(),
                    hash,
                };
            }
        }
        if head != start {
            chain::set_head(&tx, &head)?;
        }
    }
    tx.commit()
}

/// The ids of the names a batch's records carry (schema v11), looked up or
/// added in the batch's transaction. Kept for that transaction only: an id
/// added by one that rolls back must not outlive it.
#[derive(Default)]
struct Names {
    names: std::collections::HashMap<String, i64>,
    sessions: std::collections::HashMap<String, i64>,
}

impl Names {
    /// The id of a client, server, method or tool name.
    fn name(&mut self, tx: &Connection, name: &str) -> rusqlite::Result<i64> {
        Self::id(&mut self.names, tx, "audit_names", name)
    }

    /// The id of a session.
    fn session(&mut self, tx: &Connection, name: &str) -> rusqlite::Result<i64> {
        Self::id(&mut self.sessions, tx, "audit_sessions", name)
    }

    fn id(
        cache: &mut std::collections::HashMap<String, i64>,
        tx: &Connection,
        table: &str,
        name: &str,
    ) -> rusqlite::Result<i64> {
        if let Some(id) = cache.get(name) {
            return Ok(*id);
        }
        let found = tx
            .prepare_cached(&format!("SELECT id FROM {table} WHERE name = ?1"))?
            .query_row([name], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                tx.prepare_cached(&format!("INSERT INTO {table} (name) VALUES (?1)"))?
                    .execute([name])?;
                tx.last_insert_rowid()
            }
        };
        cache.insert(name.to_owned(), id);
        Ok(id)
    }
}
