//! The policy decision on a `tools/call` with three argument rules: a path
//! allow glob, a URL domain rule and a regex deny rule (the issue's target:
//! at most 20 µs). The rules are compiled once, as a proxy does when its
//! policy loads; each iteration evaluates one call's already-parsed
//! arguments, including the `lstat`s of path canonicalisation on real files.
//!
//! Run: `cargo bench -p gatehouse-bench --bench policy`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_engine::policy::args::{ArgumentRules, CompiledRules, PathContext};
use gatehouse_engine::policy::risk::{ScanFindings, ToolDefinition, assess};
use gatehouse_engine::policy::rules::ToolRules;
use gatehouse_engine::{DataDir, Decision, NewServer, Store, Transport};
use serde_json::json;

fn policy(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(tmp.path()).expect("canonical temp dir");
    std::fs::create_dir_all(root.join("reports/2024")).expect("reports dir");
    std::fs::write(root.join("reports/2024/q4.txt"), "numbers").expect("report");
    let reports = root.join("reports");

    let tool = ToolDefinition::from_json(&json!({
        "name": "export_report",
        "description": "Exports a report to a file and posts it to a URL.",
        "inputSchema": {"type": "object", "properties": {
            "path": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "note": {"type": "string"}}}
    }))
    .expect("tool");
    let rules: ArgumentRules = serde_json::from_value(json!({"rules": [
        {"kind": "path_allow", "glob": format!("{}/**", reports.display())},
        {"kind": "domain_allow", "domain": "*.example.com"},
        {"kind": "pattern", "regex": "(?i)password|secret|BEGIN [A-Z ]*PRIVATE KEY"},
    ]}))
    .expect("rules");
    let ctx = PathContext {
        home: Some(root.clone()),
        base_dir: Some(root.clone()),
    };
    let compiled =
        CompiledRules::compile(&rules, &tool.name, &tool.input_schema, ctx).expect("compile");

    let allowed = json!({
        "path": reports.join("2024/q4.txt"),
        "url": "https://api.example.com/v1/upload?team=finance",
        "note": "Quarterly numbers, as discussed on Monday.",
    });
    let traversal = json!({
        "path": format!("{}/2024/../../etc/passwd", reports.display()),
        "url": "https://api.example.com/v1/upload",
        "note": "q4",
    });
    assert_eq!(compiled.evaluate(&allowed).decision, Decision::Allow);
    assert_eq!(compiled.evaluate(&traversal).decision, Decision::Deny);

    let mut group = c.benchmark_group("policy decision, three argument rules");
    group.bench_function("allowed call", |b| {
        b.iter(|| compiled.evaluate(black_box(&allowed)))
    });
    // The same call without its path: what canonicalising the path costs.
    let pathless = json!({
        "url": "https://api.example.com/v1/upload?team=finance",
        "note": "Quarterly numbers, as discussed on Monday.",
    });
    group.bench_function("allowed call without the path", |b| {
        b.iter(|| compiled.evaluate(black_box(&pathless)))
    });
    group.bench_function("denied call (path traversal)", |b| {
        b.iter(|| compiled.evaluate(black_box(&traversal)))
    });
    group.finish();

    // Not on the call path: once per policy load and per `tools/list`.
    c.bench_function("compile the three rules", |b| {
        b.iter(|| {
            CompiledRules::compile(
                black_box(&rules),
                &tool.name,
                &tool.input_schema,
                PathContext {
                    home: Some(root.clone()),
                    base_dir: Some(root.clone()),
                },
            )
        })
    });
    c.bench_function("risk tier of one tool", |b| {
        b.iter(|| assess(black_box(&tool), ScanFindings::NONE))
    });

    // What the proxy runs per `tools/call`: the server's whole policy
    // snapshot (switches, defaults, risk tier, the same three rules, "always
    // allow" rules) deciding on the raw `params.arguments` as they arrive,
    // JSON parsing included. Rate limits and the flow rule are not in it:
    // they apply only to tools that have them.
    let mut store =
        Store::open(&DataDir::at(root.join("gatehouse")).expect("data dir")).expect("store");
    store
        .add_server(&NewServer {
            name: "reports".into(),
            transport: Transport::stdio("node", ["reports.js"]),
        })
        .expect("server");
    store
        .record_tools(
            "reports",
            &[(tool.name.clone(), serde_json::to_string(&json!({
                "name": "export_report",
                "description": "Exports a report to a file and posts it to a URL.",
                "inputSchema": {"type": "object", "properties": {
                    "path": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                    "note": {"type": "string"}}}
            })).expect("json")),
            ("list_reports".into(), r#"{"name":"list_reports","description":"Lists the reports.","inputSchema":{"type":"object"}}"#.into())],
            true,
        )
        .expect("tools");
    store
        .set_tool_rules(
            "reports",
            "export_report",
            &ToolRules {
                args: rules.clone(),
                ..Default::default()
            },
        )
        .expect("rules");
    store
        .set_tool_policy("reports", "export_report", Decision::Allow)
        .expect("switch");
    let snapshot = store.policy_snapshot("reports").expect("snapshot");
    let raw = serde_json::value::RawValue::from_string(allowed.to_string()).expect("raw");
    assert_eq!(
        snapshot.decide("export_report", Some(&raw)).decision,
        Decision::Allow
    );
    c.bench_function(
        "proxy decision: snapshot, raw arguments, three rules",
        |b| b.iter(|| snapshot.decide(black_box("export_report"), Some(black_box(&raw)))),
    );
    c.bench_function("proxy decision: a listed tool without rules", |b| {
        b.iter(|| snapshot.decide(black_box("list_reports"), None))
    });
    // A tool the server never listed: its risk is assessed from its name
    // on each call.
    c.bench_function("proxy decision: a never-listed tool", |b| {
        b.iter(|| snapshot.decide(black_box("purge_reports"), None))
    });
}

criterion_group!(benches, policy);
criterion_main!(benches);
