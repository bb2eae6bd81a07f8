//! The poisoning scanner on a 100-tool `tools/list` (the target: at
//! most 2 ms for the whole list): the 50 poisoned cases of the engine's
//! scanner fixtures and the first 50 benign ones, so every rule and the
//! decoding of hidden text run. Regexes are compiled before measuring, as
//! they are once per process.
//!
//! Run: `cargo bench -p gatehouse-bench --bench scan`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_engine::scan::{scan_tool, scan_tool_among, scan_tools};
use serde_json::Value;

fn fixture(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/../src-tauri/engine/tests/fixtures/scanner/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("scanner fixture");
    let list: Value = serde_json::from_str(&text).expect("fixture is JSON");
    list["tools"].as_array().expect("a tools array").clone()
}

fn scan(c: &mut Criterion) {
    let mut tools = fixture("poisoned.json");
    tools.extend(fixture("benign.json").into_iter().take(100 - tools.len()));
    assert_eq!(tools.len(), 100);
    let list = serde_json::json!({ "tools": tools.clone() });
    // Compile every regex outside the measurement.
    black_box(scan_tools(&list));

    c.bench_function("scan_tools: 100-tool tools/list", |b| {
        b.iter(|| scan_tools(black_box(&list)))
    });
    // The scanner alone, as pin review calls it: each tool's findings among
    // its siblings, without the risk tier (`policy::risk::assess`).
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    c.bench_function("scan_tool_among: 100 tools, findings only", |b| {
        b.iter(|| {
            for tool in &tools {
                black_box(scan_tool_among(black_box(tool), &names));
            }
        })
    });
    let poisoned = serde_json::json!({ "tools": fixture("poisoned.json") });
    c.bench_function("scan_tools: 50 poisoned tools", |b| {
        b.iter(|| scan_tools(black_box(&poisoned)))
    });
    let benign = fixture("benign.json");
    let plain = benign.first().expect("a benign tool");
    c.bench_function("scan_tool: one benign tool", |b| {
        b.iter(|| scan_tool(black_box(plain)))
    });
}

criterion_group!(benches, scan);
criterion_main!(benches);
