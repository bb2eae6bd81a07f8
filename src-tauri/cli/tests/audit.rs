//! `gatehouse audit list` and `audit export` over records in the store.

use predicates::str::contains;

use crate::Env;

/// A store holding `n` audit records (ids 1..=n, a second apart), with
/// text that needs quoting in CSV: commas, quotes, a newline and a leading
/// `=`. Record 7 is denied with a reason; every fifth is on server `web`.
fn env_with_records(n: i64) -> Env {
    let env = Env::fresh();
    env.cmd().args(["server", "list"]).assert().success();
    let conn = rusqlite::Connection::open(env.data.join("gatehouse.db")).unwrap();
    // Records as an old proxy would leave them, names stored once each.
    conn.execute_batch(
        r#"INSERT INTO audit_sessions (name) VALUES ('s1');
           INSERT INTO audit_names (name)
               VALUES ('claude'), ('fs'), ('web'), ('tools/call'), ('read'), ('=HYPERLINK("x")');"#,
    )
    .unwrap();
    let mut insert = conn
        .prepare(
            "INSERT INTO audit (time, session_id, client_id, server_id, method_id, tool_id,
                 arguments, decision, reason, result_size, is_error, rpc_error, latency_us)
             VALUES (?1, 1, (SELECT id FROM audit_names WHERE name = 'claude'),
                 (SELECT id FROM audit_names WHERE name = ?2),
                 (SELECT id FROM audit_names WHERE name = 'tools/call'),
                 (SELECT id FROM audit_names WHERE name = ?3),
                 ?4, ?5, ?6, 10, 0, NULL, ?7)",
        )
        .unwrap();
    for i in 1..=n {
        let server = if i % 5 == 0 { "web" } else { "fs" };
        let tool = if i == 3 { "=HYPERLINK(\"x\")" } else { "read" };
        let arguments =
            serde_json::json!({"path": format!("/srv/file-{i}.txt"), "note": "a, \"b\"\nc"});
        let (decision, reason) = if i == 7 {
            ("denied", Some("outside the, \"workspace\""))
        } else {
            ("allowed", None)
        };
        insert
            .execute(rusqlite::params![
                1_700_000_000_000_000 + i * 1_000_000,
                server,
                tool,
                arguments.to_string(),
                decision,
                reason,
                100 + i,
            ])
            .unwrap();
    }
    env
}

#[test]
fn list_filters_by_client_time_and_search() {
    let env = env_with_records(12);
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["audit", "list"];
        all.extend_from_slice(args);
        env.json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&["--search", "file-4"]), [4]);
    assert_eq!(ids(&["--search", "workspace"]), [7]);
    assert_eq!(ids(&["--server", "web"]), [10, 5]);
    assert_eq!(ids(&["--client", "nobody"]), Vec::<i64>::new());
    assert_eq!(ids(&["--client", "claude", "--limit", "2"]), [12, 11]);
    // Record i is at 1_700_000_000 + i seconds: 2023-11-14T22:13:20Z + i s.
    assert_eq!(
        ids(&[
            "--since",
            "2023-11-14T22:13:29Z",
            "--until",
            "2023-11-14T22:13:31Z"
        ]),
        [10, 9]
    );
    env.cmd()
        .args(["audit", "list", "--until", "yesterday"])
        .assert()
        .code(1)
        .stderr(contains("--until \"yesterday\" is not an RFC 3339 time"));
}

#[test]
fn jsonl_export_round_trips_the_records() {
    let env = env_with_records(30);
    let out = env.data.join("audit.jsonl");
    env.cmd()
        .args(["audit", "export", "--format", "jsonl", "--out"])
        .arg(&out)
        .args(["--server", "fs"])
        .assert()
        .success()
        .stderr(contains("exported 24 audit records"));
    let exported: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect();
    let listed = env.json(&["audit", "list", "--server", "fs", "--limit", "1000"]);
    assert_eq!(exported, *listed.as_array().unwrap());
    assert_eq!(exported.len(), 24);
    assert_eq!(exported[0]["arguments"]["note"], "a, \"b\"\nc");
    assert_eq!(exported[0]["decision"], "allowed");

    // To stdout, with a search and a limit.
    let stdout = env
        .cmd()
        .args([
            "audit",
            "export",
            "--format",
            "jsonl",
            "--search",
            "workspace",
        ])
        .assert()
        .success();
    let text = String::from_utf8(stdout.get_output().stdout.clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], 7);
    assert_eq!(lines[0]["reason"], "outside the, \"workspace\"");
}

#[test]
fn csv_export_parses_with_one_row_per_record() {
    let env = env_with_records(30);
    let out = env
        .cmd()
        .args(["audit", "export", "--format", "csv"])
        .assert()
        .success();
    let mut reader = csv::Reader::from_reader(out.get_output().stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, gatehouse_engine::audit::CSV_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 30);
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(ids, (1..=30).rev().collect::<Vec<_>>(), "newest first");
    let row = |id: usize| &rows[30 - id];
    let arguments: serde_json::Value = serde_json::from_str(&row(4)[12]).unwrap();
    assert_eq!(arguments["path"], "/srv/file-4.txt");
    assert_eq!(arguments["note"], "a, \"b\"\nc");
    assert_eq!(&row(7)[7], "denied");
    assert_eq!(&row(7)[8], "outside the, \"workspace\"");
    assert_eq!(&row(7)[11], "107", "latency_us");
    assert_eq!(&row(5)[4], "web");
    // A tool name a spreadsheet would run as a formula stays text.
    assert_eq!(&row(3)[6], "'=HYPERLINK(\"x\")");
}
