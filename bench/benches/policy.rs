//! The policy decision on a `tools/call` with three argument rules: a path
//! allow glob, a URL domain rule and a regex deny rule (the target:
//! at most 20 µs). The rules are compiled once, as a proxy does when its
//! policy loads; each iteration evaluates one call's already-parsed
//! arguments, including the `lstat`s of path canonicalisation on real files.
//!
//! Run: `cargo bench -p gatehouse-bench --bench policy`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_engine::Decision;
use gatehouse_engine::policy::args::{ArgumentRules, CompiledRules, PathContext};
use gatehouse_engine::policy::risk::{ScanFindings, ToolDefinition, assess};
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
}

criterion_group!(benches, policy);
criterion_main!(benches);
