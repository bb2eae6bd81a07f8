use serde_json::json;

use super::*;

fn tool(name: &str) -> ToolDefinition {
    ToolDefinition {
        name: name.into(),
        ..ToolDefinition::default()
    }
}

fn with_desc(name: &str, description: &str) -> ToolDefinition {
    ToolDefinition {
        description: Some(description.into()),
        ..tool(name)
    }
}

fn tier(t: &ToolDefinition) -> RiskTier {
    assess(t, ScanFindings::NONE).tier
}

#[test]
fn name_verbs_set_the_tier_in_every_naming_style() {
    for (name, expected) in [
        ("delete_file", RiskTier::Critical),
        ("deleteFile", RiskTier::Critical),
        ("files.delete", RiskTier::Critical),
        ("remove-branch", RiskTier::Critical),
        ("DROP_TABLE", RiskTier::Critical),
        ("truncateLogs", RiskTier::Critical),
        ("exec", RiskTier::Critical),
        ("run_command", RiskTier::Critical),
        ("runShellCommand", RiskTier::Critical),
        ("execute_sql", RiskTier::Critical),
        ("eval_js", RiskTier::Critical),
        ("shell", RiskTier::Critical),
        ("kill_process", RiskTier::Critical),
        ("transfer_funds", RiskTier::Critical),
        ("create_payment", RiskTier::Critical),
        ("purchase_item", RiskTier::Critical),
        ("write_file", RiskTier::High),
        ("edit_file", RiskTier::High),
        ("move_file", RiskTier::High),
        ("rename", RiskTier::High),
        ("send_email", RiskTier::High),
        ("slack.postMessage", RiskTier::High),
        ("deploy_app", RiskTier::High),
        ("create_issue", RiskTier::Medium),
        ("run_tests", RiskTier::Medium),
        ("fetch", RiskTier::Medium),
        ("web_search", RiskTier::Medium),
        ("read_file", RiskTier::Low),
        ("list_directory", RiskTier::Low),
        ("get_weather", RiskTier::Low),
    ] {
        assert_eq!(tier(&tool(name)), expected, "{name}");
    }
}

#[test]
fn ordinary_words_do_not_misfire() {
    for name in [
        "undelete_message",
        "render_dropdown",
        "executive_summary",
        "get_posts",
        "list_emails",
        "get_updates",
        "list_runs",
        "get_transfer_status",
        "list_releases",
        "search_messages",
        "describe_table",
        "get_shell_history",
        "get_settings",
        "format_date",
        "calculate",
        "processDocument",
    ] {
        let a = assess(&tool(name), ScanFindings::NONE);
        assert_eq!(a.tier, RiskTier::Low, "{name}: {:?}", a.reasons);
    }
}

#[test]
fn inflected_verbs_in_descriptions_count() {
    let t = with_desc("cleanup", "Permanently deletes every file in the folder.");
    assert_eq!(tier(&t), RiskTier::Critical);
    let t = with_desc("channel_tool", "Messages are sent to the channel.");
    assert_eq!(tier(&t), RiskTier::High);
    let t = with_desc("x", "Dropping rows that are stale.");
    assert_eq!(tier(&t), RiskTier::Critical);
}

#[test]
fn negated_verbs_in_descriptions_do_not_count() {
    for d in [
        "Reads a file. It does not delete or modify anything.",
        "Lists files without deleting them.",
        "Shows the inbox; never sends mail.",
        "Read-only: doesn't write to disk.",
    ] {
        let a = assess(&with_desc("inspect", d), ScanFindings::NONE);
        assert_eq!(a.tier, RiskTier::Low, "{d}: {:?}", a.reasons);
    }
}

#[test]
fn later_sentences_count_at_most_high() {
    let t = with_desc(
        "list_files",
        "Lists the files in a directory. Use delete_file to remove them.",
    );
    let a = assess(&t, ScanFindings::NONE);
    assert_eq!(a.tier, RiskTier::High);
    assert!(
        a.reasons
            .iter()
            .all(|r| r.evidence != Evidence::Description || r.tier <= RiskTier::High)
    );
}

#[test]
fn annotations_raise_but_never_lower() {
    let mut t = tool("delete_file");
    t.annotations.read_only_hint = Some(true);
    t.annotations.destructive_hint = Some(false);
    let a = assess(&t, ScanFindings::NONE);
    assert_eq!(a.tier, RiskTier::Critical);
    assert!(a.needs_confirmation_to_always_allow);
    let overruled: Vec<_> = a
        .reasons
        .iter()
        .filter(|r| r.signal == RiskSignal::HintOverruled)
        .map(|r| r.word.as_deref().unwrap())
        .collect();
    assert_eq!(overruled, ["readOnlyHint", "destructiveHint"]);

    let mut t = tool("write_file");
    t.annotations.read_only_hint = Some(true);
    assert_eq!(tier(&t), RiskTier::High);

    // A harmless name with a destructive hint: the hint raises it.
    let mut t = tool("tidy");
    t.annotations.destructive_hint = Some(true);
    assert_eq!(tier(&t), RiskTier::Critical);

    let mut t = tool("lookup");
    t.annotations.read_only_hint = Some(false);
    assert_eq!(tier(&t), RiskTier::Medium);
    t.annotations = ToolAnnotations {
        idempotent_hint: Some(false),
        ..ToolAnnotations::default()
    };
    assert_eq!(tier(&t), RiskTier::Medium);
    t.annotations = ToolAnnotations {
        read_only_hint: Some(true),
        idempotent_hint: Some(true),
        open_world_hint: Some(false),
        destructive_hint: Some(false),
    };
    assert_eq!(tier(&t), RiskTier::Low);
}

#[test]
fn open_world_hint_raises_and_marks_sends_out() {
    let mut t = tool("lookup");
    t.annotations.open_world_hint = Some(true);
    let a = assess(&t, ScanFindings::NONE);
    assert_eq!(a.tier, RiskTier::Medium);
    assert!(a.sends_out);
}

#[test]
fn malformed_annotations_are_no_hints() {
    let t = ToolDefinition::from_json(&json!({
        "name": "delete_file",
        "annotations": {"readOnlyHint": "yes", "destructiveHint": 1, "title": "x"},
        "inputSchema": {"type": "object"}
    }))
    .unwrap();
    assert_eq!(t.annotations, ToolAnnotations::default());
    assert_eq!(tier(&t), RiskTier::Critical);
    assert!(ToolDefinition::from_json(&json!({"description": "no name"})).is_none());
}

#[test]
fn schema_arguments_are_evidence() {
    let t = ToolDefinition::from_json(&json!({
        "name": "terminal_helper",
        "inputSchema": {"type": "object", "properties": {"command": {"type": "string"}}}
    }))
    .unwrap();
    // "terminal" in the name already says it runs commands.
    assert_eq!(tier(&t), RiskTier::Critical);
    let t = ToolDefinition::from_json(&json!({
        "name": "helper",
        "inputSchema": {"type": "object", "properties": {"cmd": {"type": "string"}}}
    }))
    .unwrap();
    let a = assess(&t, ScanFindings::NONE);
    assert_eq!(a.tier, RiskTier::High);
    assert_eq!(a.reasons[0].signal, RiskSignal::Executes);
    assert_eq!(a.reasons[0].evidence, Evidence::Schema);

    let t = ToolDefinition::from_json(&json!({
        "name": "compose",
        "inputSchema": {"properties": {
            "to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}}}
    }))
    .unwrap();
    let a = assess(&t, ScanFindings::NONE);
    assert_eq!(a.tier, RiskTier::High);
    assert!(a.sends_out);

    let t = ToolDefinition::from_json(&json!({
        "name": "checkout_cart",
        "inputSchema": {"properties": {"amount": {"type": "number"}, "currency": {"type": "string"}}}
    }))
    .unwrap();
    assert_eq!(tier(&t), RiskTier::Critical);

    // `zip_code` is not code to run; `source_url` is a URL.
    let t = ToolDefinition::from_json(&json!({
        "name": "geocode",
        "inputSchema": {"properties": {"zip_code": {"type": "string"}}}
    }))
    .unwrap();
    assert_eq!(tier(&t), RiskTier::Low);
    let t = ToolDefinition::from_json(&json!({
        "name": "summarize",
        "inputSchema": {"properties": {"source_url": {"type": "string"}}}
    }))
    .unwrap();
    let a = assess(&t, ScanFindings::NONE);
    assert_eq!(a.tier, RiskTier::Medium);
    assert!(a.sends_out);
}

#[test]
fn scanner_findings_flag_critical() {
    let t = tool("get_weather");
    let flagged = ScanFindings {
        count: 2,
        worst: Some(RiskTier::High),
    };
    let a = assess(&t, flagged);
    assert_eq!(a.tier, RiskTier::Critical);
    assert_eq!(a.reasons[0].signal, RiskSignal::ScannerFlagged);
    assert!(a.reasons[0].message.contains("2 issues"));
    let unknown = ScanFindings {
        count: 1,
        worst: None,
    };
    assert_eq!(assess(&t, unknown).tier, RiskTier::Critical);
    let minor = ScanFindings {
        count: 1,
        worst: Some(RiskTier::Low),
    };
    assert_eq!(assess(&t, minor).tier, RiskTier::Medium);
}

#[test]
fn default_decisions_follow_the_tier() {
    for (name, decision, confirm) in [
        ("get_weather", Decision::Allow, false),
        ("create_issue", Decision::Allow, false),
        ("write_file", Decision::Ask, false),
        ("delete_file", Decision::Ask, true),
    ] {
        let a = assess(&tool(name), ScanFindings::NONE);
        assert_eq!(a.default_decision, decision, "{name}");
        assert_eq!(a.needs_confirmation_to_always_allow, confirm, "{name}");
    }
}

#[test]
fn every_assessment_has_a_reason_highest_first() {
    let a = assess(&tool("get_weather"), ScanFindings::NONE);
    assert_eq!(a.reasons.len(), 1);
    assert_eq!(a.reasons[0].signal, RiskSignal::NothingFound);
    let a = assess(
        &with_desc(
            "update_and_delete",
            "Updates a record, then deletes the old one.",
        ),
        ScanFindings::NONE,
    );
    assert!(a.reasons.windows(2).all(|w| w[0].tier >= w[1].tier));
    assert_eq!(
        a.reasons[0].message,
        "Its name says \"delete\": it can delete or destroy data."
    );
}

#[test]
fn flow_marks_are_suggested() {
    for (name, reads, sends) in [
        ("read_file", true, false),
        ("list_emails", true, false),
        ("query_database", true, false),
        ("search_messages", true, false),
        ("get_weather", false, false),
        ("send_email", false, true),
        ("slack_post_message", false, true),
        ("upload_file", false, true),
        ("http_request", false, true),
        ("fetch", false, true),
        ("calculate", false, false),
    ] {
        let a = assess(&tool(name), ScanFindings::NONE);
        assert_eq!(
            (a.reads_private, a.sends_out),
            (reads, sends),
            "{name}: {:?}",
            a.flow_reasons
        );
    }
    // A reading tool that takes a path reads files.
    let t = ToolDefinition::from_json(&json!({
        "name": "read_text",
        "inputSchema": {"properties": {"path": {"type": "string"}}}
    }))
    .unwrap();
    let a = assess(&t, ScanFindings::NONE);
    assert!(a.reads_private);
    assert_eq!(a.flow_reasons[0].evidence, Evidence::Schema);
    // From the description.
    let a = assess(
        &with_desc("helper", "Reads the user's calendar events."),
        ScanFindings::NONE,
    );
    assert!(a.reads_private);
}

#[test]
fn assessment_serialises_for_the_ui() {
    let a = assess(&tool("delete_file"), ScanFindings::NONE);
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["tier"], "critical");
    assert_eq!(v["default_decision"], "ask");
    assert_eq!(v["needs_confirmation_to_always_allow"], true);
    assert_eq!(v["reasons"][0]["signal"], "destroys");
    assert_eq!(v["reasons"][0]["evidence"], "name");
    assert_eq!(v["reasons"][0]["word"], "delete");
}
