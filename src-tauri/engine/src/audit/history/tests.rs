//! Tests of `audit::history`: the timeline, the summary and one record.

use super::*;
use crate::DataDir;
use crate::audit::{AuditRecord, AuditWriter};

/// 2026-11-21 10:00:00 UTC, on the hour.
const T0: i64 = 1_763_719_200_000_000;

fn record(server: &str, tool: &str, decision: AuditDecision, time: i64) -> AuditRecord {
    AuditRecord {
        time,
        arguments: Some(format!(r#"{{"path":"/tmp/{tool}"}}"#)),
        decision,
        reason: (decision == AuditDecision::Denied).then(|| "tool is switched off".into()),
        result_size: Some(42),
        latency_us: 17,
        ..AuditRecord::call("s1", server, tool)
    }
}

/// A store holding `records`, committed.
async fn store_with(records: Vec<AuditRecord>) -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let store = Store::open(&dir).unwrap();
    let writer = AuditWriter::spawn(&dir.database(), Some(Default::default())).unwrap();
    for r in records {
        writer.append(r).await.unwrap();
    }
    (tmp, store)
}

fn between(since: i64, until: i64) -> AuditFilter {
    AuditFilter {
        since: Some(since),
        until: Some(until),
        ..Default::default()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn timeline_counts_each_hour_by_decision_with_empty_hours() {
    let minute = 60_000_000;
    let (_tmp, store) = store_with(vec![
        record("fs", "read", AuditDecision::Allowed, T0 + minute),
        record("fs", "read", AuditDecision::Allowed, T0 + 59 * minute),
        record("fs", "delete", AuditDecision::Denied, T0 + 30 * minute),
        // Hour 1 is empty; hour 2 has one of each other decision.
        record("web", "fetch", AuditDecision::Asked, T0 + 2 * HOUR_US),
        record("web", "fetch", AuditDecision::Error, T0 + 3 * HOUR_US - 1),
        // Outside the window on both sides.
        record("fs", "read", AuditDecision::Allowed, T0 - 1),
        record("fs", "read", AuditDecision::Allowed, T0 + 3 * HOUR_US),
        // Written late (a spool imported after a crash): an old time with
        // the newest id, so the window's ids span records outside it.
        record("fs", "read", AuditDecision::Allowed, T0 + 10 * 60_000_000),
    ])
    .await;

    let timeline = store
        .audit_timeline(&between(T0, T0 + 3 * HOUR_US), T0 + 10 * HOUR_US)
        .unwrap();
    assert_eq!((timeline.since, timeline.until), (T0, T0 + 3 * HOUR_US));
    let counts: Vec<(i64, u32, u32, u32, u32)> = timeline
        .buckets
        .iter()
        .map(|b| (b.start, b.allowed, b.asked, b.denied, b.error))
        .collect();
    assert_eq!(
        counts,
        [
            (T0, 3, 0, 1, 0),
            (T0 + HOUR_US, 0, 0, 0, 0),
            (T0 + 2 * HOUR_US, 0, 1, 0, 1),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn timeline_applies_the_filter_and_search_text() {
    let (_tmp, store) = store_with(vec![
        record("fs", "read", AuditDecision::Allowed, T0),
        record("fs", "delete", AuditDecision::Denied, T0 + 1),
        record("web", "fetch", AuditDecision::Allowed, T0 + 2),
    ])
    .await;
    let total = |filter: AuditFilter| -> u32 {
        store
            .audit_timeline(
                &AuditFilter {
                    ..between(T0, T0 + HOUR_US)
                }
                .merge(filter),
                T0,
            )
            .unwrap()
            .buckets
            .iter()
            .map(TimelineBucket::total)
            .sum()
    };
    assert_eq!(total(AuditFilter::default()), 3);
    let fs = AuditFilter {
        server: Some("fs".into()),
        ..Default::default()
    };
    assert_eq!(total(fs), 2);
    let denied = AuditFilter {
        decision: Some(AuditDecision::Denied),
        ..Default::default()
    };
    assert_eq!(total(denied), 1);
    let search = AuditFilter {
        search: Some("fetch".into()),
        ..Default::default()
    };
    assert_eq!(total(search), 1, "the argument /tmp/fetch");
    let nothing = AuditFilter {
        search: Some("?!".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.audit_timeline(&nothing, T0),
        Err(Error::InvalidSpec(_))
    ));
}

impl AuditFilter {
    /// `self` with the conditions `other` sets.
    fn merge(self, other: AuditFilter) -> AuditFilter {
        AuditFilter {
            server: other.server.or(self.server),
            tool: other.tool.or(self.tool),
            client: other.client.or(self.client),
            decision: other.decision.or(self.decision),
            search: other.search.or(self.search),
            ..self
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn timeline_defaults_to_the_last_24_hours_and_caps_wide_windows() {
    let (_tmp, store) = store_with(vec![record("fs", "read", AuditDecision::Allowed, T0)]).await;
    // Now is 10:30: the 24 hours up to 11:00.
    let now = T0 + HOUR_US / 2;
    let timeline = store.audit_timeline(&AuditFilter::default(), now).unwrap();
    assert_eq!(timeline.buckets.len(), 24);
    assert_eq!(timeline.until, T0 + HOUR_US);
    assert_eq!(timeline.buckets.last().unwrap().allowed, 1);

    // A year asked for: the newest MAX_BUCKETS hours.
    let year = store
        .audit_timeline(&between(T0 - 365 * 24 * HOUR_US, T0 + HOUR_US), now)
        .unwrap();
    assert_eq!(year.buckets.len() as i64, MAX_BUCKETS);
    assert_eq!(year.until, T0 + HOUR_US);
    assert_eq!(year.buckets.last().unwrap().allowed, 1);

    // Unaligned ends widen to whole hours; an empty window is an error.
    let widened = store.audit_timeline(&between(T0 + 1, T0 + 2), now).unwrap();
    assert_eq!((widened.since, widened.until), (T0, T0 + HOUR_US));
    assert!(store.audit_timeline(&between(T0, T0), now).is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn summary_counts_the_last_24_hours_and_ranks_tools() {
    let now = T0 + 30 * HOUR_US;
    let recent = now - HOUR_US;
    let mut records = vec![
        // Older than 24 hours: not counted.
        record("fs", "old", AuditDecision::Allowed, now - 25 * HOUR_US),
        record("fs", "delete", AuditDecision::Denied, recent),
        record("fs", "delete", AuditDecision::Denied, recent),
        record("web", "fetch", AuditDecision::Error, recent),
        record("web", "fetch", AuditDecision::Asked, recent),
    ];
    for i in 0..6 {
        records.push(record("fs", "read", AuditDecision::Allowed, recent + i));
    }
    for tool in ["a", "b", "c"] {
        records.push(record("misc", tool, AuditDecision::Allowed, recent));
    }
    // Not a tool call: not counted.
    let mut listing = record("fs", "", AuditDecision::Denied, recent);
    listing.method = Some("tools/list".into());
    listing.tool = None;
    records.push(listing);
    let (_tmp, store) = store_with(records).await;

    let summary = store.audit_summary(now).unwrap();
    assert_eq!((summary.since, summary.until), (now - 24 * HOUR_US, now));
    assert_eq!(summary.calls, 13);
    assert_eq!((summary.denied, summary.errors, summary.asked), (2, 1, 1));
    let top: Vec<(&str, &str, u32)> = summary
        .top_tools
        .iter()
        .map(|t| (t.server.as_str(), t.tool.as_str(), t.count))
        .collect();
    assert_eq!(
        top,
        [
            ("fs", "read", 6),
            ("fs", "delete", 2),
            ("web", "fetch", 2),
            ("misc", "a", 1),
            ("misc", "b", 1),
        ]
    );
    assert_eq!(summary.pending_approvals, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn get_returns_one_whole_record_or_none() {
    let (_tmp, store) = store_with(vec![
        record("fs", "read", AuditDecision::Allowed, T0),
        record("fs", "delete", AuditDecision::Denied, T0 + 1),
        record("web", "fetch", AuditDecision::Allowed, T0 + 2),
    ])
    .await;
    let ids: Vec<i64> = store
        .audit_list(&AuditFilter::default())
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let middle = ids[1];
    let entry = store.audit_get(middle).unwrap().expect("the record");
    assert_eq!(entry.id, middle);
    assert_eq!(entry.tool.as_deref(), Some("delete"));
    assert_eq!(entry.reason.as_deref(), Some("tool is switched off"));
    assert_eq!(
        entry.arguments,
        Some(serde_json::json!({"path": "/tmp/delete"}))
    );
    assert_eq!(store.audit_get(ids[0] + 1).unwrap(), None);
    assert_eq!(store.audit_get(0).unwrap(), None);
}

#[tokio::test(flavor = "current_thread")]
async fn get_of_a_deleted_record_is_none_not_its_neighbour() {
    let (_tmp, store) = store_with(vec![
        record("fs", "read", AuditDecision::Allowed, T0),
        record("fs", "delete", AuditDecision::Denied, T0 + 1),
    ])
    .await;
    let newest = store.audit_list(&AuditFilter::default()).unwrap()[0].id;
    store
        .conn()
        .execute("DELETE FROM audit WHERE id = ?1", [newest - 1])
        .unwrap();
    // The gap is not filled by the record below it.
    assert_eq!(store.audit_get(newest - 1).unwrap(), None);
    assert_eq!(store.audit_get(newest).unwrap().unwrap().id, newest);
}
