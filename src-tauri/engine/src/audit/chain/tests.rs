//! Tests of `audit::chain`.

use std::sync::Arc;

use super::*;
use crate::DataDir;
use crate::audit::writer::insert_all;
use crate::audit::{AuditRecord, AuditWriter};

const DAY: i64 = 86_400 * 1_000_000;

fn record(session: &str, seq: i64, time: i64) -> AuditRecord {
    AuditRecord {
        time,
        client: Some("claude".into()),
        arguments: Some(format!(r#"{{"path":"/tmp/{seq}"}}"#)),
        seq: Some(seq),
        ..AuditRecord::call(session, "files", &format!("tool{seq}"))
    }
}

/// A store holding `n` records, one per `time` step from `t0`.
fn store_with(n: i64, t0: i64, step: i64) -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let mut store = Store::open(&dir).unwrap();
    let records: Vec<_> = (1..=n).map(|i| record("s", i, t0 + i * step)).collect();
    insert_all(store.conn_mut(), None, records.iter()).unwrap();
    (tmp, store)
}

fn broken(store: &Store) -> Option<ChainBreak> {
    store.audit_verify().unwrap().broken
}

#[test]
fn an_untouched_log_verifies_and_counts_every_record() {
    let (_tmp, store) = store_with(5, 0, 1);
    let report = store.audit_verify().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(
        (report.records, report.first_id, report.last_id),
        (5, Some(1), Some(5))
    );
}

#[test]
fn an_empty_log_verifies() {
    let (_tmp, store) = store_with(0, 0, 1);
    assert_eq!(store.audit_verify().unwrap().records, 0);
    assert_eq!(broken(&store), None);
}

#[test]
fn a_record_imported_twice_is_chained_once() {
    let (_tmp, mut store) = store_with(3, 0, 1);
    let again = record("s", 2, 2);
    insert_all(store.conn_mut(), None, [&again].into_iter()).unwrap();
    let report = store.audit_verify().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.records, 3);
}

#[test]
fn verify_catches_an_edited_field() {
    for edit in [
        "UPDATE audit SET decision = 'denied' WHERE id = 3",
        "UPDATE audit SET arguments = '{}' WHERE id = 3",
        "UPDATE audit SET client_id = NULL WHERE id = 3",
        "UPDATE audit SET time = time + 1 WHERE id = 3",
        "UPDATE audit SET hash = zeroblob(32) WHERE id = 3",
    ] {
        let (_tmp, store) = store_with(5, 0, 1);
        store.conn().execute_batch(edit).unwrap();
        assert_eq!(broken(&store), Some(ChainBreak::Edited { id: 3 }), "{edit}");
    }
}

#[test]
fn verify_catches_a_deleted_record() {
    let (_tmp, store) = store_with(5, 0, 1);
    store
        .conn()
        .execute_batch("DELETE FROM audit WHERE id = 3")
        .unwrap();
    let found = broken(&store).unwrap();
    assert_eq!(
        found,
        ChainBreak::Unlinked {
            id: 4,
            previous: Some(2)
        }
    );
    assert!(
        found
            .to_string()
            .contains("record 4 does not follow record 2")
    );

    let (_tmp, store) = store_with(5, 0, 1);
    store
        .conn()
        .execute_batch("DELETE FROM audit WHERE id = 1")
        .unwrap();
    assert_eq!(
        broken(&store),
        Some(ChainBreak::Unlinked {
            id: 2,
            previous: None
        })
    );
}

#[test]
fn verify_catches_a_reordered_pair() {
    let (_tmp, store) = store_with(5, 0, 1);
    store
        .conn()
        .execute_batch(
            "UPDATE audit SET id = 100 WHERE id = 2;
             UPDATE audit SET id = 2 WHERE id = 3;
             UPDATE audit SET id = 3 WHERE id = 100;",
        )
        .unwrap();
    assert_eq!(
        broken(&store),
        Some(ChainBreak::Unlinked {
            id: 2,
            previous: Some(1)
        })
    );
}

#[test]
fn verify_catches_a_truncated_tail() {
    let (_tmp, store) = store_with(5, 0, 1);
    store
        .conn()
        .execute_batch("DELETE FROM audit WHERE id >= 4")
        .unwrap();
    let found = broken(&store).unwrap();
    assert_eq!(
        found,
        ChainBreak::Truncated {
            last: Some(3),
            head: 5
        }
    );
    assert!(found.to_string().contains("last records were deleted"));

    let (_tmp, store) = store_with(2, 0, 1);
    store.conn().execute_batch("DELETE FROM audit").unwrap();
    assert_eq!(
        broken(&store),
        Some(ChainBreak::Truncated {
            last: None,
            head: 2
        })
    );
}

#[test]
fn verify_catches_a_record_added_behind_its_back() {
    let (_tmp, store) = store_with(2, 0, 1);
    store
        .conn()
        .execute_batch(
            "INSERT INTO audit (time, session_id, server_id, decision, latency_us)
             VALUES (9, 1, 1, 'allowed', 1)",
        )
        .unwrap();
    assert_eq!(broken(&store), Some(ChainBreak::Unsealed { id: 3 }));
}

#[test]
fn records_stored_before_the_chain_are_sealed_in_order() {
    let (_tmp, store) = store_with(4, 0, 1);
    store
        .conn()
        .execute_batch(
            "UPDATE audit SET hash = NULL, prev_hash = NULL;
             UPDATE audit_chain SET head_id = 0, head_hash = zeroblob(32);",
        )
        .unwrap();
    assert_eq!(broken(&store), Some(ChainBreak::Unsealed { id: 1 }));
    assert_eq!(seal(store.conn()).unwrap(), 4);
    assert_eq!(seal(store.conn()).unwrap(), 0, "sealing twice does nothing");
    let report = store.audit_verify().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.records, 4);
}

#[test]
fn retention_by_age_leaves_an_anchor_and_verify_green() {
    let now = 1_000 * DAY;
    // Records 1..=10, one a day, the last 10 days before now... and
    // four of them older than a week.
    let (_tmp, mut store) = store_with(10, now - 11 * DAY, DAY);
    let mut retention = store.audit_retention().unwrap();
    assert_eq!(retention.days, Some(DEFAULT_RETENTION_DAYS));
    retention.days = Some(7);
    store.set_audit_retention(&retention).unwrap();

    let pruned = store.audit_prune(now).unwrap();
    // Record i is at now - (11 - i) days: 1..=3 are older than 7 days.
    assert_eq!(
        pruned,
        PruneReport {
            deleted: 3,
            anchor_id: Some(3)
        }
    );
    let report = store.audit_verify().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(
        (
            report.records,
            report.first_id,
            report.anchor_id,
            report.pruned
        ),
        (7, Some(4), Some(3), 3)
    );
    assert_eq!(store.audit_prune(now).unwrap().deleted, 0);

    // New records still chain on; tampering after a prune still shows.
    insert_all(store.conn_mut(), None, [&record("t", 1, now)].into_iter()).unwrap();
    assert!(store.audit_verify().unwrap().intact());
    store
        .conn()
        .execute_batch("DELETE FROM audit WHERE id = 4")
        .unwrap();
    assert_eq!(
        broken(&store),
        Some(ChainBreak::Unlinked {
            id: 5,
            previous: None
        })
    );
}

#[test]
fn retention_in_small_steps_deletes_as_much_and_keeps_verify_green() {
    let now = 1_000 * DAY;
    let (_tmp, mut store) = store_with(10, now - 11 * DAY, DAY);
    let mut retention = store.audit_retention().unwrap();
    retention.days = Some(7);
    store.set_audit_retention(&retention).unwrap();
    assert!(store.audit_prune_due(now).unwrap());
    let mut steps = Vec::new();
    loop {
        let step = store.audit_prune_some(now, 2).unwrap();
        assert!(store.audit_verify().unwrap().intact());
        if step.deleted == 0 {
            break;
        }
        steps.push((step.deleted, step.anchor_id));
    }
    assert_eq!(steps, [(2, Some(2)), (1, Some(3))]);
    let report = store.audit_verify().unwrap();
    assert_eq!(
        (report.records, report.first_id, report.pruned),
        (7, Some(4), 3)
    );
    assert!(!store.audit_prune_due(now).unwrap());
}

#[test]
fn retention_keeps_the_newest_record_however_old() {
    let (_tmp, mut store) = store_with(3, 0, 1);
    let pruned = store.audit_prune(1_000 * DAY).unwrap();
    assert_eq!(pruned.deleted, 2);
    let report = store.audit_verify().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!((report.records, report.first_id), (1, Some(3)));
}

#[test]
fn retention_by_size_deletes_the_oldest_until_under_the_cap() {
    let now = 10 * DAY;
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let mut store = Store::open(&dir).unwrap();
    // About 3 MiB of records: ~1.5 KiB of arguments each.
    let records: Vec<_> = (1..=2000)
        .map(|i| AuditRecord {
            arguments: Some(format!(r#"{{"text":"{}"}}"#, "x".repeat(1500))),
            ..record("s", i, now)
        })
        .collect();
    insert_all(store.conn_mut(), None, records.iter()).unwrap();
    store
        .set_audit_retention(&Retention {
            days: None,
            max_mb: Some(1),
            preview_bytes: DEFAULT_PREVIEW_BYTES,
        })
        .unwrap();
    let pruned = store.audit_prune(now).unwrap();
    assert!(pruned.deleted > 1000 && pruned.deleted < 2000, "{pruned:?}");
    let report = store.audit_verify().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.records + pruned.deleted, 2000);
    assert_eq!(report.first_id, pruned.anchor_id.map(|a| a + 1));
}

#[test]
fn large_arguments_are_stored_as_a_preview_with_their_size_and_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let mut store = Store::open(&dir).unwrap();
    store
        .set_audit_retention(&Retention {
            preview_bytes: 64,
            ..Retention::default()
        })
        .unwrap();
    let big = format!(r#"{{"text":"é{}"}}"#, "y".repeat(200));
    let small = r#"{"a":1}"#.to_string();
    let records = [
        AuditRecord {
            arguments: Some(big.clone()),
            ..record("s", 1, 1)
        },
        AuditRecord {
            arguments: Some(small.clone()),
            ..record("s", 2, 2)
        },
    ];
    insert_all(store.conn_mut(), None, records.iter()).unwrap();
    let row = |id: i64| {
        store
            .conn()
            .query_row(
                "SELECT arguments, arguments_size, arguments_hash FROM audit WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<Hash>>(2)?,
                    ))
                },
            )
            .unwrap()
    };
    let (preview, size, hash) = row(1);
    let preview: String = serde_json::from_str(&preview).unwrap();
    assert!(
        big.starts_with(&preview) && preview.len() <= 64,
        "{preview}"
    );
    assert_eq!(size, Some(big.len() as i64));
    assert_eq!(hash, Some(sha256(big.as_bytes())));
    assert_eq!(row(2), (small, None, None));
    assert!(store.audit_verify().unwrap().intact());
}

#[test]
fn a_record_without_a_result_hashes_as_before_results_were_kept() {
    // Records chained before schema v9 had sixteen content columns; the
    // two added since are encoded only when set, so those records verify.
    let row = record("s", 1, 1);
    let text = |s: &'static str| ValueRef::Text(s.as_bytes());
    let mut fields = [ValueRef::Null; CONTENT_LEN];
    fields[0] = ValueRef::Integer(row.time);
    fields[1] = text("s");
    fields[3] = text("files");
    fields[9] = text("allowed");
    let mut buf = Vec::new();
    let prev = [7u8; 32];
    let now = record_hash(&mut buf, &prev, &fields);
    assert_eq!(now, record_hash(&mut buf, &prev, &fields[..FIRST_LEN]));
    fields[16] = text(r#"{"content":[]}"#);
    let with_result = record_hash(&mut buf, &prev, &fields);
    assert_ne!(with_result, now);
    // Where a value sits counts: the same bytes as the result's hash differ.
    fields[16] = ValueRef::Null;
    fields[17] = ValueRef::Blob(br#"{"content":[]}"#);
    assert_ne!(record_hash(&mut buf, &prev, &fields), with_result);
}

#[test]
fn verify_catches_an_edited_result() {
    let (_tmp, mut store) = store_with(2, 0, 1);
    let with_result = AuditRecord {
        result: Some(r#"{"content":[{"type":"text","text":"42"}]}"#.into()),
        ..record("s", 3, 3)
    };
    insert_all(store.conn_mut(), None, [with_result].iter()).unwrap();
    assert!(store.audit_verify().unwrap().intact());
    store
        .conn()
        .execute(
            "UPDATE audit SET result = replace(result, '42', '41') WHERE id = 3",
            [],
        )
        .unwrap();
    assert_eq!(broken(&store), Some(ChainBreak::Edited { id: 3 }));
}

#[test]
fn two_writers_at_once_make_one_unbroken_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    Store::open(&dir).unwrap();
    let writers: Vec<_> = (0..2)
        .map(|_| AuditWriter::spawn(&dir.database(), None).unwrap())
        .collect();
    let receipts: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(w, writer)| {
                scope.spawn(move || {
                    let session: Arc<str> = format!("w{w}").into();
                    (1..=1500)
                        .map(|i| {
                            writer.submit(AuditRecord {
                                session: session.clone(),
                                ..record("", i, i)
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for receipt in receipts {
        receipt.blocking_recv().unwrap().unwrap();
    }
    let store = Store::open(&dir).unwrap();
    let report = store.audit_verify().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.records, 3000);
    // Both writers' batches are interleaved in the one chain.
    let sessions: i64 = store
        .conn()
        .query_row("SELECT count(DISTINCT session_id) FROM audit", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(sessions, 2);
}
