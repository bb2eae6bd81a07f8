//! Tests of `policy::rules`.

use super::*;
use crate::policy::args::{ArgRule, Check};
use crate::{DataDir, NewServer, Transport};

fn store_with(name: &str) -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
    store
        .add_server(&NewServer {
            name: name.into(),
            transport: Transport::stdio("node", ["s.js"]),
        })
        .unwrap();
    (tmp, store)
}

#[test]
fn rate_limits_parse_and_print() {
    let cases = [
        ("10/hour", 10, 3600, "10/hour"),
        ("5/min", 5, 60, "5/min"),
        ("100/day", 100, 86_400, "100/day"),
        ("3/30s", 3, 30, "3/30s"),
        (" 2 / second ", 2, 1, "2/second"),
        ("7/2h", 7, 7200, "7/2h"),
    ];
    for (text, max, window_secs, shown) in cases {
        let limit: RateLimit = text.parse().unwrap();
        assert_eq!(limit, RateLimit { max, window_secs }, "{text}");
        assert_eq!(limit.to_string(), shown);
    }
    for bad in [
        "",
        "10",
        "0/hour",
        "10/0s",
        "ten/hour",
        "10/fortnight",
        "-1/h",
    ] {
        let err = bad.parse::<RateLimit>().unwrap_err().to_string();
        assert!(err.contains("CALLS/WINDOW"), "{bad}: {err}");
    }
}

#[test]
fn defaults_round_trip_and_unknown_servers_are_errors() {
    let (_tmp, mut store) = store_with("fs");
    assert_eq!(store.global_default().unwrap(), None);
    store.set_global_default(Some(Decision::Ask)).unwrap();
    assert_eq!(store.global_default().unwrap(), Some(Decision::Ask));
    store.set_global_default(None).unwrap();
    assert_eq!(store.global_default().unwrap(), None);

    store
        .set_server_default("fs", Some(Decision::Deny))
        .unwrap();
    assert_eq!(store.server_default("fs").unwrap(), Some(Decision::Deny));
    assert_eq!(
        store
            .set_server_default("ghost", Some(Decision::Deny))
            .unwrap_err()
            .code(),
        "server_not_found"
    );
    let limit: RateLimit = "3/min".parse().unwrap();
    store.set_server_rate("fs", Some(limit)).unwrap();
    assert_eq!(store.server_rate("fs").unwrap(), Some(limit));
    store.set_server_rate("fs", None).unwrap();
    assert_eq!(store.server_rate("fs").unwrap(), None);
}

#[test]
fn tool_rules_are_validated_and_kept() {
    let (_tmp, mut store) = store_with("fs");
    let rules = ToolRules {
        args: ArgumentRules {
            rules: vec![ArgRule {
                argument: Some("path".into()),
                check: Check::PathAllow {
                    glob: "/reports/**".into(),
                },
            }],
            ..Default::default()
        },
        reads_private: Some(true),
        sends_out: None,
        rate: Some("10/hour".parse().unwrap()),
    };
    store.set_tool_rules("fs", "read_file", &rules).unwrap();
    assert_eq!(store.tool_rules("fs", "read_file").unwrap(), rules);
    assert_eq!(
        store.tool_rules("fs", "other").unwrap(),
        ToolRules::default()
    );

    let broken = ToolRules {
        args: ArgumentRules {
            rules: vec![ArgRule {
                argument: None,
                check: Check::Pattern {
                    regex: "(unclosed".into(),
                    on_match: Default::default(),
                },
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    let err = store
        .set_tool_rules("fs", "read_file", &broken)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_spec", "{err}");
    // The bad rules did not replace the good ones.
    assert_eq!(store.tool_rules("fs", "read_file").unwrap(), rules);
}

#[test]
fn recorded_tools_replace_the_last_listing() {
    let (_tmp, mut store) = store_with("fs");
    let tool = |name: &str, d: &str| {
        (
            name.to_string(),
            format!(r#"{{"name":"{name}","description":"{d}"}}"#),
        )
    };
    store
        .record_tools("fs", &[tool("a", "one"), tool("b", "two")], true)
        .unwrap();
    store
        .record_tools("fs", &[tool("b", "changed"), tool("c", "three")], true)
        .unwrap();
    let tools = store.tools("fs").unwrap();
    assert_eq!(tools.keys().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(tools["b"]["description"], "changed");
    // A page of a longer list adds without forgetting the rest.
    store
        .record_tools("fs", &[tool("d", "four")], false)
        .unwrap();
    assert_eq!(store.tools("fs").unwrap().len(), 3);
}

#[test]
fn allow_rules_add_list_and_remove() {
    let (_tmp, mut store) = store_with("fs");
    let pattern: BTreeMap<String, String> = [("path".to_string(), "/tmp/**".to_string())].into();
    let id = store
        .add_allow_rule("fs", "write_file", Some(&pattern), "approval")
        .unwrap();
    store
        .add_allow_rule("fs", "read_file", None, "user")
        .unwrap();
    let rules = store.allow_rules("fs").unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].pattern.as_ref(), Some(&pattern));
    assert_eq!(rules[1].pattern, None);
    store.remove_allow_rule(id).unwrap();
    assert_eq!(store.allow_rules("fs").unwrap().len(), 1);
    assert!(store.remove_allow_rule(id).is_err());
    let bad: BTreeMap<String, String> = [("path".to_string(), "[".to_string())].into();
    assert!(store.add_allow_rule("fs", "t", Some(&bad), "user").is_err());
}

#[test]
fn a_rate_limit_refuses_the_call_over_it_and_says_how_long_to_wait() {
    let (_tmp, mut store) = store_with("fs");
    let limit = RateLimit {
        max: 2,
        window_secs: 3600,
    };
    assert_eq!(store.rate_take("fs", "t", limit).unwrap(), Ok(()));
    assert_eq!(store.rate_take("fs", "t", limit).unwrap(), Ok(()));
    let exceeded = store.rate_take("fs", "t", limit).unwrap().unwrap_err();
    assert_eq!(exceeded.limit, limit);
    assert!(exceeded.retry_after <= Duration::from_secs(3600));
    assert!(exceeded.retry_after > Duration::from_secs(3500));
    // Another tool, and the server as a whole, count separately.
    assert_eq!(store.rate_take("fs", "other", limit).unwrap(), Ok(()));
    assert_eq!(store.rate_take("fs", "", limit).unwrap(), Ok(()));
}
