//! `gatehouse audit verify`, `audit retention` and `audit prune` on a real
//! database, tampered with directly.

use gatehouse_engine::audit::{AuditDecision, AuditRecord, AuditWriter};
use gatehouse_engine::now_micros;
use predicates::str::contains;

use crate::Env;

const DAY: i64 = 86_400 * 1_000_000;

/// Writes records at each of `times` through a real audit writer.
fn write_records(env: &Env, times: &[i64]) -> std::path::PathBuf {
    // Creates the data directory and database.
    env.cmd().args(["audit", "retention"]).assert().success();
    let db = env.data.join("gatehouse.db");
    let writer = AuditWriter::spawn(&db, None).unwrap();
    let receipts: Vec<_> = times
        .iter()
        .enumerate()
        .map(|(i, &time)| {
            writer.submit(AuditRecord {
                time,
                session: "s1".into(),
                client: Some("claude".into()),
                server: "files".into(),
                method: Some("tools/call".into()),
                tool: Some("read_file".into()),
                arguments: Some(format!(r#"{{"path":"/tmp/{i}"}}"#)),
                decision: AuditDecision::Allowed,
                reason: None,
                result_size: Some(42),
                is_error: Some(false),
                rpc_error: None,
                result: None,
                result_hash: None,
                latency_us: 10,
                seq: Some(i as i64 + 1),
            })
        })
        .collect();
    for receipt in receipts {
        receipt.blocking_recv().unwrap().unwrap();
    }
    db
}

fn tamper(db: &std::path::Path, sql: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn verify_passes_on_an_untouched_log_and_counts_it() {
    let env = Env::fresh();
    env.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(contains("intact: 0 records"));
    let now = now_micros();
    write_records(&env, &[now, now + 1, now + 2]);
    env.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(contains("intact: 3 records (ids 1 to 3)"));
    let report = env.json(&["audit", "verify"]);
    assert_eq!(report["records"], 3);
    assert!(report["broken"].is_null(), "{report}");
}

#[test]
fn verify_names_an_edited_record_and_exits_1() {
    let env = Env::fresh();
    let now = now_micros();
    let db = write_records(&env, &[now, now + 1, now + 2]);
    tamper(&db, "UPDATE audit SET decision = 'denied' WHERE id = 2");
    env.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stderr(contains("record 2 was edited"));
    let out = env
        .cmd()
        .args(["audit", "verify", "--json"])
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["broken"]["problem"], "edited");
    assert_eq!(report["broken"]["id"], 2);
    assert_eq!(report["records"], 1);
}

#[test]
fn verify_names_a_deleted_record_and_a_truncated_tail() {
    let env = Env::fresh();
    let now = now_micros();
    let db = write_records(&env, &[now, now + 1, now + 2, now + 3]);
    tamper(&db, "DELETE FROM audit WHERE id = 4");
    env.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stderr(contains("ends at record 3 but its chain ends at record 4"));
    tamper(&db, "DELETE FROM audit WHERE id = 2");
    env.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stderr(contains("record 3 does not follow record 1"));
}

#[test]
fn retention_is_set_and_shown() {
    let env = Env::fresh();
    let shown = env.json(&["audit", "retention"]);
    assert_eq!(shown["days"], 90, "the default keeps 90 days");
    assert!(shown["max_mb"].is_null());
    let set = env.json(&[
        "audit",
        "retention",
        "--days",
        "7",
        "--max-mb",
        "500",
        "--preview-bytes",
        "1024",
    ]);
    assert_eq!(
        (&set["days"], &set["max_mb"], &set["preview_bytes"]),
        (&7.into(), &500.into(), &1024.into())
    );
    let off = env.json(&["audit", "retention", "--days", "0", "--max-mb", "0"]);
    assert!(off["days"].is_null() && off["max_mb"].is_null(), "{off}");
    assert_eq!(env.json(&["audit", "retention"]), off);
    env.cmd()
        .args(["audit", "retention", "--preview-bytes", "3"])
        .assert()
        .code(1)
        .stderr(contains("at least 64"));
}

#[test]
fn prune_deletes_what_retention_no_longer_keeps_and_verify_stays_green() {
    let env = Env::fresh();
    let now = now_micros();
    write_records(&env, &[now - 40 * DAY, now - 35 * DAY, now - DAY, now]);
    env.cmd()
        .args(["audit", "retention", "--days", "30"])
        .assert()
        .success();
    let pruned = env.json(&["audit", "prune"]);
    assert_eq!(pruned["deleted"], 2);
    assert_eq!(pruned["anchor_id"], 2);
    env.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(contains("intact: 2 records (ids 3 to 4)"))
        .stdout(contains("after 2 older records removed by retention"));
    env.cmd()
        .args(["audit", "prune"])
        .assert()
        .success()
        .stdout(contains("Nothing to delete"));
}
