use std::io::Write;
use std::process::{Command, Stdio};

use super::super::testing::PypiFixture;
use super::*;

#[test]
fn a_pinned_wheel_installs_hash_checked_and_runs_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path().join("data")).unwrap();
    let fx = PypiFixture::start(tmp.path());
    let installed = install(&dir, &fx.spec(), &fx.sources(), |_| {}).unwrap();
    assert!(
        installed
            .path
            .ends_with("packages/pypi/gatehouse-test-py@1.0.0")
    );
    let req = fs::read_to_string(installed.path.join("requirements.txt")).unwrap();
    // Every file hashed: the vetted wheel by its pinned hash, and the
    // dependency pip resolved from the index.
    assert_eq!(
        req,
        format!(
            "gatehouse_test_py==1.0.0 --hash=sha256:{}\ngatehouse_test_pydep==1.0.0 --hash=sha256:{}\n",
            fx.sha256, fx.dep_sha256
        )
    );
    assert!(
        installed
            .path
            .join("lib/gatehouse_test_pydep/__init__.py")
            .is_file()
    );
    assert_eq!(installed.args[..3], ["-I", "-B", "-c"]);
    let mut child = Command::new(&installed.command)
        .args(&installed.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello from python"));
    // Running it wrote nothing into the cache: the tree still matches.
    assert_eq!(
        tree::tree_hash(&installed.path).unwrap(),
        installed.tree_hash
    );
}

#[test]
fn a_wheel_with_another_hash_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path().join("data")).unwrap();
    let fx = PypiFixture::start(tmp.path());
    let mut spec = fx.spec();
    spec.checksum = Checksum::Sha256(sha256_hex(b"other"));
    let err = install(&dir, &spec, &fx.sources(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert!(!dir.root().join("packages").exists());
}

#[test]
fn the_json_api_resolves_the_current_version_and_its_wheel() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = PypiFixture::start(tmp.path());
    let spec = resolve(&fx.sources(), PackageKind::Pypi, "gatehouse-test-py", None).unwrap();
    assert_eq!(spec, fx.spec());
}
