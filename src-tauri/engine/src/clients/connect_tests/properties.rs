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

// ---- YAML (Continue, Goose) -------------------------------------------------

/// A scalar as YAML text: plain, double- or single-quoted, or a number.
fn yaml_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9]{0,6}",
        "[a-z0-9 :#@,-]{0,10}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        "[a-z #:]{0,8}".prop_map(|s| format!("'{s}'")),
        any::<i16>().prop_map(|n| n.to_string()),
    ]
}

/// Nothing, or a comment to the end of the line.
fn yaml_comment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        1 => "[a-z ]{0,8}".prop_map(|c| format!("  # {c}")),
    ]
}

/// One generated server entry, written out by [`yaml_entry`].
#[derive(Debug, Clone)]
struct YamlServer {
    remote: bool,
    typed: bool,
    args: Vec<String>,
    flow_args: bool,
    indentless_args: bool,
    env: Vec<(String, String)>,
    flow_env: bool,
    client_keys: Vec<(String, String)>,
    literal_description: bool,
    flow: bool,
    comments: Vec<String>,
}

fn yaml_server() -> impl Strategy<Value = YamlServer> {
    (
        (any::<bool>(), any::<bool>()),
        (
            prop::collection::vec(yaml_scalar(), 0..3),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            prop::collection::btree_map("[A-Z][A-Z_]{0,6}", yaml_scalar(), 0..3),
            any::<bool>(),
            any::<bool>(),
        ),
        prop::collection::btree_map(
            prop_oneof![
                Just("enabled"),
                Just("timeout"),
                Just("description"),
                Just("bundled"),
            ],
            yaml_scalar(),
            0..3,
        ),
        (any::<bool>(), prop::bool::weighted(0.25)),
        prop::collection::vec(yaml_comment(), 8),
    )
        .prop_map(
            |(
                (remote, typed),
                (args, flow_args, indentless_args),
                (env, flow_env, secret),
                keys,
                (literal_description, flow),
                comments,
            )| {
                let mut env: Vec<(String, String)> = env.into_iter().collect();
                if secret {
                    env.push((
                        "API_TOKEN".into(),
                        "\"sk-proptest-0000000000000000\"".into(),
                    ));
                }
                YamlServer {
                    remote,
                    typed,
                    args,
                    flow_args,
                    indentless_args,
                    env,
                    flow_env,
                    client_keys: keys.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                    literal_description,
                    flow,
                    comments,
                }
            },
        )
}

/// The entry's `(key, value)` pairs; a value starting with a newline is a
/// block written out below its key, `{indent}` standing for the key's
/// indentation.
fn yaml_fields(client: Client, name: &str, server: &YamlServer) -> Vec<(String, String)> {
    let goose = client == Client::Goose;
    let mut fields = vec![("name".to_string(), name.to_string())];
    if server.typed || server.remote {
        let kind = match (server.remote, goose) {
            (false, _) => "stdio",
            (true, true) => "streamable_http",
            (true, false) => "streamable-http",
        };
        fields.push(("type".into(), kind.into()));
    }
    if server.remote {
        let url = format!("https://example.com/{name}");
        fields.push((if goose { "uri" } else { "url" }.into(), url));
        let headers = "{Authorization: \"Bearer sk-proptest-0000000000000000\"}";
        if goose {
            fields.push(("headers".into(), headers.into()));
        } else {
            fields.push(("requestOptions".into(), format!("{{headers: {headers}}}")));
        }
    } else {
        fields.push((if goose { "cmd" } else { "command" }.into(), "npx".into()));
        let flow_args = server.flow || server.flow_args || server.args.is_empty();
        let args = if flow_args {
            format!("[{}]", server.args.join(", "))
        } else {
            let dash = if server.indentless_args { "" } else { "  " };
            server
                .args
                .iter()
                .map(|a| format!("\n{{indent}}{dash}- {a}"))
                .collect()
        };
        fields.push(("args".into(), args));
    }
    if !server.env.is_empty() {
        let env = if server.flow || server.flow_env {
            let vars: Vec<String> = server
                .env
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!("{{{}}}", vars.join(", "))
        } else {
            server
                .env
                .iter()
                .zip(server.comments.iter().skip(4))
                .map(|((k, v), c)| format!("\n{{indent}}  {k}: {v}{c}"))
                .collect()
        };
        fields.push((if goose { "envs" } else { "env" }.into(), env));
    }
    fields.extend(server.client_keys.iter().cloned());
    if server.literal_description && !server.flow {
        fields.push((
            "description".into(),
            "|\n{indent}  Line one.\n\n{indent}  # still the description".into(),
        ));
    }
    // No key twice.
    let mut seen = Vec::new();
    fields.retain(|(k, _)| {
        let new = !seen.contains(k);
        seen.push(k.clone());
        new
    });
    fields
}

/// One entry at `indent` (its keys' column; Continue's list dash sits
/// `dash` columns before them).
fn yaml_entry(
    client: Client,
    name: &str,
    server: &YamlServer,
    indent: usize,
    dash: usize,
) -> String {
    let fields = yaml_fields(client, name, server);
    let lead = if client == Client::Goose {
        format!("{}{name}:", " ".repeat(indent - 2))
    } else {
        format!("{}-", " ".repeat(indent - dash))
    };
    if server.flow {
        let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        return format!("{lead} {{{}}}{}\n", pairs.join(", "), server.comments[0]);
    }
    let pad = " ".repeat(indent);
    let mut out = if client == Client::Goose {
        format!("{lead}{}\n", server.comments[1])
    } else {
        format!("{lead}{}", " ".repeat(dash - 1))
    };
    for (i, (key, value)) in fields.iter().enumerate() {
        if client == Client::Goose || i > 0 {
            out.push_str(&pad);
        }
        let comment = &server.comments[i % 4];
        if let Some(block) = value.strip_prefix('|') {
            out.push_str(&format!("{key}: |{}\n", block.replace("{indent}", &pad)));
        } else if value.starts_with('\n') {
            out.push_str(&format!(
                "{key}:{comment}{}\n",
                value.replace("{indent}", &pad)
            ));
        } else {
            out.push_str(&format!("{key}: {value}{comment}\n"));
        }
    }
    out
}

/// A Continue or Goose config: settings around the servers, comments and
/// blank lines between them, servers in block or flow style at some
/// indentation.
fn yaml_config(client: Client) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(("x[a-z_]{0,6}", yaml_scalar()), 0..4),
        prop::collection::btree_map("[a-z][a-z0-9-]{0,8}", yaml_server(), 1..4),
        prop::collection::vec(prop_oneof![Just(""), Just("\n"), Just("  # between\n")], 4),
        (2usize..5, 2usize..4),
        prop_oneof![Just(""), Just("\n"), Just("\n\n")],
        prop_oneof![Just(""), Just("# my settings\n")],
    )
        .prop_map(
            move |(mut extra, servers, gaps, (indent, dash), end, head)| {
                extra.sort();
                extra.dedup_by(|a, b| a.0 == b.0);
                let split = extra.len() / 2;
                let mut out = head.to_string();
                for (k, v) in &extra[..split] {
                    out.push_str(&format!("{k}: {v}\n"));
                }
                let key = if client == Client::Goose {
                    "extensions"
                } else {
                    "mcpServers"
                };
                out.push_str(&format!("{key}:\n"));
                let indent = if client == Client::Goose {
                    indent + 2
                } else {
                    indent + dash - 2
                };
                for (i, (name, server)) in servers.iter().enumerate() {
                    out.push_str(gaps[i % gaps.len()]);
                    out.push_str(&yaml_entry(client, name, server, indent, dash));
                }
                for (k, v) in &extra[split..] {
                    out.push_str(&format!("{k}: {v}\n"));
                }
                // The last line's newline is optional.
                if end.is_empty() {
                    out.pop();
                }
                out.push_str(end);
                out
            },
        )
}

/// Connect routes every entry and leaves the rest alone; again changes
/// nothing; restore gives the text back byte for byte.
fn round_trip(client: Client, file: &str, text: &str) -> Result<Plan, TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let data = DataDir::at(tmp.path().join("data")).unwrap();
    let path = tmp.path().join(file);
    std::fs::write(&path, text).unwrap();

    let plan = connect::plan(client, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    assert_outside_unchanged(&plan);
    prop_assert!(!plan.after.contains("sk-proptest"));
    connect::apply(&plan, &data).unwrap();
    let servers = read(client, &path).servers;
    let before = parse(client, text).unwrap();
    prop_assert!(!before.is_empty(), "no entry generated");
    prop_assert_eq!(servers.len(), before.len());
    for entry in servers {
        let server = server_name(&entry);
        prop_assert_eq!(entry.routed_to(), Some(server.as_str()));
    }

    let again = connect::plan(client, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    prop_assert!(again.is_noop());

    let restore = restore::plan(client, &path, &data).unwrap();
    prop_assert!(restore.exact);
    restore::apply(&restore, &data).unwrap();
    prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    Ok(plan)
}

/// After connect the client edits the file (`edit`); restore undoes
/// connect's entries only and keeps the edit.
fn restore_after_edit(
    client: Client,
    file: &str,
    text: &str,
    edit: &dyn Fn(&str) -> String,
) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let data = DataDir::at(tmp.path().join("data")).unwrap();
    let path = tmp.path().join(file);
    std::fs::write(&path, text).unwrap();
    let plan = connect::plan(client, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    connect::apply(&plan, &data).unwrap();
    std::fs::write(&path, edit(&plan.after)).unwrap();
    let restore = restore::plan(client, &path, &data).unwrap();
    prop_assert!(restore.warnings.is_empty(), "{:?}", restore.warnings);
    prop_assert_eq!(restore.after, edit(text));
    Ok(())
}

/// A YAML client's edit: a setting added at the end.
fn yaml_edit(text: &str) -> String {
    let sep = if text.ends_with('\n') { "" } else { "\n" };
    format!("{text}{sep}added: 1\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_configs_round_trip((text, extra) in config()) {
        let plan = round_trip(Client::Cursor, "mcp.json", &text)?;
        // The extra keys are still there, written as they were.
        let parsed: serde_json::Value =
            jsonc_parser::parse_to_serde_value(&plan.after, &Default::default()).unwrap();
        let original: serde_json::Value =
            jsonc_parser::parse_to_serde_value(&text, &Default::default()).unwrap();
        for (k, _) in &extra {
            prop_assert_eq!(&parsed[k], &original[k]);
        }
    }

    #[test]
    fn generated_configs_restore_span_wise_after_an_edit((text, _extra) in config()) {
        // The client appends a key at the top level.
        let edit = |t: &str| {
            let mut t = t.to_string();
            let at = t.rfind('}').unwrap();
            t.insert_str(at, ", \"added\": 1");
            t
        };
        restore_after_edit(Client::Cursor, "mcp.json", &text, &edit)?;
    }

    #[test]
    fn generated_continue_configs_round_trip(text in yaml_config(Client::Continue)) {
        round_trip(Client::Continue, "config.yaml", &text)?;
    }

    #[test]
    fn generated_goose_configs_round_trip(text in yaml_config(Client::Goose)) {
        round_trip(Client::Goose, "config.yaml", &text)?;
    }

    #[test]
    fn generated_yaml_configs_restore_span_wise_after_an_edit(
        continue_ in yaml_config(Client::Continue),
        goose in yaml_config(Client::Goose),
    ) {
        restore_after_edit(Client::Continue, "config.yaml", &continue_, &yaml_edit)?;
        restore_after_edit(Client::Goose, "config.yaml", &goose, &yaml_edit)?;
    }
}
