//! The tree hash every launch of an installed package re-computes (the
//! issue's target: under 50 ms for a typical npm server).
//!
//! The tree is a real one: `@modelcontextprotocol/server-everything`
//! installed with npm (scripts off) into a temporary directory in the
//! bench's set-up, about 3,900 files and 32 MB. With a warm page cache, as
//! on a second launch; the first launch after a reboot also reads the
//! files from disk.
//!
//! - `manifest`: list, hash every file, sort: what the launch check costs
//!   when the tree matches;
//! - `launch check`: `Store::package_check` on a server pinned to that
//!   tree: the pin read from SQLite plus the manifest and its hash.
//!
//! Run: `cargo bench -p gatehouse-bench --bench tree_hash` (needs `npm`
//! and the npm registry; `GATEHOUSE_BENCH_NPM_PACKAGE` picks another package).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_engine::install::{Checksum, LaunchCheck, PackageKind, PackageSpec, tree};
use gatehouse_engine::{DataDir, NewServer, Store, Transport};

fn npm_install(dir: &Path, package: &str) {
    std::fs::write(dir.join("package.json"), r#"{"private":true}"#).unwrap();
    let status = Command::new("npm")
        .args([
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            package,
        ])
        .current_dir(dir)
        .status()
        .expect("npm runs");
    assert!(status.success(), "npm install {package} failed");
}

fn bench(c: &mut Criterion) {
    let package = std::env::var("GATEHOUSE_BENCH_NPM_PACKAGE")
        .unwrap_or_else(|_| "@modelcontextprotocol/server-everything".into());
    let tmp = tempfile::tempdir().unwrap();
    let install = tmp.path().join("install");
    std::fs::create_dir(&install).unwrap();
    npm_install(&install, &package);
    let manifest = tree::manifest(&install).unwrap();
    let bytes: u64 = walk_size(&install);
    eprintln!(
        "tree: {} files, {:.1} MB",
        manifest.entries().len(),
        bytes as f64 / 1e6
    );

    let mut store = Store::open(&DataDir::at(tmp.path().join("data")).unwrap()).unwrap();
    store
        .add_server(&NewServer {
            name: "everything".into(),
            transport: Transport::stdio("node", ["x.js"]),
        })
        .unwrap();
    let spec = PackageSpec {
        kind: PackageKind::Npm,
        identifier: package.clone(),
        version: "0.0.0".into(),
        checksum: Checksum::Integrity("sha512-bench".into()),
        file_url: None,
    };
    store
        .package_pin_set("everything", &spec, &install, &manifest.hash())
        .unwrap();

    let mut group = c.benchmark_group("tree hash");
    group.sample_size(30);
    group.bench_function("manifest", |b| {
        b.iter(|| black_box(tree::manifest(black_box(&install)).unwrap().hash()))
    });
    group.bench_function("launch check", |b| {
        b.iter(|| {
            let check = store.package_check("everything").unwrap();
            assert!(matches!(check, LaunchCheck::Verified(_)));
        })
    });
    group.finish();
}

fn walk_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            total += walk_size(&entry.path());
        } else {
            total += meta.len();
        }
    }
    total
}

criterion_group!(benches, bench);
criterion_main!(benches);
