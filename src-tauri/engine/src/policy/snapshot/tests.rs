use super::*;
use crate::policy::args::Refusal;
use crate::{DataDir, NewServer, Transport};

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
    store
        .add_server(&NewServer {
            name: "fs".into(),
            transport: Transport::stdio("node", ["s.js"]),
        })
        .unwrap();
    (tmp, store)
}

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_string()).unwrap()
}

fn decide(store: &Store, tool: &str, args: &str) -> (Decision, Rule) {
    let v = store
        .policy_snapshot("fs")
        .unwrap()
        .decide(tool, Some(&raw(args)));
    (v.decision, v.rule)
}

fn path_rules(rules: Vec<ArgRule>, unmatched: Refusal) -> ToolRules {
    ToolRules {
        args: ArgumentRules {
            rules,
            unmatched,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn defaults_apply_under_switches_and_risk_tiers_raise_them() {
    let (_tmp, mut store) = store();
    // Nothing set: the tier decides.
    assert_eq!(
        decide(&store, "read_file", "{}"),
        (Decision::Allow, Rule::RiskTier)
    );
    assert_eq!(
        decide(&store, "delete_file", "{}"),
        (Decision::Ask, Rule::RiskTier)
    );

    store.set_global_default(Some(Decision::Ask)).unwrap();
    assert_eq!(
        decide(&store, "read_file", "{}"),
        (Decision::Ask, Rule::GlobalDefault)
    );
    // The server's default wins over the global one...
    store
        .set_server_default("fs", Some(Decision::Allow))
        .unwrap();
    assert_eq!(
        decide(&store, "read_file", "{}"),
        (Decision::Allow, Rule::ServerDefault)
    );
    // ...but a risky tool still asks: defaults never lower the tier's.
    assert_eq!(
        decide(&store, "delete_file", "{}"),
        (Decision::Ask, Rule::RiskTier)
    );
    store
        .set_server_default("fs", Some(Decision::Deny))
        .unwrap();
    assert_eq!(
        decide(&store, "delete_file", "{}"),
        (Decision::Deny, Rule::ServerDefault)
    );
    // The person's switch is above all of them.
    store
        .set_tool_policy("fs", "delete_file", Decision::Allow)
        .unwrap();
    assert_eq!(
        decide(&store, "delete_file", "{}"),
        (Decision::Allow, Rule::ToolSwitch)
    );
}

#[test]
fn a_default_of_deny_hides_every_tool_not_switched_on() {
    let (_tmp, mut store) = store();
    assert!(!store.policy_snapshot("fs").unwrap().hides_any());
    store
        .set_server_default("fs", Some(Decision::Deny))
        .unwrap();
    store
        .set_tool_policy("fs", "read_file", Decision::Ask)
        .unwrap();
    let snap = store.policy_snapshot("fs").unwrap();
    assert!(snap.hides_any());
    assert!(snap.hides("list_files"));
    assert!(!snap.hides("read_file"));
}

#[test]
fn argument_rules_deny_or_ask_and_never_relax_the_base() {
    let (_tmp, mut store) = store();
    let rules = path_rules(
        vec![ArgRule {
            argument: Some("path".into()),
            check: Check::PathAllow {
                glob: "/reports/**".into(),
            },
        }],
        Refusal::Deny,
    );
    store.set_tool_rules("fs", "read_file", &rules).unwrap();
    assert_eq!(
        decide(&store, "read_file", r#"{"path":"/reports/q4.txt"}"#),
        (Decision::Allow, Rule::RiskTier)
    );
    for attack in [
        r#"{"path":"/reports/../etc/passwd"}"#,
        r#"{"path":"/reports/q4.txt; /etc/passwd"}"#,
        r#"{"path":"/etc/passwd"}"#,
    ] {
        let snap = store.policy_snapshot("fs").unwrap();
        let v = snap.decide("read_file", Some(&raw(attack)));
        assert_eq!(
            (v.decision, v.rule),
            (Decision::Deny, Rule::ArgumentRule),
            "{attack}"
        );
        assert!(v.detail.is_some_and(|d| d.contains("path")), "{attack}");
    }
    // A rule that asks turns an allow into an ask.
    store
        .set_tool_rules(
            "fs",
            "read_file",
            &path_rules(rules.args.rules.clone(), Refusal::Ask),
        )
        .unwrap();
    assert_eq!(
        decide(&store, "read_file", r#"{"path":"/etc/hosts"}"#),
        (Decision::Ask, Rule::ArgumentRule)
    );
    // Passing the rules does not make a denied tool callable.
    store
        .set_tool_policy("fs", "read_file", Decision::Deny)
        .unwrap();
    assert_eq!(
        decide(&store, "read_file", r#"{"path":"/reports/q4.txt"}"#),
        (Decision::Deny, Rule::ToolSwitch)
    );
}

#[test]
fn always_allow_rules_match_canonical_paths_only() {
    let (_tmp, mut store) = store();
    let pattern: BTreeMap<String, String> =
        [("path".to_string(), "/tmp/gatehouse-allowed/**".to_string())].into();
    store
        .add_allow_rule("fs", "write_file", Some(&pattern), "approval")
        .unwrap();
    assert_eq!(
        decide(
            &store,
            "write_file",
            r#"{"path":"/tmp/gatehouse-allowed/a.txt"}"#
        ),
        (Decision::Allow, Rule::AllowRule)
    );
    for outside in [
        r#"{"path":"/tmp/gatehouse-allowed/../../etc/passwd"}"#,
        r#"{"path":"/etc/passwd"}"#,
        r#"{}"#,
    ] {
        assert_eq!(
            decide(&store, "write_file", outside),
            (Decision::Ask, Rule::RiskTier),
            "{outside}"
        );
    }
    // A rule on a plain argument matches its value by glob, no tricks.
    let pattern: BTreeMap<String, String> =
        [("to".to_string(), "*@example.com".to_string())].into();
    store
        .add_allow_rule("fs", "send_email", Some(&pattern), "approval")
        .unwrap();
    assert_eq!(
        decide(&store, "send_email", r#"{"to":"ann@example.com"}"#),
        (Decision::Allow, Rule::AllowRule)
    );
    assert_eq!(
        decide(
            &store,
            "send_email",
            r#"{"to":"ann@example.com; eve@evil.com"}"#
        )
        .0,
        Decision::Ask
    );
    // Without a pattern, any arguments.
    store
        .add_allow_rule("fs", "delete_file", None, "user")
        .unwrap();
    assert_eq!(
        decide(&store, "delete_file", r#"{"path":"/anything"}"#),
        (Decision::Allow, Rule::AllowRule)
    );
}

#[test]
fn flow_marks_are_suggested_and_can_be_overridden() {
    let (_tmp, mut store) = store();
    let snap = store.policy_snapshot("fs").unwrap();
    assert_eq!(snap.marks("read_file"), (true, false));
    assert_eq!(snap.marks("send_email"), (false, true));
    store
        .set_tool_rules(
            "fs",
            "read_file",
            &ToolRules {
                reads_private: Some(false),
                sends_out: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        store.policy_snapshot("fs").unwrap().marks("read_file"),
        (false, true)
    );
}

#[test]
fn rules_that_no_longer_compile_deny_the_tool() {
    let (_tmp, store) = store();
    store
        .conn()
        .execute(
            "INSERT INTO tool_rules (server_id, tool, args, updated_at)
             SELECT id, 'read_file', ?1, 0 FROM servers WHERE name = 'fs'",
            [r#"{"rules":[{"kind":"pattern","regex":"(unclosed"}]}"#],
        )
        .unwrap();
    assert_eq!(decide(&store, "read_file", "{}").0, Decision::Deny);
}
