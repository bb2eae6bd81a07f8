//! What the History and Overview pages cost on a large store: the timeline
//! (calls per hour by decision) over 24 hours, 7 days and 31 days, with and
//! without a filter, the Overview's 24-hour summary, and one record for the
//! detail drawer. Target: a page load, at most 50 ms for 24 hours and 7 days.
//!
//! The store is filled like `audit_search`'s: 1,000,000 small tool calls
//! through the real [`AuditWriter`], spread evenly over 90 days (about
//! 11,000 a day), 10 servers, 60 tools, 3 clients, mostly allowed. "Now" is
//! the end of that span. Each case is timed 15 times after one warm-up
//! (warm cache, as the app sees it); median and worst are printed.
//!
//! Run: `cargo bench -p gatehouse-bench --bench audit_history`
//! (`AUDIT_BENCH_RECORDS=100000` for a quicker run; `AUDIT_BENCH_DIR=DIR`
//! keeps the store there and reuses it if it is already filled, including
//! one `audit_search` filled.)

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_engine::audit::{AuditDecision, AuditFilter, AuditRecord, AuditWriter, HOUR_US};
use gatehouse_engine::{DataDir, Store};

const DAY_US: i64 = 24 * HOUR_US;
/// The same span as `audit_search`'s store: 90 days from here.
const START: i64 = 1_760_000_000_000_000;

/// SplitMix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn record(rng: &mut Rng, i: u64, total: u64, servers: &[Arc<str>]) -> AuditRecord {
    let server = rng.below(servers.len() as u64) as usize;
    let decision = match rng.below(100) {
        0..=89 => AuditDecision::Allowed,
        90..=94 => AuditDecision::Denied,
        95..=97 => AuditDecision::Asked,
        _ => AuditDecision::Error,
    };
    AuditRecord {
        time: START + (i as i64) * (90 * DAY_US / total as i64),
        session: Arc::from(format!("s{}", i / 5000)),
        client: Some(Arc::from("claude-desktop")),
        server: servers[server].clone(),
        method: Some("tools/call".into()),
        tool: Some(format!("tool_{server}_{}", rng.below(6))),
        arguments: Some(format!(
            r#"{{"path":"/home/user/f{}.txt"}}"#,
            rng.below(4000)
        )),
        decision,
        reason: None,
        result_size: Some(200),
        is_error: Some(decision == AuditDecision::Error),
        rpc_error: None,
        result: None,
        result_hash: None,
        latency_us: 100 + rng.below(5000) as i64,
        seq: None,
    }
}

/// Median and worst of 15 timings of `f`, after one warm-up.
fn time(mut f: impl FnMut() -> usize) -> (Duration, Duration, usize) {
    let mut n = black_box(f());
    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            n = black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[7], times[14], n)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let total: u64 = std::env::var("AUDIT_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = std::env::var_os("AUDIT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let dir = DataDir::at(&path).expect("data dir");
    let store = Store::open(&dir).expect("store");
    let existing = store
        .audit_list(&AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .expect("read")
        .len();
    if existing == 0 {
        let writer = AuditWriter::spawn(&dir.database(), None).expect("writer");
        let servers: Vec<Arc<str>> = (0..10).map(|s| Arc::from(format!("server-{s}"))).collect();
        let mut rng = Rng(42);
        let start = Instant::now();
        let mut last = None;
        for i in 0..total {
            last = Some(writer.submit(record(&mut rng, i, total, &servers)));
        }
        if let Some(last) = last {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime")
                .block_on(AuditWriter::committed(last))
                .expect("committed");
        }
        println!(
            "filled {total} records in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }

    let now = START + 90 * DAY_US;
    let window = |days: i64| AuditFilter {
        since: Some(now - days * DAY_US),
        until: Some(now),
        ..Default::default()
    };
    let cases: Vec<(&str, AuditFilter)> = vec![
        ("24 hours (the default window)", AuditFilter::default()),
        ("7 days", window(7)),
        ("31 days (the most buckets)", window(31)),
        (
            "24 hours, one server",
            AuditFilter {
                server: Some("server-3".into()),
                ..window(1)
            },
        ),
        (
            "7 days, decision = denied",
            AuditFilter {
                decision: Some(AuditDecision::Denied),
                ..window(7)
            },
        ),
        (
            "24 hours, search a rare word",
            AuditFilter {
                search: Some("f1234".into()),
                ..window(1)
            },
        ),
        (
            "24 hours, search a word in every record",
            AuditFilter {
                search: Some("home".into()),
                ..window(1)
            },
        ),
    ];
    println!("\n| timeline | median | worst | calls counted |");
    println!("|---|---:|---:|---:|");
    for (name, filter) in cases {
        let (median, worst, calls) = time(|| {
            store
                .audit_timeline(&filter, now)
                .expect("timeline")
                .buckets
                .iter()
                .map(|b| b.total() as usize)
                .sum()
        });
        println!("| {name} | {} | {} | {calls} |", ms(median), ms(worst));
    }

    let (median, worst, calls) = time(|| store.audit_summary(now).expect("summary").calls as usize);
    println!(
        "\n| summary (24 h, top 5 tools) | {} | {} | {calls} |",
        ms(median),
        ms(worst)
    );
    let newest = store
        .audit_list(&AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .expect("newest")[0]
        .id;
    let (median, worst, _) = time(|| {
        store
            .audit_get(newest / 2)
            .expect("get")
            .map_or(0, |e| e.id as usize)
    });
    println!(
        "| one record (audit_get) | {} | {} | 1 |",
        ms(median),
        ms(worst)
    );
}
