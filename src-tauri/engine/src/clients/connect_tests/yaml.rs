//! Connect on Continue's and Goose's YAML: the rewritten text, quoting,
//! line endings, names, and what makes connect leave a file alone.

use super::*;

#[test]
fn continue_entries_are_rewritten_in_the_files_style() {
    let h = fixture_home();
    let path = h.home.join(".continue/config.yaml");
    let plan = connect::plan(Client::Continue, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let at = plan.after.find("mcpServers:").unwrap();
    assert_eq!(plan.after[..at], plan.before[..at]);
    assert_eq!(
        &plan.after[at..],
        r#"mcpServers:
  # stdio, secret inline
  - name: GitHub
    command: /opt/gatehouse/bin/gatehouse
    args:
      - run
      - GitHub
  # stdio, secret by reference
  - name: Supabase MCP
    command: /opt/gatehouse/bin/gatehouse
    args: [run, Supabase-MCP]
    env:
      SUPABASE_TOKEN: ${{ secrets.SUPABASE_TOKEN }}
  - name: Remote docs
    type: stdio
    command: /opt/gatehouse/bin/gatehouse
    args:
      - run
      - Remote-docs
  - name: SQLite MCP
    command: gatehouse
    args:
      - run
      - sqlite-mcp
  # Flow style on one line; the key is a secret, the log level is not.
  - {name: Brave Search, command: /opt/gatehouse/bin/gatehouse, args: [run, Brave-Search], env: {LOG_LEVEL: info}}
  # Odd indentation, an anchor another entry uses, a working directory.
  -   name:   Memory   # spaces after the colon
      type: stdio
      command: /opt/gatehouse/bin/gatehouse
      args: [run, Memory]
      connectionTimeout: &timeout 30
  - name: Time
    command: /opt/gatehouse/bin/gatehouse
    args:
    - run
    - Time
    connectionTimeout: *timeout
    env:
      LOCAL_TIMEZONE: Europe/Paris

# Rules stay as they are.
rules:
  - Always answer in English.
"#
    );
    let names: Vec<&str> = plan.edits.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "GitHub",
            "Supabase MCP",
            "Remote docs",
            "Brave Search",
            "Memory",
            "Time"
        ]
    );
}

#[test]
fn goose_entries_are_rewritten_in_the_files_style() {
    let h = fixture_home();
    let path = h.home.join(".config/goose/config.yaml");
    let plan = connect::plan(Client::Goose, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let at = plan.after.find("  filesystem:").unwrap();
    assert_eq!(plan.after[..at], plan.before[..at], "the builtin is kept");
    assert_eq!(
        &plan.after[at..],
        r#"  filesystem:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args: [run, filesystem]
    name: filesystem
    enabled: true
    env_keys: []
    envs: {}
    timeout: 300
  github:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args: [run, github]
    name: github
    enabled: false  # disabled but still importable
    envs: {}
    env_keys: []
  remote-tools:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args:
      - run
      - remote-tools
    name: remote-tools
    enabled: true
    env_keys: [REMOTE_TOOLS_TOKEN]
    envs: {}
    timeout: 300
  # Written by hand in flow style.
  time: { type: stdio, cmd: /opt/gatehouse/bin/gatehouse, args: [run, time], name: time, enabled: true, envs: { LOCAL_TIMEZONE: Europe/Paris }, env_keys: [], timeout: 300 }
  postgres:
    type: stdio
    cmd: /opt/gatehouse/bin/gatehouse
    args:
    - run
    - postgres
    name: postgres
    display_name: Postgres
    description: |
      Read-only access to the analytics database.
      # Not a comment: part of the description.
    enabled: true
    envs:
      PGUSER: readonly
    env_keys: []
    timeout: 300
    bundled: null
    available_tools: []
  fetch:
    type: stdio
    name: fetch
    enabled: true
    cmd: /home/alice/.local/bin/gatehouse
    args: [run, fetch]
    envs: {}
    env_keys: []
    timeout: 300

# Settings after the extensions stay as they are.
GOOSE_TELEMETRY_ENABLED: false
"#
    );
    // Goose still reads the description and the disabled flag.
    let after = parse(Client::Goose, &plan.after).unwrap();
    let github = after.iter().find(|e| e.name == "github").unwrap();
    assert!(github.disabled && github.env.is_empty());
}

#[test]
fn yaml_scalars_are_quoted_when_they_must_be() {
    let text = "extensions:\n  a:\n    type: stdio\n    cmd: npx\n    args: [x]\n";
    for gatehouse in [
        "C:\\Program Files\\Gatehouse\\gatehouse.exe",
        "/opt/my apps/gate: house/gatehouse",
        "/opt/#gatehouse/'quoted\"/gatehouse",
    ] {
        for server in ["true", "1.0", "null", "a b", "x-1"] {
            let name = |_: &Entry| Some(server.to_string());
            let (after, _) = connect::plan_text(Client::Goose, text, gatehouse, &name).unwrap();
            let entry = &parse(Client::Goose, &after).unwrap()[0];
            assert_eq!(entry.command.as_deref(), Some(gatehouse), "{after}");
            assert_eq!(entry.args, ["run", server], "{after}");
        }
    }
}

#[test]
fn yaml_with_crlf_and_a_byte_order_mark_round_trips() {
    for (client, file) in [
        (Client::Continue, ".continue/config.yaml"),
        (Client::Goose, ".config/goose/config.yaml"),
    ] {
        let h = fixture_home();
        let path = h.home.join(file);
        let lf = std::fs::read_to_string(&path).unwrap();
        let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
        std::fs::write(&path, &crlf).unwrap();
        let plan = connect_file(client, &path, &h.data);
        assert!(!plan.is_noop());
        assert!(plan.after.starts_with('\u{feff}'));
        assert!(
            !plan.after.replace("\r\n", "").contains('\n'),
            "{client}: a bare LF:\n{}",
            plan.after
        );
        assert_outside_unchanged(&plan);
        // The same entries as the LF file, line ends aside.
        let lf_plan = connect::plan_text(client, &lf, GATEHOUSE, &routed_name).unwrap();
        assert_eq!(
            plan.after,
            format!("\u{feff}{}", lf_plan.0.replace('\n', "\r\n"))
        );
        let restore = restore::plan(client, &path, &h.data).unwrap();
        assert!(restore.exact);
        restore::apply(&restore, &h.data).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), crlf);
    }
}

#[test]
fn yaml_entries_are_found_however_they_are_named() {
    // A document marker, a name YAML reads as a number, the same name
    // twice, an item with no name, empty values and a quoted key.
    let text = "---\nmcpServers:\n  - name: 1.0\n    command: a\n    cwd:\n  - name: twice\n    command: b\n  - name: twice\n    command: c\n    args: [x]\n  - command: d\n    description:\n...\n";
    let (after, edits) =
        connect::plan_text(Client::Continue, text, GATEHOUSE, &routed_name).unwrap();
    let names: Vec<&str> = edits.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["1.0", "twice", "twice", "#4"]);
    assert!(
        after.starts_with("---\n") && after.ends_with("\n...\n"),
        "{after}"
    );
    assert!(after.contains("  - command: /opt/gatehouse/bin/gatehouse\n    args:\n      - run\n      - s-4\n    description:\n"), "{after}");
    assert!(!after.contains("cwd"), "{after}");
    let routed: Vec<Option<String>> = parse(Client::Continue, &after)
        .unwrap()
        .iter()
        .map(|e| e.routed_to().map(str::to_string))
        .collect();
    assert_eq!(
        routed,
        [Some("1.0"), Some("twice"), Some("twice"), Some("s-4")].map(|s| s.map(String::from))
    );
    let goose = "extensions:\n  \"my ext\": {\"type\": \"stdio\", \"cmd\": \"npx\", \"args\": []}\n  'other':\n    cmd: npx\n";
    let (after, edits) = connect::plan_text(Client::Goose, goose, GATEHOUSE, &routed_name).unwrap();
    assert_eq!(edits.len(), 2);
    assert_eq!(
        after,
        "extensions:\n  \"my ext\": {type: stdio, cmd: /opt/gatehouse/bin/gatehouse, args: [run, my-ext]}\n  'other':\n    cmd: /opt/gatehouse/bin/gatehouse\n    args:\n      - run\n      - other\n"
    );
}

#[test]
fn a_continue_json_block_stays_json() {
    // A workspace block copied from Claude Desktop.
    let text = "{\n  \"mcpServers\": {\n    \"fs\": {\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"server-fs\"]\n    }\n  }\n}\n";
    let (after, edits) =
        connect::plan_text(Client::Continue, text, GATEHOUSE, &routed_name).unwrap();
    assert_eq!(edits.len(), 1);
    let json: serde_json::Value = serde_json::from_str(&after).expect("still JSON");
    assert_eq!(
        json["mcpServers"]["fs"]["args"],
        serde_json::json!(["run", "fs"])
    );
    // The same servers written as YAML are edited as YAML.
    let yaml = "mcpServers:\n  fs:\n    command: npx\n";
    let (after, _) = connect::plan_text(Client::Continue, yaml, GATEHOUSE, &routed_name).unwrap();
    assert!(
        after.contains("    command: /opt/gatehouse/bin/gatehouse\n"),
        "{after}"
    );
}

#[test]
fn a_yaml_anchor_used_outside_the_entries_leaves_the_file_alone() {
    // `b` is not imported, so it stays, and its alias needs `a`'s anchor.
    let text = "extensions:\n  a:\n    type: stdio\n    cmd: &npx npx\n    args: [x]\n  b:\n    type: stdio\n    cmd: *npx\n    args: [y]\n";
    let only_a = |e: &Entry| (e.name == "a").then(|| "a".to_string());
    let err = connect::plan_text(Client::Goose, text, GATEHOUSE, &only_a).unwrap_err();
    assert!(
        err.contains("would leave the file unreadable") && err.contains("left alone"),
        "{err}"
    );
    // Both imported: both rewritten, and the anchor is no longer needed.
    let (after, edits) = connect::plan_text(Client::Goose, text, GATEHOUSE, &routed_name).unwrap();
    assert_eq!(edits.len(), 2);
    assert!(!after.contains("npx"), "{after}");
    // An alias of a whole entry would be rewritten with it.
    let text = "extensions:\n  a: &a {type: stdio, cmd: npx, args: [x]}\n  b: *a\n";
    let err = connect::plan_text(Client::Goose, text, GATEHOUSE, &only_a).unwrap_err();
    assert!(err.contains("would change more than the entries"), "{err}");
}
