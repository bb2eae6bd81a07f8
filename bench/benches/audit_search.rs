//! Audit search and export on a large store (the issue's targets, on
//! 1,000,000 records: a filtered page of 100 in at most 20 ms, a full-text
//! search in at most 100 ms, at most 400 bytes per record on disk).
//!
//! It fills a fresh store through the real [`AuditWriter`] (the proxy's
//! path: triggers, the full-text index and any chaining included) with small
//! tool calls spread over 90 days: 10 servers, 60 tools, 3 clients, mostly
//! allowed, a few denied, asked or failed; arguments are a path or a short
//! query drawn from a 4,000-word vocabulary. Then it times pages and
//! searches (median and worst of 15 runs each, after one warm-up, on a warm
//! cache as the History page sees it) and a full export.
//!
//! Run: `cargo bench -p gatehouse-bench --bench audit_search`
//! (`AUDIT_BENCH_RECORDS=100000` for a quicker run.)

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_engine::audit::{AuditDecision, AuditFilter, AuditRecord, AuditWriter, ExportFormat};
use gatehouse_engine::{DataDir, Store};

const DAY_US: i64 = 86_400_000_000;
const START: i64 = 1_760_000_000_000_000;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Word `i` of the vocabulary: pronounceable, distinct.
fn word(i: u64) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ra", "te", "sun", "vel", "dor", "pa", "qui", "zen", "bo", "fy", "gar",
        "ni", "xu",
    ];
    let mut w = String::new();
    let mut n = i;
    for _ in 0..3 {
        w.push_str(SYLLABLES[(n % 16) as usize]);
        n /= 16;
    }
    w
}

fn record(
    rng: &mut Rng,
    i: u64,
    total: u64,
    servers: &[Arc<str>],
    clients: &[Arc<str>],
) -> AuditRecord {
    let server = rng.below(servers.len() as u64) as usize;
    let tool = rng.below(6);
    let roll = rng.below(100);
    let decision = match roll {
        0..=89 => AuditDecision::Allowed,
        90..=94 => AuditDecision::Denied,
        95..=97 => AuditDecision::Asked,
        _ => AuditDecision::Error,
    };
    let arguments = if tool.is_multiple_of(2) {
        format!(
            r#"{{"path":"/home/user/projects/{}/src/{}.rs"}}"#,
            word(rng.below(4000)),
            word(rng.below(4000))
        )
    } else {
        format!(
            r#"{{"query":"{} {}","limit":10}}"#,
            word(rng.below(4000)),
            word(rng.below(4000))
        )
    };
    AuditRecord {
        time: START + (i as i64) * (90 * DAY_US / total as i64),
        // Shaped like a proxy's: its process id and start time, in hex.
        session: Arc::from(format!(
            "{:x}-{:x}",
            40_000 + i / 5000,
            START + (i / 5000) as i64
        )),
        client: Some(clients[rng.below(clients.len() as u64) as usize].clone()),
        server: servers[server].clone(),
        method: Some("tools/call".into()),
        tool: Some(format!("tool_{server}_{tool}")),
        arguments: Some(arguments),
        decision,
        reason: (decision == AuditDecision::Denied)
            .then(|| "argument rule: path outside the allowed folders".into()),
        result_size: Some(200 + rng.below(2000) as i64),
        is_error: Some(decision == AuditDecision::Error),
        rpc_error: None,
        // A small call's result: a line or two of text.
        result: (decision != AuditDecision::Denied).then(|| {
            format!(
                r#"{{"content":[{{"type":"text","text":"{} {} {}"}}],"isError":false}}"#,
                word(rng.below(4000)),
                word(rng.below(4000)),
                word(rng.below(4000))
            )
        }),
        result_hash: None,
        latency_us: 100 + rng.below(5000) as i64,
        // Numbered within the session, as a proxy's spool numbers them (and
        // so counted in the `(session, seq)` index, as real records are).
        seq: Some((i % 5000) as i64 + 1),
    }
}

/// Median and worst of `runs` timings of `f`, after one warm-up; and the
/// last result's length.
fn time<T>(runs: usize, mut f: impl FnMut() -> Vec<T>) -> (Duration, Duration, usize) {
    let mut len = black_box(f()).len();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            len = black_box(f()).len();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[runs - 1], len)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let total: u64 = std::env::var("AUDIT_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    // `AUDIT_BENCH_DIR`: keep the store there and, if it is already filled,
    // time the queries again without refilling it.
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = std::env::var_os("AUDIT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let dir = DataDir::at(&path).expect("data dir");
    // Create and migrate the database before the writer opens it.
    let existing = Store::open(&dir)
        .expect("store")
        .audit_list(&AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .expect("read")
        .len();
    let writer = AuditWriter::spawn(&dir.database(), None).expect("writer");
    let servers: Vec<Arc<str>> = (0..10).map(|s| Arc::from(format!("server-{s}"))).collect();
    let clients: Vec<Arc<str>> = ["claude-desktop", "cursor", "claude-code"]
        .into_iter()
        .map(Arc::from)
        .collect();

    let mut rng = Rng(42);
    let start = Instant::now();
    let total_to_write = if existing > 0 { 0 } else { total };
    let mut last = None;
    for i in 0..total_to_write {
        last = Some(writer.submit(record(&mut rng, i, total, &servers, &clients)));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    if let Some(last) = last {
        runtime
            .block_on(AuditWriter::committed(last))
            .expect("committed");
    }
    let ingest = start.elapsed();
    if total_to_write > 0 {
        println!(
            "ingest: {total} records in {:.1} s ({:.0} records/s, one writer)",
            ingest.as_secs_f64(),
            total as f64 / ingest.as_secs_f64()
        );
    }
    drop(writer);

    // The full-text index is filled on demand (the first search, or the
    // app in the background), not by the writer: index the whole log once,
    // as the app would, before timing searches.
    let started = Instant::now();
    let indexed = Store::open(&dir)
        .expect("store")
        .audit_index_text()
        .expect("index");
    println!(
        "full-text indexing: {indexed} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The database's own size (pages in use, whether still in the WAL or
    // not), so the writer's WAL file does not count twice.
    let conn = rusqlite::Connection::open(dir.database()).expect("open");
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("page count");
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page size");
    let bytes = (pages * page_size) as f64;
    println!(
        "on disk: {:.1} MB, {:.0} bytes per record",
        bytes / 1e6,
        bytes / total as f64
    );
    if let Ok(mut stmt) =
        conn.prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
    {
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .expect("dbstat");
        for row in rows {
            let (name, size) = row.expect("dbstat row");
            if size < 1_000_000 {
                continue; // the small tables
            }
            println!(
                "  {name}: {:.0} bytes per record",
                size as f64 / total as f64
            );
        }
    }
    drop(conn);

    let page = |filter: AuditFilter| AuditFilter {
        limit: 100,
        ..filter
    };
    let search = |text: &str| AuditFilter {
        search: Some(text.into()),
        ..Default::default()
    };
    // The middle of the span, to start deep pages and time windows there.
    let middle_id = (total / 2) as i64;
    let middle_time = START + 45 * DAY_US;
    let cases: Vec<(&str, AuditFilter)> = vec![
        ("newest page, no filter", AuditFilter::default()),
        (
            "server",
            AuditFilter {
                server: Some("server-3".into()),
                ..Default::default()
            },
        ),
        (
            "tool (1 in 60)",
            AuditFilter {
                tool: Some("tool_7_4".into()),
                ..Default::default()
            },
        ),
        (
            "client",
            AuditFilter {
                client: Some("cursor".into()),
                ..Default::default()
            },
        ),
        (
            "decision = denied (5 %)",
            AuditFilter {
                decision: Some(AuditDecision::Denied),
                ..Default::default()
            },
        ),
        (
            "decision = error (2 %), server",
            AuditFilter {
                decision: Some(AuditDecision::Error),
                server: Some("server-1".into()),
                ..Default::default()
            },
        ),
        (
            "server, tool, decision (0.05 %)",
            AuditFilter {
                server: Some("server-2".into()),
                tool: Some("tool_2_3".into()),
                decision: Some(AuditDecision::Asked),
                ..Default::default()
            },
        ),
        (
            "one hour, mid-range",
            AuditFilter {
                since: Some(middle_time),
                until: Some(middle_time + 3_600_000_000),
                ..Default::default()
            },
        ),
        (
            "since 30 days ago",
            AuditFilter {
                since: Some(START + 60 * DAY_US),
                ..Default::default()
            },
        ),
        (
            "a deep page (before the middle id), server",
            AuditFilter {
                server: Some("server-5".into()),
                before: Some(middle_id),
                ..Default::default()
            },
        ),
        ("search: a rare word", search(&word(1234))),
        ("search: two words", search(&format!("{} src", word(1234)))),
        ("search: a common word (every path)", search("projects")),
        ("search: a prefix", search(&word(3001)[..5])),
        (
            "search: word + decision",
            AuditFilter {
                decision: Some(AuditDecision::Denied),
                ..search(&word(99))
            },
        ),
        (
            "search: word + a deep page",
            AuditFilter {
                before: Some(middle_id),
                ..search("projects")
            },
        ),
        ("search: a word nowhere", search("nowhere")),
    ];
    let store = Store::open(&dir).expect("store");
    println!("\n| page of 100 | median | worst | records |");
    println!("|---|---:|---:|---:|");
    for (name, filter) in cases {
        let filter = page(filter);
        let (median, worst, len) =
            time(15, || store.audit_search(&filter).expect("search").entries);
        println!("| {name} | {} | {} | {len} |", ms(median), ms(worst));
    }

    for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
        let start = Instant::now();
        let mut out = std::io::BufWriter::new(CountingSink(0));
        let count = store
            .audit_write_export(&AuditFilter::default(), format, &mut out)
            .expect("export");
        let elapsed = start.elapsed();
        let written = out.get_ref().0;
        println!(
            "\nexport {format:?}: {count} records, {:.0} MB in {:.1} s ({:.0} records/s)",
            written as f64 / 1e6,
            elapsed.as_secs_f64(),
            count as f64 / elapsed.as_secs_f64()
        );
    }
}

/// Counts what an export writes, and drops it.
struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
