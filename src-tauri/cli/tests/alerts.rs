//! `gatehouse alerts`: alerts raised from records written through a real
//! audit writer, listed, acknowledged and muted from the command line.

use gatehouse_engine::audit::{AuditDecision, AuditRecord, AuditWriter};
use gatehouse_engine::now_micros;
use predicates::str::contains;

use crate::Env;

/// Writes one session's calls of `tools`, in order, through a real writer.
fn write_calls(env: &Env, tools: &[&str]) {
    let db = env.data.join("gatehouse.db");
    let writer = AuditWriter::spawn(&db, None).unwrap();
    let t0 = now_micros();
    for (i, tool) in tools.iter().enumerate() {
        let record = AuditRecord {
            time: t0 + i as i64,
            session: "s1".into(),
            client: Some("claude".into()),
            server: "files".into(),
            method: Some("tools/call".into()),
            tool: Some(tool.to_string()),
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
        };
        writer.submit(record).blocking_recv().unwrap().unwrap();
    }
}

fn list_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let out = env
        .cmd()
        .args(["alerts", "list", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn deletes_in_a_row_are_listed_then_acknowledged() {
    let env = Env::fresh();
    // Creates the database: the rules start after the records it holds.
    env.cmd()
        .args(["alerts", "list"])
        .assert()
        .success()
        .stdout(contains("no open alerts"));
    write_calls(
        &env,
        &["read_file", "delete_file", "delete_file", "delete_file"],
    );
    let alerts = list_json(&env, &[]);
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["rule"], "destructive-streak");
    let records: Vec<i64> = alerts[0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(records, [2, 3, 4]);
    // Listing again evaluates nothing twice.
    assert_eq!(list_json(&env, &[]).as_array().unwrap().len(), 1);

    let id = alerts[0]["id"].to_string();
    env.cmd()
        .args(["alerts", "ack", &id])
        .assert()
        .success()
        .stdout(contains("acknowledged 1 alert"));
    env.cmd()
        .args(["alerts", "list"])
        .assert()
        .success()
        .stdout(contains("no open alerts"));
    let all = list_json(&env, &["--all"]);
    assert!(all[0]["acked_at"].is_string(), "{all}");
}

#[test]
fn muted_rules_raise_nothing_and_show_as_muted() {
    let env = Env::fresh();
    env.cmd()
        .args(["alerts", "mute", "destructive-streak"])
        .assert()
        .success();
    let rules = list_json(&env, &["--rules"]);
    let muted: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["muted"] == true)
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(muted, ["destructive-streak"]);
    write_calls(&env, &["delete_file", "delete_file", "delete_file"]);
    assert!(list_json(&env, &["--all"]).as_array().unwrap().is_empty());
}

#[test]
fn settings_and_bad_input_get_clear_answers_and_exit_codes() {
    let env = Env::fresh();
    env.cmd()
        .args(["alerts", "quiet-hours", "22:00-07:00"])
        .assert()
        .success();
    let rules = list_json(&env, &["--rules"]);
    let quiet = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "quiet-hours")
        .unwrap();
    assert_eq!(quiet["setting"], "22:00-07:00");
    env.cmd()
        .args(["alerts", "quiet-hours", "25:00-07:00"])
        .assert()
        .code(1)
        .stderr(contains("HH:MM-HH:MM"));
    env.cmd()
        .args(["alerts", "mute", "nope"])
        .assert()
        .code(1)
        .stderr(contains("destructive-streak"));
    env.cmd()
        .args(["alerts", "ack", "42"])
        .assert()
        .code(1)
        .stderr(contains("no alert with id 42"));
    env.cmd().args(["alerts", "ack"]).assert().code(2);
}
