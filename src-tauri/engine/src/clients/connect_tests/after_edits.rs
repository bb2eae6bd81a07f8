//! Restore after the client edited the file itself: only Gatehouse's own
//! changes are reverted.

use super::*;

#[test]
fn restore_keeps_the_clients_later_edits_json() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Cursor, &path, &h.data);
    // The client adds a server and a setting after connect.
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("{\n", "{\n  \"theme\": \"dark\",\n", 1)
        .replacen(
            "  \"mcpServers\": {\n",
            "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
            1,
        );
    std::fs::write(&path, &edited).unwrap();
    let plan = restore::plan(Client::Cursor, &path, &h.data).unwrap();
    assert!(!plan.exact);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    restore::apply(&plan, &h.data).unwrap();
    let expected = original
        .replacen("{\n", "{\n  \"theme\": \"dark\",\n", 1)
        .replacen(
            "  \"mcpServers\": {\n",
            "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
            1,
        );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}

#[test]
fn restore_leaves_an_entry_the_client_changed_since() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Cursor, &path, &h.data);
    let edited = std::fs::read_to_string(&path).unwrap().replacen(
        "\"args\": [\"run\", \"github\"]",
        "\"args\": [\"run\", \"github\", \"--verbose\"]",
        1,
    );
    std::fs::write(&path, &edited).unwrap();
    let plan = restore::plan(Client::Cursor, &path, &h.data).unwrap();
    assert_eq!(
        plan.warnings,
        ["github was changed since connect; left as it is"]
    );
    restore::apply(&plan, &h.data).unwrap();
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains("\"args\": [\"run\", \"github\", \"--verbose\"]"));
    assert!(now.contains(r#""url": "https://api.example.com/mcp""#));
    assert!(original.contains(r#""command": "python""#) && now.contains(r#""command": "python""#));
}

#[test]
fn restore_keeps_the_clients_later_edits_toml() {
    let h = fixture_home();
    let path = h.home.join(".codex/config.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Codex, &path, &h.data);
    let edited =
        std::fs::read_to_string(&path)
            .unwrap()
            .replacen("model = \"gpt-5\"", "model = \"o3\"", 1);
    std::fs::write(&path, edited).unwrap();
    let plan = restore::plan(Client::Codex, &path, &h.data).unwrap();
    assert!(
        !plan.exact && plan.warnings.is_empty(),
        "{:?}",
        plan.warnings
    );
    restore::apply(&plan, &h.data).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        original.replacen("model = \"gpt-5\"", "model = \"o3\"", 1)
    );
}

/// Moves the `[mcp_servers.docs]` table (up to the next blank line) to the
/// end of a Codex config, as a client that rewrites its file in its own
/// order might.
fn move_docs_table_last(text: &str) -> String {
    let start = text.find("[mcp_servers.docs]").unwrap();
    let end = start + text[start..].find("\n\n").unwrap() + 2;
    let block = &text[start..end];
    format!("{}{}\n{}", &text[..start], &text[end..], block.trim_end()) + "\n"
}

#[test]
fn restore_after_the_client_reordered_its_tables_reverts_them_where_they_are() {
    let h = fixture_home();
    let path = h.home.join(".codex/config.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Codex, &path, &h.data);
    let reordered = move_docs_table_last(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, &reordered).unwrap();
    let plan = restore::plan(Client::Codex, &path, &h.data).unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    restore::apply(&plan, &h.data).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        move_docs_table_last(&original)
    );
}

#[test]
fn restore_keeps_the_clients_later_edits_yaml() {
    let h = fixture_home();
    let path = h.home.join(".config/goose/config.yaml");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Goose, &path, &h.data);
    // The client changes a setting and the builtin it owns, and adds an
    // extension, after connect.
    let edit = |text: &str| {
        text.replacen("GOOSE_MODE: \"smart_approve\"", "GOOSE_MODE: auto", 1)
            .replacen(
                "    timeout: 300\n    type: builtin",
                "    timeout: 600\n    type: builtin",
                1,
            )
            .replacen(
                "extensions:\n",
                "extensions:\n  new:\n    type: stdio\n    cmd: new-server\n    args: []\n",
                1,
            )
    };
    let edited = edit(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, &edited).unwrap();
    let plan = restore::plan(Client::Goose, &path, &h.data).unwrap();
    assert!(!plan.exact);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    restore::apply(&plan, &h.data).unwrap();
    let expected = edit(&original);
    assert_ne!(expected, original);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}

#[test]
fn restore_leaves_yaml_entries_changed_or_removed_since() {
    let h = fixture_home();
    let path = h.home.join(".continue/config.yaml");
    let original = std::fs::read_to_string(&path).unwrap();
    connect_file(Client::Continue, &path, &h.data);
    let connected = std::fs::read_to_string(&path).unwrap();
    // The client adds an argument to one entry and removes another.
    let flow = connected
        .lines()
        .find(|l| l.contains("{name: Brave Search"))
        .unwrap();
    let edited = connected
        .replacen("    - Time\n", "    - Time\n    - --verbose\n", 1)
        .replacen(&format!("{flow}\n"), "", 1);
    std::fs::write(&path, &edited).unwrap();
    let plan = restore::plan(Client::Continue, &path, &h.data).unwrap();
    assert_eq!(
        plan.warnings,
        [
            "Time was changed since connect; left as it is",
            "Brave Search was removed since connect; not put back"
        ]
    );
    restore::apply(&plan, &h.data).unwrap();
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains("    - Time\n    - --verbose\n"), "{now}");
    assert!(!now.contains("Brave Search"));
    // The other entries are back as they were, secrets included.
    let github = "  - name: GitHub\n    command: npx\n";
    assert!(original.contains(github) && now.contains(github), "{now}");
    assert!(now.contains("ghp_TEST000000000000000000000000000000"));
    let memory_start = original.find("  -   name:   Memory").unwrap();
    let memory_end = original.find("  - name: Time").unwrap();
    assert!(now.contains(&original[memory_start..memory_end]), "{now}");
}

#[test]
fn two_connects_are_undone_newest_first() {
    for (client, file, servers, new) in [
        (
            Client::Cursor,
            ".cursor/mcp.json",
            "  \"mcpServers\": {\n",
            "    \"new\": { \"command\": \"new-server\" },\n",
        ),
        (
            Client::Goose,
            ".config/goose/config.yaml",
            "extensions:\n",
            "  new:\n    type: stdio\n    cmd: new-server\n    args: []\n",
        ),
    ] {
        let h = fixture_home();
        let path = h.home.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        connect_file(client, &path, &h.data);
        // A new server appears; the second connect routes it.
        let added = |text: &str| text.replacen(servers, &format!("{servers}{new}"), 1);
        std::fs::write(&path, added(&std::fs::read_to_string(&path).unwrap())).unwrap();
        let second = connect_file(client, &path, &h.data);
        let names: Vec<&str> = second.edits.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["new"], "{client}");
        let plan = restore::plan(client, &path, &h.data).unwrap();
        assert!(plan.warnings.is_empty(), "{client}: {:?}", plan.warnings);
        restore::apply(&plan, &h.data).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            added(&original),
            "{client}"
        );
    }
}
