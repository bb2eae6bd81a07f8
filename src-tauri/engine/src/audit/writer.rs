//! The audit writer thread and its group commit.

use std::path::Path;
use std::sync::{Arc, mpsc};

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::AuditRecord;
use super::redact::Redactor;
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
}

#[derive(Clone, Debug)]
enum Sink {
    Thread(mpsc::Sender<(AuditRecord, Ack)>),
    /// No database: every record fails, so every call is refused.
    Unavailable(Arc<str>),
}

impl AuditWriter {
    /// Starts the writer thread on the database at `path`. Every record's
    /// arguments, reason and error pass through `redactor` before storage.
    pub fn spawn(path: &Path, redactor: Redactor) -> Result<Self> {
        // Opening through Store runs the migrations and pragmas.
        let mut store = Store::open_path(path)?;
        // Checkpoints run when the writer is idle (see `run`), never inside
        // a commit that answers are waiting for.
        store
            .conn_mut()
            .pragma_update(None, "wal_autocheckpoint", 0)?;
        let (tx, rx) = mpsc::channel::<(AuditRecord, Ack)>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(store, redactor, rx))
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            sink: Sink::Thread(tx),
        })
    }

    /// A writer for a database that could not be opened: each record fails
    /// with `reason`, so a proxy built on it refuses every call and says why.
    pub fn unavailable(reason: impl Into<Arc<str>>) -> Self {
        Self {
            sink: Sink::Unavailable(reason.into()),
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

    /// Waits for a receipt from [`AuditWriter::submit`].
    pub async fn committed(receipt: Receipt) -> std::result::Result<(), AuditError> {
        receipt.await.unwrap_or(Err(AuditError::Stopped))
    }
}

/// Checkpoint the WAL once this many records were committed since the last
/// checkpoint and nothing is waiting.
const CHECKPOINT_EVERY: usize = 2048;

fn run(mut store: Store, redactor: Redactor, rx: mpsc::Receiver<(AuditRecord, Ack)>) {
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
                match rx.recv() {
                    Ok(first) => first,
                    Err(_) => break,
                }
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcome = commit(store.conn_mut(), &redactor, &batch)
            .map_err(|e| AuditError::Write(e.to_string().into()));
        since_checkpoint += batch.len();
        for (_, ack) in batch.drain(..) {
            let _ = ack.send(outcome.clone());
        }
    }
}

fn commit(
    conn: &mut Connection,
    redactor: &Redactor,
    batch: &[(AuditRecord, Ack)],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO audit (time, session, client, server, method, tool, arguments, decision,
                                reason, result_size, is_error, rpc_error, latency_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for (r, _) in batch {
            insert.execute(params![
                r.time,
                &*r.session,
                r.client.as_deref(),
                &*r.server,
                r.method,
                r.tool,
                r.arguments.as_deref().map(|a| redactor.json(a)),
                r.decision.as_str(),
                r.reason.as_deref().map(|t| redactor.text(t)),
                r.result_size,
                r.is_error,
                r.rpc_error.as_deref().map(|e| redactor.json(e)),
                r.latency_us,
            ])?;
        }
    }
    tx.commit()
}
