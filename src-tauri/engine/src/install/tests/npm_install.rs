use std::process::{Command, Stdio};

use super::super::testing::NpmFixture;
use super::*;

fn data() -> (tempfile::TempDir, DataDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path().join("data")).unwrap();
    (tmp, dir)
}

/// Runs the installed command with one `tools/call` and returns stdout.
fn call_tool(installed: &Installed) -> String {
    let mut child = Command::new(&installed.command)
        .args(&installed.args)
        .envs(&installed.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"hello\"}}\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_pinned_npm_package_installs_with_a_hashed_lockfile_and_runs_from_the_cache() {
    let (tmp, dir) = data();
    let fx = NpmFixture::start(tmp.path());
    let mut steps = Vec::new();
    let installed = install(&dir, &fx.spec(), &fx.sources(), |s| steps.push(s)).unwrap();

    assert_eq!(installed.path, cache_path(&dir, &fx.spec()));
    assert!(
        installed
            .path
            .ends_with("packages/npm/gatehouse-test-hello@1.0.0")
    );
    assert_eq!(
        installed.tree_hash,
        tree::tree_hash(&installed.path).unwrap()
    );
    assert!(steps.contains(&Step::Downloading) && steps.contains(&Step::Hashing));
    // Launched with node on the package's bin, from the cache.
    assert!(installed.command.ends_with("node"), "{}", installed.command);
    assert_eq!(
        installed.args,
        [installed
            .path
            .join("node_modules/gatehouse-test-hello/bin/server.js")
            .display()
            .to_string()]
    );
    // Every package in the lockfile carries its integrity.
    let lock: serde_json::Value =
        serde_json::from_slice(&fs::read(installed.path.join("package-lock.json")).unwrap())
            .unwrap();
    let packages = lock["packages"].as_object().unwrap();
    assert_eq!(
        packages["node_modules/gatehouse-test-hello"]["integrity"],
        fx.integrity.as_str()
    );
    assert!(
        packages["node_modules/gatehouse-test-dep"]["integrity"]
            .as_str()
            .unwrap()
            .starts_with("sha512-")
    );
    // Nothing is left besides the install and its manifest.
    let mut left: Vec<_> = fs::read_dir(installed.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "gatehouse-test-hello@1.0.0",
            "gatehouse-test-hello@1.0.0.manifest"
        ]
    );
    // And it runs: the dependency's greeting comes back.
    assert!(call_tool(&installed).contains("hello from the dependency"));
}

#[test]
fn a_wrong_integrity_refuses_before_anything_is_written() {
    let (tmp, dir) = data();
    let fx = NpmFixture::start(tmp.path());
    let mut spec = fx.spec();
    spec.checksum = Checksum::Integrity(sri_sha512(b"something else"));
    let err = install(&dir, &spec, &fx.sources(), |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(!dir.root().join("packages").exists());
    // Only the metadata was fetched, never the tarball.
    assert!(
        fx.server.requests().iter().all(|r| !r.ends_with(".tgz")),
        "{:?}",
        fx.server.requests()
    );
}

#[test]
fn a_tarball_that_does_not_hash_to_the_pin_is_refused() {
    let (tmp, dir) = data();
    let fx = NpmFixture::start(tmp.path());
    // The registry's metadata agrees with the pin, but serves other bytes.
    fx.server.route(
        "/gatehouse-test-hello/-/gatehouse-test-hello-1.0.0.tgz",
        crate::registry::testing::Recorded::ok(b"not the vetted tarball".to_vec()),
    );
    let err = install(&dir, &fx.spec(), &fx.sources(), |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not hash to the vetted"), "{err}");
    assert!(!dir.root().join("packages").exists());
}

#[test]
fn ranges_and_latest_are_not_installed() {
    let (tmp, dir) = data();
    for version in ["latest", "^1.0.0", ""] {
        let mut spec = spec();
        spec.version = version.into();
        let err = install(&dir, &spec, &Sources::default(), |_| {}).unwrap_err();
        assert!(err.to_string().contains("exact version"), "{err}");
    }
    let mut spec = spec();
    spec.identifier = "../../etc".into();
    assert!(install(&dir, &spec, &Sources::default(), |_| {}).is_err());
    drop(tmp);
}

#[test]
fn what_a_killed_install_left_is_removed_by_a_later_one_once_stale() {
    let (tmp, dir) = data();
    let fx = NpmFixture::start(tmp.path());
    let kind_dir = dir.root().join("packages/npm");
    fs::create_dir_all(kind_dir.join(".build-1-1/node_modules")).unwrap();
    fs::write(kind_dir.join(".build-1-1.manifest"), "").unwrap();
    fs::create_dir_all(kind_dir.join(".build-2-2")).unwrap();
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(25 * 3600);
    for stale in [".build-1-1", ".build-1-1.manifest"] {
        fs::File::open(kind_dir.join(stale))
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
    }
    install(&dir, &fx.spec(), &fx.sources(), |_| {}).unwrap();
    assert!(!kind_dir.join(".build-1-1").exists());
    assert!(!kind_dir.join(".build-1-1.manifest").exists());
    // A recent one may be another install still running.
    assert!(kind_dir.join(".build-2-2").exists());
}

#[test]
fn a_reinstall_replaces_a_tampered_tree() {
    let (tmp, dir) = data();
    let fx = NpmFixture::start(tmp.path());
    let first = install(&dir, &fx.spec(), &fx.sources(), |_| {}).unwrap();
    let bin = first
        .path
        .join("node_modules/gatehouse-test-hello/bin/server.js");
    fs::write(&bin, "process.exit(1)\n").unwrap();
    assert_ne!(tree::tree_hash(&first.path).unwrap(), first.tree_hash);
    let second = install(&dir, &fx.spec(), &fx.sources(), |_| {}).unwrap();
    assert_eq!(second.tree_hash, first.tree_hash);
    assert_eq!(tree::tree_hash(&second.path).unwrap(), first.tree_hash);
}
