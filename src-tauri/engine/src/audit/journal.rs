//! A proxy's audit spool: the durable step before an answer is released.
//!
//! Each record is redacted, numbered, and appended with one `write` to the
//! proxy's own file under `audit-spool/` (private to the user, like the
//! database). The page cache keeps it if the proxy crashes; the writer
//! thread moves it into SQLite in batches, off the path of the answer. The
//! file is locked for the proxy's life, so another process can tell a live
//! spool from the spool of a proxy that died, and imports only the latter.
//! Records carry `(session, seq)`, which the database keeps unique: a record
//! both committed by the writer and recovered from the spool is stored once.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::redact::Redactor;
use super::writer::insert_all;
use super::{AuditDecision, AuditError, AuditRecord, AuditWriter, Receipt};
use crate::{DataDir, Error, Result, Store};

/// A spool whose records are all committed is emptied past this size.
const ROTATE_BYTES: u64 = 8 * 1024 * 1024;

/// Where a proxy's records go: its spool file, then the database.
pub struct AuditLog {
    writer: AuditWriter,
    redactor: Redactor,
    spool: Option<Mutex<Spool>>,
}

struct Spool {
    file: File,
    path: PathBuf,
    len: u64,
    next_seq: i64,
    /// Reused for each line.
    line: Vec<u8>,
    /// The receipt of the last record handed to the writer: once it
    /// resolves, every earlier one has too.
    last: Option<Receipt>,
}

impl AuditLog {
    /// Opens the spool of `session` in `dir` and records through `writer`.
    /// `redactor` runs on every record before it is written anywhere.
    pub fn open(
        dir: &DataDir,
        session: &str,
        writer: AuditWriter,
        redactor: Redactor,
    ) -> Result<Self> {
        let spool_dir = dir.audit_spool();
        crate::paths::create_private_dir(&spool_dir)?;
        // Created under a temporary name and locked before it gets the name
        // recovery looks for: a live spool is never mistaken for a dead one.
        let fresh = spool_dir.join(format!("{session}.new"));
        let path = spool_dir.join(format!("{session}.jsonl"));
        let mut options = OpenOptions::new();
        options.create_new(true).append(true).read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&fresh).map_err(|e| Error::io(&fresh, e))?;
        file.lock().map_err(|e| Error::io(&fresh, e))?;
        fs::rename(&fresh, &path).map_err(|e| Error::io(&path, e))?;
        Ok(Self {
            writer,
            redactor,
            spool: Some(Mutex::new(Spool {
                file,
                path,
                len: 0,
                next_seq: 1,
                line: Vec::with_capacity(512),
                last: None,
            })),
        })
    }

    /// A log for a database that could not be opened: every record fails
    /// with `reason`, so every call is refused.
    pub fn unavailable(reason: impl Into<Arc<str>>) -> Self {
        Self {
            writer: AuditWriter::unavailable(reason),
            redactor: Redactor::default(),
            spool: None,
        }
    }

    /// Records `record` durably; the caller may answer once this returns
    /// `Ok`. An error means it is not recorded: the caller must fail closed.
    pub fn record(&self, mut record: AuditRecord) -> std::result::Result<(), AuditError> {
        let Some(spool) = &self.spool else {
            return Err(self.trouble().unwrap_or(AuditError::Stopped));
        };
        record.arguments = record.arguments.map(|a| self.redactor.json(&a));
        record.reason = record.reason.map(|r| self.redactor.text(&r));
        record.rpc_error = record.rpc_error.map(|e| self.redactor.json(&e));
        record.result = record.result.map(|r| match record.result_hash {
            None => self.redactor.json(&r),
            // The first bytes of a longer result: not JSON any more, so
            // redacted as a fragment, and kept as a JSON string.
            Some(_) => serde_json::Value::from(self.redactor.fragment(&r)).to_string(),
        });

        let mut spool = spool.lock().unwrap_or_else(|p| p.into_inner());
        let status = self.writer.status();
        if spool.len > ROTATE_BYTES
            && !status.failed_any()
            && status.committed_seq() == spool.next_seq - 1
        {
            // Everything in the file is in the database: start it afresh.
            spool
                .file
                .set_len(0)
                .map_err(|e| spool_error(&spool.path, e))?;
            spool.len = 0;
        }
        let seq = spool.next_seq;
        record.seq = Some(seq);
        let Spool { file, line, .. } = &mut *spool;
        line.clear();
        serde_json::to_writer(&mut *line, &Line::of(&record))
            .map_err(|e| AuditError::Write(e.to_string().into()))?;
        line.push(b'\n');
        file.write_all(line)
            .map_err(|e| spool_error(&spool.path, e))?;
        spool.len += spool.line.len() as u64;
        spool.next_seq += 1;
        if self.trouble().is_some() {
            // The database is refusing writes and the writer may be stuck
            // retrying: never wait on it. What it cannot take now is in the
            // spool, which is imported when the proxy ends.
            if let Some(receipt) = self.writer.submit_nowait(record) {
                spool.last = Some(receipt);
            }
        } else {
            // Healthy: a full backlog holds the proxy back a moment.
            spool.last = Some(self.writer.submit(record));
        }
        Ok(())
    }

    /// The redaction every record goes through, for whatever else shows a
    /// call (the approval popup).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Why the database is refusing records, if it is: the proxy then
    /// refuses calls and says why.
    pub fn trouble(&self) -> Option<AuditError> {
        self.writer.status().trouble()
    }

    /// Waits until the writer has committed what was recorded, then removes
    /// the spool. If some commit failed, the spool is imported first; if
    /// that fails too, it stays for the next recovery.
    pub async fn finish(&self, database: &Path) {
        let Some(spool) = &self.spool else { return };
        let last = spool.lock().unwrap_or_else(|p| p.into_inner()).last.take();
        if let Some(last) = last {
            let _ = AuditWriter::committed(last).await;
        }
        let spool = spool.lock().unwrap_or_else(|p| p.into_inner());
        if self.writer.status().failed_any() {
            let imported = Store::open_path(database)
                .and_then(|mut store| import(&mut store, &spool.file, &spool.path));
            if let Err(e) = imported {
                eprintln!(
                    "gatehouse: some audit records are not in the database yet ({e}); they are kept in {} and will be imported later",
                    spool.path.display()
                );
                return;
            }
        }
        let _ = fs::remove_file(&spool.path);
    }
}

fn spool_error(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Write(format!("its spool file {}: {e}", path.display()).into())
}

/// Imports the spools of proxies that are no longer running, then removes
/// them. Returns how many records were read (some may have been in the
/// database already).
pub fn recover_spools(dir: &DataDir, store: &mut Store) -> Result<usize> {
    let spool_dir = dir.audit_spool();
    let entries = match fs::read_dir(&spool_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(&spool_dir, e)),
    };
    let mut recovered = 0;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(&spool_dir, e))?.path();
        if path.extension().is_none_or(|ext| ext != "jsonl") {
            continue;
        }
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => continue, // its proxy is running
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        recovered += import(store, &file, &path)?;
        fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    Ok(recovered)
}

/// Reads a spool and stores its records (the ones already there are kept
/// once). A torn or unreadable line is skipped and reported.
fn import(store: &mut Store, file: &File, path: &Path) -> Result<usize> {
    let mut records = Vec::new();
    let mut reader = BufReader::new(file);
    std::io::Seek::rewind(&mut reader).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => match serde_json::from_slice::<OwnedLine>(&buf) {
                Ok(line) => records.push(line.into_record()),
                Err(e) => eprintln!(
                    "gatehouse: skipped an unreadable audit record in {} ({e})",
                    path.display()
                ),
            },
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    insert_all(store.conn_mut(), None, records.iter())?;
    Ok(records.len())
}

/// A record as one line of a spool.
#[derive(Serialize)]
struct Line<'a> {
    seq: i64,
    time: i64,
    session: &'a str,
    client: Option<&'a str>,
    server: &'a str,
    method: Option<&'a str>,
    tool: Option<&'a str>,
    arguments: Option<&'a str>,
    decision: &'a str,
    reason: Option<&'a str>,
    result_size: Option<i64>,
    is_error: Option<bool>,
    rpc_error: Option<&'a str>,
    latency_us: i64,
    result: Option<&'a str>,
    result_hash: Option<[u8; 32]>,
}

impl<'a> Line<'a> {
    fn of(r: &'a AuditRecord) -> Self {
        Self {
            seq: r.seq.unwrap_or_default(),
            time: r.time,
            session: &r.session,
            client: r.client.as_deref(),
            server: &r.server,
            method: r.method.as_deref(),
            tool: r.tool.as_deref(),
            arguments: r.arguments.as_deref(),
            decision: r.decision.as_str(),
            reason: r.reason.as_deref(),
            result_size: r.result_size,
            is_error: r.is_error,
            rpc_error: r.rpc_error.as_deref(),
            latency_us: r.latency_us,
            result: r.result.as_deref(),
            result_hash: r.result_hash,
        }
    }
}

#[derive(Deserialize)]
struct OwnedLine {
    seq: i64,
    time: i64,
    session: String,
    client: Option<String>,
    server: String,
    method: Option<String>,
    tool: Option<String>,
    arguments: Option<String>,
    decision: String,
    reason: Option<String>,
    result_size: Option<i64>,
    is_error: Option<bool>,
    rpc_error: Option<String>,
    latency_us: i64,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    result_hash: Option<[u8; 32]>,
}

impl OwnedLine {
    fn into_record(self) -> AuditRecord {
        AuditRecord {
            time: self.time,
            session: self.session.into(),
            client: self.client.map(Into::into),
            server: self.server.into(),
            method: self.method,
            tool: self.tool,
            arguments: self.arguments,
            decision: AuditDecision::parse(&self.decision).unwrap_or(AuditDecision::Error),
            reason: self.reason,
            result_size: self.result_size,
            is_error: self.is_error,
            rpc_error: self.rpc_error,
            result: self.result,
            result_hash: self.result_hash,
            latency_us: self.latency_us,
            seq: Some(self.seq),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditFilter;
    use crate::audit::writer::BACKLOG;
    use crate::secrets::SecretValue;

    const CANARY: &str = "sk-journal-canary-42";

    fn record(session: &str, tool: &str) -> AuditRecord {
        AuditRecord {
            time: 1_000,
            arguments: Some(format!(
                r#"{{"note":"uses {CANARY}","password":"hunter2"}}"#
            )),
            ..AuditRecord::call(session, "fs", tool)
        }
    }

    fn open(dir: &DataDir, session: &str) -> AuditLog {
        let writer = AuditWriter::spawn(&dir.database(), None).unwrap();
        let redactor = Redactor::new([SecretValue::new(CANARY)]);
        AuditLog::open(dir, session, writer, redactor).unwrap()
    }

    fn stored(dir: &DataDir) -> Vec<String> {
        let store = Store::open(dir).unwrap();
        let filter = AuditFilter {
            limit: 100,
            ..Default::default()
        };
        let mut tools: Vec<String> = store
            .audit_list(&filter)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.tool)
            .collect();
        tools.sort();
        tools
    }

    fn spool_files(dir: &DataDir) -> Vec<PathBuf> {
        fs::read_dir(dir.audit_spool())
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn records_are_spooled_redacted_then_committed_and_the_spool_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        Store::open(&dir).unwrap();
        let log = open(&dir, "s1");
        log.record(record("s1", "read")).unwrap();
        log.record(record("s1", "write")).unwrap();

        let [spool] = spool_files(&dir).try_into().unwrap();
        let text = fs::read_to_string(&spool).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains(r#""seq":1"#) && text.contains(r#""seq":2"#));
        assert!(
            !text.contains(CANARY) && !text.contains("hunter2"),
            "{text}"
        );

        log.finish(&dir.database()).await;
        assert_eq!(stored(&dir), ["read", "write"]);
        assert!(spool_files(&dir).is_empty(), "a finished spool is removed");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_spool_of_a_proxy_that_died_is_imported_once_and_a_live_one_is_left() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        Store::open(&dir).unwrap();

        // A proxy that died: its spool holds two records, one of which its
        // writer had committed, and a torn last line.
        let dead = open(&dir, "dead");
        dead.record(record("dead", "committed")).unwrap();
        // Wait for the writer, as the proxy would have before dying.
        let receipt = dead
            .spool
            .as_ref()
            .unwrap()
            .lock()
            .unwrap()
            .last
            .take()
            .unwrap();
        AuditWriter::committed(receipt).await.unwrap();
        let path = dead.spool.as_ref().unwrap().lock().unwrap().path.clone();
        let mut line = serde_json::to_vec(&Line::of(&AuditRecord {
            seq: Some(2),
            ..record("dead", "only-in-spool")
        }))
        .unwrap();
        line.push(b'\n');
        line.extend_from_slice(br#"{"seq":3,"time":"#);
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&line)
            .unwrap();
        let live = open(&dir, "live");
        live.record(record("live", "live")).unwrap();
        drop(dead); // the process is gone: its lock with it

        let mut store = Store::open(&dir).unwrap();
        assert_eq!(recover_spools(&dir, &mut store).unwrap(), 2);
        // ("live" may be there too: its own writer commits it meanwhile.)
        let after = stored(&dir);
        let dead_ones: Vec<_> = after.iter().filter(|t| *t != "live").collect();
        assert_eq!(dead_ones, ["committed", "only-in-spool"], "each once");
        assert_eq!(spool_files(&dir).len(), 1, "the live spool stays");
        assert_eq!(recover_spools(&dir, &mut store).unwrap(), 0);

        live.finish(&dir.database()).await;
        assert_eq!(stored(&dir), ["committed", "live", "only-in-spool"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn while_the_database_is_locked_calls_never_wait_and_nothing_is_lost() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path()).unwrap();
        let mut blocker = Store::open(&dir).unwrap();
        let log = open(&dir, "s");
        blocker.conn_mut().execute_batch("BEGIN IMMEDIATE").unwrap();

        log.record(record("s", "first")).unwrap();
        // The writer gives up on its commit after the busy timeout.
        while log.trouble().is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let trouble = log.trouble().unwrap().to_string();
        assert!(trouble.contains("locked"), "{trouble}");
        // More than the writer's backlog holds: none of these may wait.
        for i in 0..(3 * BACKLOG) {
            log.record(record("s", &format!("t{i:05}"))).unwrap();
        }
        blocker.conn_mut().execute_batch("ROLLBACK").unwrap();

        log.finish(&dir.database()).await;
        let stored = stored_count(&dir);
        assert_eq!(stored, 1 + 3 * BACKLOG, "every record, once");
        assert!(spool_files(&dir).is_empty());
    }

    fn stored_count(dir: &DataDir) -> usize {
        let store = Store::open(dir).unwrap();
        store
            .conn()
            .query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0))
            .unwrap() as usize
    }
}
