//! The audit log's hash chain: sustained ingest through 4 concurrent audit
//! writers (each its own connection and thread, contending for SQLite's
//! write lock as 4 proxy processes do; every record is hashed and linked
//! in the writer's transaction), then `audit verify` over the result.
//! Targets (issue 6): ingest ≥ 50,000 records/s across 4 writers, verify
//! ≥ 500,000 records/s on 1,000,000 records.
//!
//! Run: `cargo bench -p gatehouse-bench --bench audit_chain`
//! (`AUDIT_BENCH_RECORDS` sets the total, default 1,000,000;
//! `AUDIT_BENCH_WRITERS` the writers, default 4.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use gatehouse_engine::audit::{AuditDecision, AuditRecord, AuditWriter};
use gatehouse_engine::{DataDir, Store, now_micros};

fn main() {
    let total: usize = std::env::var("AUDIT_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let writers: usize = std::env::var("AUDIT_BENCH_WRITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let per_writer = total / writers;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = DataDir::at(tmp.path()).expect("data dir");
    Store::open(&dir).expect("database");
    let database = dir.database();
    let now = now_micros();

    let refused_total = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let database = &database;
            let refused_total = &refused_total;
            scope.spawn(move || {
                let writer = AuditWriter::spawn(database, None).expect("writer");
                let session: Arc<str> = format!("bench-{w}").into();
                let client: Arc<str> = "claude-code".into();
                let server: Arc<str> = "files".into();
                let receipts: Vec<_> = (0..per_writer)
                    .map(|i| {
                        // A small call, as most are: a read of one file.
                        writer.submit(AuditRecord {
                            time: now + i as i64,
                            session: session.clone(),
                            client: Some(client.clone()),
                            server: server.clone(),
                            method: Some("tools/call".into()),
                            tool: Some("read_file".into()),
                            arguments: Some(format!(r#"{{"path":"/home/me/src/file{i}.rs"}}"#)),
                            decision: AuditDecision::Allowed,
                            reason: None,
                            result_size: Some(1834),
                            is_error: Some(false),
                            rpc_error: None,
                            result: None,
                            result_hash: None,
                            latency_us: 420,
                            seq: Some(i as i64 + 1),
                        })
                    })
                    .collect();
                // A batch the database refused (a proxy keeps it in its
                // spool and imports it later) is counted, not retried.
                let refused = receipts
                    .into_iter()
                    .map(|r| r.blocking_recv().map_or(true, |outcome| outcome.is_err()))
                    .filter(|&failed| failed)
                    .count();
                refused_total.fetch_add(refused, Ordering::Relaxed);
            });
        }
    });
    let ingest = started.elapsed();
    let refused = refused_total.into_inner();
    let committed = per_writer * writers - refused;
    let records = committed as f64;
    println!(
        "ingest: {committed} records through {writers} writers in {:.2} s = {:.0} records/s \
         ({refused} refused: database busy)",
        ingest.as_secs_f64(),
        records / ingest.as_secs_f64()
    );

    // Writers checkpoint only when idle: fold the log into the database
    // before measuring its size and verifying. The checkpoint says whether
    // it could copy every page back (busy = 0) and empty the log.
    let conn = rusqlite::Connection::open(&database).expect("database");
    let (busy, log, copied): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("checkpoint");
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .expect("pragma")
    };
    let in_use = (pragma("page_count") - pragma("freelist_count")) * pragma("page_size");
    drop(conn);
    let store = Store::open(&dir).expect("database");
    let wal = database.with_extension("db-wal");
    let file = std::fs::metadata(&database).expect("database size").len();
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    println!(
        "checkpoint: busy {busy}, {log} log frames, {copied} copied; \
         database file {:.1} MiB + log {:.1} MiB",
        file as f64 / (1024.0 * 1024.0),
        wal_len as f64 / (1024.0 * 1024.0)
    );
    println!(
        "size: {:.0} bytes per record in use (file and log: {:.0}; no search index: \
         this bench does not search)",
        in_use as f64 / records,
        (file + wal_len) as f64 / records
    );

    // Twice: the first run may read from disk, the second from the cache.
    for run in ["first", "second"] {
        let started = Instant::now();
        let report = store.audit_verify().expect("verify");
        let took = started.elapsed();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.records as usize, committed);
        println!(
            "verify ({run} run): {} records in {:.2} s = {:.0} records/s",
            report.records,
            took.as_secs_f64(),
            report.records as f64 / took.as_secs_f64()
        );
    }
}
