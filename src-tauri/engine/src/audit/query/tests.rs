//! Tests of `audit::query`.

use std::sync::Arc;

use super::*;
use crate::DataDir;
use crate::audit::{AuditRecord, AuditWriter};

fn record(server: &str, tool: &str, decision: AuditDecision, time: i64) -> AuditRecord {
    AuditRecord {
        time,
        arguments: Some(r#"{"path":"/tmp/x"}"#.into()),
        decision,
        result_size: Some(42),
        latency_us: 17,
        ..AuditRecord::call("s1", server, tool)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn appended_records_are_committed_and_filterable_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let store = Store::open(&dir).unwrap();
    let writer = AuditWriter::spawn(&dir.database(), Some(Default::default())).unwrap();
    writer
        .append(record("fs", "read", AuditDecision::Allowed, 1_000))
        .await
        .unwrap();
    writer
        .append(record("fs", "delete", AuditDecision::Denied, 2_000))
        .await
        .unwrap();
    writer
        .append(record("web", "fetch", AuditDecision::Allowed, 3_000))
        .await
        .unwrap();

    let all = store
        .audit_list(&AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|e| e.tool.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["fetch", "delete", "read"]
    );
    assert_eq!(
        all[0].arguments,
        Some(serde_json::json!({"path": "/tmp/x"}))
    );
    assert_eq!(all[0].time, "1970-01-01T00:00:00.003000Z");

    let fs = AuditFilter {
        server: Some("fs".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.audit_list(&fs).unwrap().len(), 2);
    let denied = AuditFilter {
        decision: Some(AuditDecision::Denied),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.audit_list(&denied).unwrap()[0].tool.as_deref(),
        Some("delete")
    );
    let since = AuditFilter {
        since: Some(2_000),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.audit_list(&since).unwrap().len(), 2);
    let one = AuditFilter {
        limit: 1,
        ..Default::default()
    };
    assert_eq!(store.audit_list(&one).unwrap().len(), 1);
}

/// A store with `records` appended in order (ids 1, 2, ...).
async fn store_with(records: Vec<AuditRecord>) -> (tempfile::TempDir, Store, AuditWriter) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let store = Store::open(&dir).unwrap();
    let writer = AuditWriter::spawn(&dir.database(), Some(Default::default())).unwrap();
    for r in records {
        writer.append(r).await.unwrap();
    }
    (tmp, store, writer)
}

fn tools(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.tool.as_deref().unwrap()).collect()
}

fn page(filter: AuditFilter) -> AuditFilter {
    AuditFilter {
        limit: 50,
        ..filter
    }
}

#[test]
fn the_bundled_sqlite_has_fts5() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5 (body)")
        .expect("SQLite is built with FTS5");
}

#[tokio::test(flavor = "current_thread")]
async fn each_filter_narrows_the_records() {
    let mut web = record("web", "fetch", AuditDecision::Error, 3_000);
    web.client = Some(Arc::from("other-client"));
    let (_tmp, store, _w) = store_with(vec![
        record("fs", "read", AuditDecision::Allowed, 1_000),
        record("fs", "delete", AuditDecision::Denied, 2_000),
        web,
        record("fs", "write", AuditDecision::Asked, 4_000),
    ])
    .await;
    let found = |filter: AuditFilter| {
        tools(&store.audit_search(&page(filter)).unwrap().entries)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let server = found(AuditFilter {
        server: Some("web".into()),
        ..Default::default()
    });
    assert_eq!(server, ["fetch"]);
    let tool = found(AuditFilter {
        tool: Some("delete".into()),
        ..Default::default()
    });
    assert_eq!(tool, ["delete"]);
    let client = found(AuditFilter {
        client: Some("test-client".into()),
        ..Default::default()
    });
    assert_eq!(client, ["write", "delete", "read"]);
    let decision = found(AuditFilter {
        decision: Some(AuditDecision::Asked),
        ..Default::default()
    });
    assert_eq!(decision, ["write"]);
    let since = found(AuditFilter {
        since: Some(3_000),
        ..Default::default()
    });
    assert_eq!(since, ["write", "fetch"]);
    let until = found(AuditFilter {
        until: Some(3_000),
        ..Default::default()
    });
    assert_eq!(until, ["delete", "read"], "until is exclusive");
    let range = found(AuditFilter {
        since: Some(2_000),
        until: Some(4_000),
        ..Default::default()
    });
    assert_eq!(range, ["fetch", "delete"]);
    let both = found(AuditFilter {
        server: Some("fs".into()),
        decision: Some(AuditDecision::Allowed),
        ..Default::default()
    });
    assert_eq!(both, ["read"]);
    let none = found(AuditFilter {
        server: Some("nope".into()),
        ..Default::default()
    });
    assert!(none.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn full_text_search_finds_words_in_arguments_reasons_and_errors() {
    let mut report = record("fs", "read", AuditDecision::Allowed, 1_000);
    report.arguments = Some(r#"{"path":"/home/ann/quarterly-report.pdf"}"#.into());
    let mut refused = record("fs", "delete", AuditDecision::Denied, 2_000);
    refused.reason = Some("argument rule: path outside the workspace".into());
    let mut failed = record("web", "fetch", AuditDecision::Error, 3_000);
    failed.rpc_error =
        Some(r#"{"code":-32000,"message":"upstream said 429 Too Many Requests"}"#.into());
    let (_tmp, store, _w) = store_with(vec![
        report,
        refused,
        failed,
        record("fs", "list", AuditDecision::Allowed, 4_000),
    ])
    .await;
    let search = |text: &str, server: Option<&str>| {
        let filter = page(AuditFilter {
            search: Some(text.into()),
            server: server.map(String::from),
            ..Default::default()
        });
        tools(&store.audit_search(&filter).unwrap().entries)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(search("quarterly", None), ["read"]);
    assert_eq!(
        search("ann quarterly-report", None),
        ["read"],
        "a phrase, words all required"
    );
    assert_eq!(
        search("quart", None),
        ["read"],
        "the last word matches as a prefix"
    );
    assert!(search("ann missing", None).is_empty());
    assert_eq!(
        search("WORKSPACE", None),
        ["delete"],
        "case does not matter"
    );
    assert_eq!(search("429 requests", None), ["fetch"]);
    // Every record has /tmp/x except the rewritten ones; newest first.
    assert_eq!(search("tmp", None), ["list", "fetch", "delete"]);
    assert_eq!(
        search("tmp", Some("fs")),
        ["list", "delete"],
        "filters apply too"
    );
    // FTS5 syntax in the text is taken literally, not as a query.
    assert!(search("NOT OR \"* (", None).is_empty());
    let err = store
        .audit_search(&page(AuditFilter {
            search: Some("*** /".into()),
            ..Default::default()
        }))
        .unwrap_err();
    assert!(err.to_string().contains("no words"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_index_follows_deleted_and_edited_records() {
    let mut secretish = record("fs", "read", AuditDecision::Allowed, 1_000);
    secretish.arguments = Some(r#"{"path":"/srv/alpha"}"#.into());
    let (tmp, store, _w) = store_with(vec![secretish]).await;
    let search = |text: &str| {
        store
            .audit_search(&page(AuditFilter {
                search: Some(text.into()),
                ..Default::default()
            }))
            .unwrap()
            .entries
            .len()
    };
    assert_eq!(search("alpha"), 1);
    let conn = rusqlite::Connection::open(DataDir::at(tmp.path()).unwrap().database()).unwrap();
    conn.execute(r#"UPDATE audit SET arguments = '{"path":"/srv/beta"}'"#, [])
        .unwrap();
    assert_eq!((search("alpha"), search("beta")), (0, 1));
    conn.execute("DELETE FROM audit", []).unwrap();
    assert_eq!(search("beta"), 0);
    // The index holds no stale rows: an integrity check passes.
    conn.execute(
        "INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')",
        [],
    )
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_index_catches_up_on_search_and_skips_rows_deleted_before() {
    let mut first = record("fs", "read", AuditDecision::Allowed, 1_000);
    first.arguments = Some(r#"{"path":"/srv/gamma"}"#.into());
    let mut second = record("fs", "read", AuditDecision::Allowed, 2_000);
    second.arguments = Some(r#"{"path":"/srv/delta"}"#.into());
    let (tmp, store, _w) = store_with(vec![first, second]).await;
    let conn = rusqlite::Connection::open(DataDir::at(tmp.path()).unwrap().database()).unwrap();
    let indexed_to = || -> i64 {
        conn.query_row("SELECT indexed_to FROM audit_fts_state", [], |r| r.get(0))
            .unwrap()
    };
    // Written, not yet indexed: the writer no longer tokenises.
    assert_eq!(indexed_to(), 0);
    // A record deleted before it was indexed leaves the index alone.
    conn.execute("DELETE FROM audit WHERE arguments LIKE '%delta%'", [])
        .unwrap();
    let found = store
        .audit_search(&page(AuditFilter {
            search: Some("gamma".into()),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(found.entries.len(), 1);
    assert!(indexed_to() > 0);
    assert_eq!(store.audit_index_text().unwrap(), 0, "nothing new to index");
    conn.execute(
        "INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')",
        [],
    )
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_index_can_catch_up_a_few_records_at_a_time() {
    let records: Vec<AuditRecord> = (0..5)
        .map(|i| {
            let mut r = record("fs", "read", AuditDecision::Allowed, 1_000 + i);
            r.arguments = Some(format!(r#"{{"path":"/srv/word{i}"}}"#));
            r
        })
        .collect();
    let (_tmp, store, _w) = store_with(records).await;
    let steps: Vec<u64> = std::iter::repeat_with(|| store.audit_index_text_some(2).unwrap())
        .take(4)
        .collect();
    assert_eq!(steps, [2, 2, 1, 0]);
    let hits = store
        .audit_search(&page(AuditFilter {
            search: Some("word4".into()),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(hits.entries.len(), 1);
    store
        .conn()
        .execute(
            "INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn keyset_pages_return_every_record_once_while_records_arrive() {
    let records: Vec<AuditRecord> = (0..95)
        .map(|i| {
            let decision = if i % 3 == 0 {
                AuditDecision::Denied
            } else {
                AuditDecision::Allowed
            };
            record("fs", &format!("t{i}"), decision, 1_000 + i)
        })
        .collect();
    let (_tmp, store, writer) = store_with(records).await;
    for (filter, expected) in [
        (AuditFilter::default(), 95),
        (
            AuditFilter {
                decision: Some(AuditDecision::Denied),
                ..Default::default()
            },
            32,
        ),
        (
            AuditFilter {
                search: Some("tmp".into()),
                ..Default::default()
            },
            95,
        ),
    ] {
        let snapshot: Vec<i64> = store
            .audit_list(&filter)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        let mut seen = Vec::new();
        let mut filter = AuditFilter {
            limit: 10,
            ..filter
        };
        let mut pages = 0;
        loop {
            let page = store.audit_search(&filter).unwrap();
            pages += 1;
            assert!(page.entries.len() <= 10);
            seen.extend(page.entries.iter().map(|e| e.id));
            // New records arrive between pages; they are newer than the
            // cursor and must not shift what the next page returns. (They
            // match only the first filter, which has passed by then.)
            let mut late = record("fs", "late", AuditDecision::Allowed, 9_000);
            late.arguments = Some(r#"{"path":"/late"}"#.into());
            writer.append(late).await.unwrap();
            match page.next {
                Some(next) => filter.before = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), expected, "{filter:?}");
        assert_eq!(seen, snapshot, "every record once, newest first");
        assert!(
            seen.windows(2).all(|w| w[0] > w[1]),
            "newest first, no repeats"
        );
        assert_eq!(pages, expected.div_ceil(10), "no empty trailing page");
    }
    let err = store.audit_search(&AuditFilter::default()).unwrap_err();
    assert!(err.to_string().contains("1 to 1000"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn narrow_and_wide_time_windows_page_alike() {
    // More records than SMALL_WINDOW, so wide windows take the other plan.
    let n = SMALL_WINDOW + 200;
    let (_tmp, store, writer) = store_with(Vec::new()).await;
    let mut last = None;
    for i in 0..n {
        let decision = if i % 7 == 0 {
            AuditDecision::Denied
        } else {
            AuditDecision::Allowed
        };
        last = Some(writer.submit(record("fs", "t", decision, i * 10)));
    }
    AuditWriter::committed(last.unwrap()).await.unwrap();
    let all = store.audit_list(&AuditFilter::default()).unwrap();
    assert_eq!(all.len() as i64, n);
    for (since, until) in [(100, 400), (0, n * 10), (500, (n - 10) * 10)] {
        for decision in [None, Some(AuditDecision::Denied)] {
            let filter = AuditFilter {
                since: Some(since),
                until: Some(until),
                decision,
                limit: 100,
                ..Default::default()
            };
            let expected: Vec<i64> = all
                .iter()
                .filter(|e| {
                    let t = crate::parse_rfc3339(&e.time).unwrap();
                    t >= since && t < until && decision.is_none_or(|d| e.decision == d)
                })
                .map(|e| e.id)
                .collect();
            let mut seen = Vec::new();
            let mut filter = filter;
            loop {
                let page = store.audit_search(&filter).unwrap();
                seen.extend(page.entries.iter().map(|e| e.id));
                match page.next {
                    Some(next) => filter.before = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "{since}..{until} {decision:?}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn exports_stream_every_matching_record() {
    let mut odd = record("fs", "=cmd", AuditDecision::Denied, 2_000);
    odd.reason = Some("said \"no\", twice\nthen left".into());
    let (_tmp, store, _w) = store_with(vec![
        record("fs", "read", AuditDecision::Allowed, 1_000),
        odd,
        record("web", "fetch", AuditDecision::Allowed, 3_000),
    ])
    .await;
    let fs = AuditFilter {
        server: Some("fs".into()),
        ..Default::default()
    };

    let mut jsonl = Vec::new();
    let count = store
        .audit_write_export(&fs, super::super::ExportFormat::Jsonl, &mut jsonl)
        .unwrap();
    assert_eq!(count, 2);
    let lines: Vec<AuditEntry> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, store.audit_list(&fs).unwrap());

    let mut csv = Vec::new();
    store
        .audit_write_export(&fs, super::super::ExportFormat::Csv, &mut csv)
        .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let mut rows = csv.split("\r\n");
    assert_eq!(rows.next().unwrap(), super::super::CSV_HEADER.join(","));
    let second = rows.next().unwrap();
    assert!(
        second.starts_with("2,1970-01-01T00:00:00.002000Z,s1,test-client,fs,tools/call,\"'=cmd\",denied,\"said \"\"no\"\", twice\nthen left\",42,false,17,\"{\"\"path\"\":\"\"/tmp/x\"\"}\","),
        "{second}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_locked_database_fails_the_append_instead_of_dropping_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let mut blocker = Store::open(&dir).unwrap();
    let writer = AuditWriter::spawn(&dir.database(), Some(Default::default())).unwrap();
    // Another process holds the write lock for longer than the busy timeout.
    let conn = blocker.conn_mut();
    conn.busy_timeout(std::time::Duration::from_millis(1))
        .unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        writer.append(record("fs", "read", AuditDecision::Allowed, 1)),
    )
    .await
    .expect("the writer gives up after its busy timeout")
    .unwrap_err()
    .to_string();
    assert!(err.contains("could not write its audit log"), "{err}");
    assert!(err.contains("locked"), "{err}");
    conn.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn search_text_becomes_required_words_the_last_also_a_prefix() {
    use super::fts_query;
    // Cut where the tokenizer cuts, so no phrase is ever asked for (the
    // index keeps no positions).
    assert_eq!(
        fts_query("/srv/gamma-ray v2").as_deref(),
        Some(r#""srv" "gamma" "ray" "v2"*"#)
    );
    // FTS5's operators are taken as words.
    assert_eq!(
        fts_query("NOT this OR that").as_deref(),
        Some(r#""NOT" "this" "OR" "that"*"#)
    );
    assert_eq!(fts_query("*** ---"), None);
    assert_eq!(
        fts_query("héllo wörld").as_deref(),
        Some(r#""héllo" "wörld"*"#)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_search_with_punctuation_finds_the_record_it_names() {
    let mut hit = record("fs", "read", AuditDecision::Allowed, 1_000);
    hit.arguments = Some(r#"{"path":"/srv/gamma-ray/notes.txt"}"#.into());
    let mut miss = record("fs", "read", AuditDecision::Allowed, 2_000);
    miss.arguments = Some(r#"{"path":"/srv/gamma/notes.txt"}"#.into());
    let (_tmp, store, _w) = store_with(vec![hit, miss]).await;
    let found = store
        .audit_search(&page(AuditFilter {
            search: Some("gamma-ray/notes".into()),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(found.entries.len(), 1);
    assert_eq!(
        found.entries[0].arguments.as_ref().unwrap()["path"],
        "/srv/gamma-ray/notes.txt"
    );
}
