//! Tests of `alerts` beyond single rules: state across restarts and
//! processes, mute, acknowledge, retention, names and settings.

use super::*;

#[test]
fn streaks_survive_a_restart_and_nothing_alerts_twice() {
    let mut f = fixture();
    let mut run = f.calls("s", "delete_file", 2);
    assert!(f.eval().is_empty());
    // A new process: the state is in the database.
    let path = f.store.path().to_path_buf();
    f.store = Store::open_path(&path).unwrap();
    run.push(f.call("s", "delete_file"));
    let alerts = f.eval();
    assert_eq!(ids(&alerts[0]), run);
    f.store = Store::open_path(&path).unwrap();
    assert!(f.eval().is_empty());
    assert_eq!(f.store.alerts(true).unwrap().len(), 1);
}

#[test]
fn stores_evaluating_at_once_raise_each_alert_once() {
    let mut f = fixture();
    for session in ["a", "b", "c", "d"] {
        f.calls(session, "delete_file", 3);
    }
    let path = f.store.path().to_path_buf();
    // Like the app and a terminal's `alerts list` at the same moment.
    let raised: Vec<Vec<Alert>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                scope.spawn(move || Store::open_path(&path).unwrap().alerts_evaluate().unwrap())
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(raised.iter().map(Vec::len).sum::<usize>(), 4, "{raised:?}");
    let mut sessions: Vec<_> = f
        .store
        .alerts(true)
        .unwrap()
        .into_iter()
        .map(|a| a.session.unwrap())
        .collect();
    sessions.sort();
    assert_eq!(sessions, ["a", "b", "c", "d"]);
}

#[test]
fn muted_rules_raise_nothing_until_unmuted() {
    let mut f = fixture();
    f.store
        .alerts_mute(AlertRule::DestructiveStreak, true)
        .unwrap();
    let info = f.store.alerts_rules().unwrap();
    let muted: Vec<_> = info.iter().filter(|r| r.muted).map(|r| r.rule).collect();
    assert_eq!(muted, [AlertRule::DestructiveStreak]);
    f.calls("s", "delete_file", 3);
    assert!(f.eval().is_empty());
    assert!(f.store.alerts(true).unwrap().is_empty());
    f.store
        .alerts_mute(AlertRule::DestructiveStreak, false)
        .unwrap();
    f.call("s", "read_file");
    f.calls("s", "delete_file", 3);
    assert_eq!(rules(&f.eval()), [AlertRule::DestructiveStreak]);
}

#[test]
fn acknowledging_closes_alerts_one_by_one_or_all() {
    let mut f = fixture();
    f.calls("s", "delete_file", 3);
    f.calls("t", "delete_file", 3);
    let raised = f.eval();
    assert_eq!(raised.len(), 2);
    assert_eq!(
        f.store
            .alerts_ack(&AlertAck::Ids(vec![raised[0].id]))
            .unwrap(),
        1
    );
    let open = f.store.alerts(false).unwrap();
    assert_eq!(
        open.iter().map(|a| a.id).collect::<Vec<_>>(),
        [raised[1].id]
    );
    // Acknowledging again changes nothing; an unknown id is an error.
    assert_eq!(
        f.store
            .alerts_ack(&AlertAck::Ids(vec![raised[0].id]))
            .unwrap(),
        0
    );
    assert!(f.store.alerts_ack(&AlertAck::Ids(vec![999])).is_err());
    assert_eq!(f.store.alerts_ack(&AlertAck::All).unwrap(), 1);
    assert!(f.store.alerts(false).unwrap().is_empty());
    let all = f.store.alerts(true).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|a| a.acked_at.is_some()));
}

#[test]
fn alerts_say_which_records_retention_deleted() {
    let mut f = fixture();
    let run = f.calls("s", "delete_file", 3);
    f.eval();
    f.call("s", "read_file");
    f.store
        .conn()
        .execute("DELETE FROM audit WHERE id <= ?1", [run[0]])
        .unwrap();
    let alert = &f.store.alerts(false).unwrap()[0];
    let kept: Vec<bool> = alert.records.iter().map(|r| r.kept).collect();
    assert_eq!(kept, [false, true, true]);
}

#[test]
fn rules_parse_by_name_and_settings_validate() {
    for rule in AlertRule::ALL {
        assert_eq!(AlertRule::parse(rule.as_str()), Some(rule));
    }
    assert_eq!(AlertRule::parse("nope"), None);
    assert_eq!(DenialBurst::parse("5/60").unwrap(), DenialBurst::default());
    for bad in ["5", "1/60", "5/0", "x/y", "5/100000"] {
        assert!(DenialBurst::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn settings_are_set_by_rule_and_checked() {
    let (_tmp, mut store) = {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
        (tmp, store)
    };
    let setting = |store: &Store, rule: AlertRule| {
        store
            .alerts_rules()
            .unwrap()
            .into_iter()
            .find(|r| r.rule == rule)
            .unwrap()
            .setting
    };
    assert_eq!(
        setting(&store, AlertRule::QuietHours).as_deref(),
        Some("off")
    );
    store
        .alerts_configure(AlertRule::QuietHours, Some(" 23:30-6:00 "))
        .unwrap();
    assert_eq!(
        setting(&store, AlertRule::QuietHours).as_deref(),
        Some("23:30-06:00")
    );
    store
        .alerts_configure(AlertRule::QuietHours, Some("off"))
        .unwrap();
    assert_eq!(store.alerts_quiet_hours().unwrap(), None);
    store
        .alerts_configure(AlertRule::DenialBurst, Some("3/30"))
        .unwrap();
    assert_eq!(
        setting(&store, AlertRule::DenialBurst).as_deref(),
        Some("3/30")
    );
    store
        .alerts_configure(AlertRule::DenialBurst, None)
        .unwrap();
    assert_eq!(store.alerts_denial_burst().unwrap(), DenialBurst::default());
    // Bad values and rules without a setting change nothing.
    assert!(
        store
            .alerts_configure(AlertRule::QuietHours, Some("late"))
            .is_err()
    );
    assert!(
        store
            .alerts_configure(AlertRule::NewDomain, Some("x"))
            .is_err()
    );
    assert_eq!(
        setting(&store, AlertRule::QuietHours).as_deref(),
        Some("off")
    );
}
