//! Audit upkeep in the background, on its own connection so the UI never
//! waits for it: the full-text index follows new records (a search then
//! finds it current instead of indexing first), and retention runs at start
//! and every hour. Both work in small transactions: the proxies' writers
//! wait on the write lock, and must never wait long.

use std::time::{Duration, Instant};

use gatehouse_engine::{DataDir, Store, now_micros};

/// Records indexed, or deleted by retention, per transaction.
const CHUNK: i64 = 5_000;
/// The pause between two chunks, when there is more to do.
const BREATHE: Duration = Duration::from_millis(20);
/// How often new records are looked for.
const TICK: Duration = Duration::from_secs(1);
/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3_600);

/// Starts the upkeep thread.
pub fn start(dir: DataDir) {
    std::thread::Builder::new()
        .name("audit-upkeep".into())
        .spawn(move || {
            let mut store = loop {
                match Store::open(&dir) {
                    Ok(store) => break store,
                    Err(err) => {
                        eprintln!("gatehouse: audit upkeep cannot open the store yet: {err}");
                        std::thread::sleep(Duration::from_secs(5));
                    }
                }
            };
            let mut next_retention = Instant::now();
            loop {
                in_chunks("indexing the audit log", || {
                    store.audit_index_text_some(CHUNK)
                });
                if Instant::now() >= next_retention {
                    next_retention = Instant::now() + RETENTION_EVERY;
                    let now = now_micros();
                    in_chunks("applying audit retention", || {
                        store.audit_prune_some(now, CHUNK).map(|r| r.deleted)
                    });
                }
                std::thread::sleep(TICK);
            }
        })
        .expect("spawning a thread");
}

/// Calls `step` until it has nothing left to do (returns 0) or fails.
fn in_chunks(what: &str, mut step: impl FnMut() -> gatehouse_engine::Result<u64>) {
    loop {
        match step() {
            Ok(0) => return,
            Ok(_) => std::thread::sleep(BREATHE),
            Err(err) => {
                eprintln!("gatehouse: {what} failed: {err}");
                return;
            }
        }
    }
}
