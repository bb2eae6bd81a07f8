//! Generated configs: the round trip, untouched keys, restore after edits.

use super::*;

/// Whitespace between tokens: spaces, newlines, sometimes a comment.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        3 => Just(" ".to_string()),
        2 => "[ \t]{0,3}\n[ ]{0,6}",
        1 => "[a-z ]{0,12}".prop_map(|c| format!(" // {c}\n  ")),
        1 => "[a-z ]{0,12}".prop_map(|c| format!("/* {c} */")),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_ -]{0,10}"
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{0,10}".prop_map(|s| format!("\"{s}\"")),
        any::<i32>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("null".to_string()),
        Just("[1, 2]".to_string()),
    ]
}

/// An object's text from `(key, value text)` pairs, with random gaps.
fn object(fields: Vec<(String, String)>, gaps: Vec<String>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&gaps[i % gaps.len()]);
        out.push_str(&serde_json::to_string(k).unwrap());
        out.push_str(": ");
        out.push_str(v);
    }
    out.push_str(&gaps[(fields.len() + 1) % gaps.len()]);
    out.push('}');
    out
}

fn server() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[a-z@/.-]{1,12}", 0..4),
        prop::collection::btree_map("[A-Z_]{1,8}", "[a-z]{0,6}", 0..3),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::collection::vec(gap(), 1..4),
    )
        .prop_map(|(args, env, secret, disabled, gaps)| {
            let mut fields = vec![("command".to_string(), "\"npx\"".to_string())];
            fields.push(("args".into(), serde_json::to_string(&args).unwrap()));
            let mut env: Vec<(String, String)> = env
                .into_iter()
                .map(|(k, v)| (k, serde_json::to_string(&v).unwrap()))
                .collect();
            if secret {
                env.push((
                    "API_TOKEN".into(),
                    "\"sk-proptest-0000000000000000\"".into(),
                ));
            }
            fields.push(("env".into(), object(env, gaps.clone())));
            if let Some(d) = disabled {
                fields.push(("disabled".into(), d.to_string()));
            }
            object(fields, gaps)
        })
}

fn config() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        prop::collection::vec((key(), scalar()), 0..4),
        prop::collection::btree_map("[a-z][a-z0-9-]{0,8}", server(), 1..4),
        prop::collection::vec(gap(), 1..4),
        prop_oneof![Just(""), Just("\n"), Just("\n\n")],
        prop_oneof![Just(""), Just("// my settings\n")],
    )
        .prop_map(|(extra, servers, gaps, end, head)| {
            let servers: Vec<(String, String)> = servers
                .into_iter()
                .map(|(k, v)| (serde_json::to_string(&k).unwrap(), v))
                .map(|(k, v)| (k.trim_matches('"').to_string(), v))
                .collect();
            let mut fields: Vec<(String, String)> = Vec::new();
            // Extra keys around the servers, deduplicated against it.
            let mut extra: Vec<(String, String)> = extra
                .into_iter()
                .filter(|(k, _)| k != "mcpServers")
                .collect();
            extra.dedup_by(|a, b| a.0 == b.0);
            let split = extra.len() / 2;
            fields.extend(extra[..split].iter().cloned());
            fields.push(("mcpServers".into(), object(servers, gaps.clone())));
            fields.extend(extra[split..].iter().cloned());
            (
                format!("{head}{}{end}", object(fields.clone(), gaps)),
                extra,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_configs_round_trip((text, extra) in config()) {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::at(tmp.path().join("data")).unwrap();
        let path = tmp.path().join("mcp.json");
        std::fs::write(&path, &text).unwrap();

        let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        assert_outside_unchanged(&plan);
        // The extra keys are still there, written as they were.
        let parsed: serde_json::Value =
            jsonc_parser::parse_to_serde_value(&plan.after, &Default::default()).unwrap();
        let original: serde_json::Value =
            jsonc_parser::parse_to_serde_value(&text, &Default::default()).unwrap();
        for (k, _) in &extra {
            prop_assert_eq!(&parsed[k], &original[k]);
        }
        prop_assert!(!plan.after.contains("sk-proptest"));
        connect::apply(&plan, &data).unwrap();
        for entry in read(Client::Cursor, &path).servers {
            prop_assert_eq!(entry.routed_to(), Some(entry.name.as_str()));
        }

        let again = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        prop_assert!(again.is_noop());

        let restore = restore::plan(Client::Cursor, &path, &data).unwrap();
        prop_assert!(restore.exact);
        restore::apply(&restore, &data).unwrap();
        prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn generated_configs_restore_span_wise_after_an_edit((text, _extra) in config()) {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::at(tmp.path().join("data")).unwrap();
        let path = tmp.path().join("mcp.json");
        std::fs::write(&path, &text).unwrap();
        let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        connect::apply(&plan, &data).unwrap();
        // The client appends a key at the top level.
        let at = plan.after.rfind('}').unwrap();
        let mut edited = plan.after.clone();
        edited.insert_str(at, ", \"added\": 1");
        std::fs::write(&path, &edited).unwrap();
        let restore = restore::plan(Client::Cursor, &path, &data).unwrap();
        prop_assert!(restore.warnings.is_empty());
        let mut expected = text.clone();
        let at = expected.rfind('}').unwrap();
        expected.insert_str(at, ", \"added\": 1");
        prop_assert_eq!(restore.after, expected);
    }
}
