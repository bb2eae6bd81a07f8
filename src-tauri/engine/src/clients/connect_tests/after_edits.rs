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

#[test]
fn two_connects_are_undone_newest_first() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let original = std::fs::read(&path).unwrap();
    connect_file(Client::Cursor, &path, &h.data);
    // A new server appears; the second connect routes it.
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "  \"mcpServers\": {\n",
        "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
        1,
    );
    std::fs::write(&path, &text).unwrap();
    let second = connect_file(Client::Cursor, &path, &h.data);
    assert_eq!(second.edits.len(), 1);
    restore::apply(
        &restore::plan(Client::Cursor, &path, &h.data).unwrap(),
        &h.data,
    )
    .unwrap();
    let expected = String::from_utf8(original).unwrap().replacen(
        "  \"mcpServers\": {\n",
        "  \"mcpServers\": {\n    \"new\": { \"command\": \"new-server\" },\n",
        1,
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}
