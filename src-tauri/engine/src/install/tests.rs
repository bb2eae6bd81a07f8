use std::fs;
use std::path::{Path, PathBuf};

use super::tree::{self, Change, Manifest};
use super::*;
use crate::{DataDir, NewServer, Store, Transport};

/// A small tree: two files (one executable) in nested folders and a link.
fn sample(root: &Path) {
    fs::create_dir_all(root.join("lib/deep")).unwrap();
    fs::write(root.join("package.json"), b"{\"name\":\"demo\"}").unwrap();
    fs::write(root.join("lib/deep/index.js"), b"console.log(1)\n").unwrap();
    fs::write(root.join("lib/cli.js"), b"#!/usr/bin/env node\n").unwrap();
    set_mode(&root.join("lib/cli.js"), 0o755);
    #[cfg(unix)]
    std::os::unix::fs::symlink("../lib/cli.js", root.join("lib/deep/cli")).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn spec() -> PackageSpec {
    PackageSpec {
        kind: PackageKind::Npm,
        identifier: "@demo/server".into(),
        version: "1.0.0".into(),
        checksum: Checksum::Integrity("sha512-AAAA".into()),
        file_url: None,
    }
}

#[test]
fn the_manifest_lists_every_file_sorted_with_kind_and_content() {
    let tmp = tempfile::tempdir().unwrap();
    sample(tmp.path());
    let m = tree::manifest(tmp.path()).unwrap();
    let paths: Vec<_> = m.entries().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "lib/cli.js",
            "lib/deep/cli",
            "lib/deep/index.js",
            "package.json"
        ]
    );
    assert_eq!(m.entries()[0].kind, tree::EntryKind::Executable);
    assert_eq!(m.entries()[1].kind, tree::EntryKind::Symlink);
    assert_eq!(m.entries()[2].kind, tree::EntryKind::File);
    // The text round-trips, and the hash is the text's.
    assert_eq!(Manifest::parse(&m.to_text()).unwrap(), m);
    assert_eq!(m.hash().len(), 64);
    assert_eq!(tree::tree_hash(tmp.path()).unwrap(), m.hash());
}

#[test]
fn the_same_files_elsewhere_hash_the_same() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sample(a.path());
    sample(b.path());
    assert_eq!(
        tree::tree_hash(a.path()).unwrap(),
        tree::tree_hash(b.path()).unwrap()
    );
}

/// Hashes a sample tree, applies `tamper`, and returns the first change.
fn change_after(tamper: impl FnOnce(&Path)) -> Option<Change> {
    let tmp = tempfile::tempdir().unwrap();
    sample(tmp.path());
    let before = tree::manifest(tmp.path()).unwrap();
    tamper(tmp.path());
    let after = tree::manifest(tmp.path()).unwrap();
    assert_eq!(
        before.hash() == after.hash(),
        before.first_change(&after).is_none()
    );
    before.first_change(&after)
}

#[test]
fn one_changed_byte_names_the_file() {
    let change = change_after(|root| {
        fs::write(root.join("lib/deep/index.js"), b"console.log(2)\n").unwrap()
    });
    assert_eq!(change, Some(Change::Changed("lib/deep/index.js".into())));
}

#[test]
fn an_added_file_and_a_removed_file_are_named() {
    let added = change_after(|root| fs::write(root.join("lib/extra.js"), b"").unwrap());
    assert_eq!(added, Some(Change::Added("lib/extra.js".into())));
    let removed = change_after(|root| fs::remove_file(root.join("package.json")).unwrap());
    assert_eq!(removed, Some(Change::Removed("package.json".into())));
}

#[test]
fn the_executable_bit_is_part_of_the_hash() {
    let change = change_after(|root| set_mode(&root.join("lib/cli.js"), 0o644));
    assert_eq!(change, Some(Change::Changed("lib/cli.js".into())));
}

#[cfg(unix)]
#[test]
fn a_retargeted_link_is_a_change() {
    let change = change_after(|root| {
        fs::remove_file(root.join("lib/deep/cli")).unwrap();
        std::os::unix::fs::symlink("index.js", root.join("lib/deep/cli")).unwrap();
    });
    assert_eq!(change, Some(Change::Changed("lib/deep/cli".into())));
}

#[cfg(unix)]
#[test]
fn links_that_leave_the_tree_are_refused() {
    for target in ["/etc/passwd", "../../outside", "../lib/../../x"] {
        let tmp = tempfile::tempdir().unwrap();
        sample(tmp.path());
        std::os::unix::fs::symlink(target, tmp.path().join("lib/escape")).unwrap();
        let err = tree::manifest(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("lib/escape") && err.contains("outside"),
            "{target}: {err}"
        );
    }
    // A link that goes up and comes back down stays inside.
    let tmp = tempfile::tempdir().unwrap();
    sample(tmp.path());
    std::os::unix::fs::symlink("../deep/../cli.js", tmp.path().join("lib/deep/ok")).unwrap();
    assert!(tree::manifest(tmp.path()).is_ok());
}

fn store_with_server() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&DataDir::at(tmp.path().join("data")).unwrap()).unwrap();
    store
        .add_server(&NewServer {
            name: "demo".into(),
            transport: Transport::stdio("node", ["x.js"]),
        })
        .unwrap();
    (tmp, store)
}

/// An "installed" tree with its manifest beside it, pinned to `demo`.
fn pinned(tmp: &Path, store: &mut Store) -> std::path::PathBuf {
    let path = tmp.join("pkg");
    sample(&path);
    let m = tree::manifest(&path).unwrap();
    fs::write(tree::manifest_path(&path), m.to_text()).unwrap();
    store
        .package_pin_set("demo", &spec(), &path, &m.hash())
        .unwrap();
    path
}

#[test]
fn a_server_without_a_package_has_nothing_to_check() {
    let (_tmp, store) = store_with_server();
    assert_eq!(store.package_check("demo").unwrap(), LaunchCheck::NoPackage);
}

#[test]
fn an_untouched_install_is_verified_and_the_pin_round_trips() {
    let (tmp, mut store) = store_with_server();
    let path = pinned(tmp.path(), &mut store);
    let LaunchCheck::Verified(pin) = store.package_check("demo").unwrap() else {
        panic!("not verified");
    };
    assert_eq!(pin.spec, spec());
    assert_eq!(pin.path, path);
    assert_eq!(pin.key(), "npm:@demo/server@1.0.0");
    // Tool pins are unaffected by a package pin.
    let tools = store.pin_set("demo").unwrap();
    assert_eq!(tools, crate::pins::PinSet::empty(tools.mode()));
}

#[test]
fn a_tampered_install_is_a_mismatch_naming_the_file() {
    let (tmp, mut store) = store_with_server();
    let path = pinned(tmp.path(), &mut store);
    fs::write(path.join("lib/deep/index.js"), b"console.log(3)\n").unwrap();
    let LaunchCheck::Mismatch { reason, .. } = store.package_check("demo").unwrap() else {
        panic!("tampering not found");
    };
    assert!(reason.contains("checksum mismatch"), "{reason}");
    assert!(reason.contains("lib/deep/index.js was changed"), "{reason}");
    assert!(reason.contains("npm:@demo/server@1.0.0"), "{reason}");
}

#[test]
fn every_check_records_its_time_and_result_in_the_pin() {
    let (tmp, mut store) = store_with_server();
    let path = pinned(tmp.path(), &mut store);
    assert_eq!(store.package_pin("demo").unwrap().unwrap().last_check, None);

    let before = crate::now_micros();
    assert!(matches!(
        store.package_check("demo").unwrap(),
        LaunchCheck::Verified(_)
    ));
    let last = store
        .package_pin("demo")
        .unwrap()
        .unwrap()
        .last_check
        .unwrap();
    assert!(last.ok && last.problem.is_none(), "{last:?}");
    assert!(last.at >= before);

    fs::write(path.join("lib/deep/index.js"), b"console.log(3)\n").unwrap();
    assert!(matches!(
        store.package_check("demo").unwrap(),
        LaunchCheck::Mismatch { .. }
    ));
    let pin = store.package_pin("demo").unwrap().unwrap();
    let last = pin.last_check.unwrap();
    assert!(!last.ok);
    assert!(
        last.problem
            .unwrap()
            .contains("lib/deep/index.js was changed"),
        "the failure names the file"
    );
    // The rest of the pin is untouched.
    assert_eq!((pin.spec, pin.path), (spec(), path));
}

#[test]
fn a_tampered_manifest_cannot_hide_a_change() {
    let (tmp, mut store) = store_with_server();
    let path = pinned(tmp.path(), &mut store);
    fs::write(path.join("evil.js"), b"x").unwrap();
    // Someone rewrites the manifest to match: the pin in the store does not.
    let m = tree::manifest(&path).unwrap();
    fs::write(tree::manifest_path(&path), m.to_text()).unwrap();
    let LaunchCheck::Mismatch { reason, .. } = store.package_check("demo").unwrap() else {
        panic!("tampering not found");
    };
    assert!(reason.contains("altered too"), "{reason}");
}

#[test]
fn a_missing_install_is_a_mismatch() {
    let (tmp, mut store) = store_with_server();
    let path = pinned(tmp.path(), &mut store);
    fs::remove_dir_all(&path).unwrap();
    assert!(matches!(
        store.package_check("demo").unwrap(),
        LaunchCheck::Mismatch { .. }
    ));
}

#[test]
fn a_new_pin_replaces_the_old_one() {
    let (tmp, mut store) = store_with_server();
    let path = pinned(tmp.path(), &mut store);
    let mut newer = spec();
    newer.version = "1.0.1".into();
    let hash = tree::tree_hash(&path).unwrap();
    store.package_pin_set("demo", &newer, &path, &hash).unwrap();
    assert_eq!(
        store.package_pin("demo").unwrap().unwrap().key(),
        "npm:@demo/server@1.0.1"
    );
    assert!(store.package_pin_set("nope", &newer, &path, &hash).is_err());
}

mod npm_install {
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
}

mod pypi_install {
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
}

mod bundles_and_images {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use super::*;
    use crate::registry::testing::{FixtureServer, Recorded};

    /// A zip of `(name, contents, unix mode)`; a mode of `0o120777` makes a link.
    fn zip_of(files: &[(&str, &str, u32)]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, text, mode) in files {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            if *mode & 0o170000 == 0o120000 {
                zip.add_symlink(*name, *text, opts).unwrap();
            } else {
                zip.start_file(*name, opts).unwrap();
                zip.write_all(text.as_bytes()).unwrap();
            }
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    fn bundle_files() -> Vec<(&'static str, &'static str, u32)> {
        vec![
            (
                "manifest.json",
                r#"{"manifest_version":"0.2","name":"hello","version":"1.0.0","server":{"type":"node","entry_point":"server/index.js","mcp_config":{"command":"node","args":["${__dirname}/server/index.js"],"env":{"HELLO_HOME":"${__dirname}"}}}}"#,
                0o644,
            ),
            ("server/index.js", super::super::testing::SERVER_JS, 0o644),
            (
                "server/node_modules/gatehouse-test-dep/index.js",
                "module.exports = 'hello from the bundle';\n",
                0o644,
            ),
        ]
    }

    fn served(bytes: Vec<u8>) -> (FixtureServer, PackageSpec) {
        let server = FixtureServer::start();
        let spec = PackageSpec {
            kind: PackageKind::Mcpb,
            identifier: "hello".into(),
            version: "1.0.0".into(),
            checksum: Checksum::Sha256(sha256_hex(&bytes)),
            file_url: Some(format!("{}/hello-1.0.0.mcpb", server.url())),
        };
        server.route("/hello-1.0.0.mcpb", Recorded::ok(bytes));
        (server, spec)
    }

    #[test]
    fn a_bundle_is_unpacked_and_launched_as_its_manifest_says() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path().join("data")).unwrap();
        let (_server, spec) = served(zip_of(&bundle_files()));
        let installed = install(&dir, &spec, &Sources::default(), |_| {}).unwrap();
        let root = installed.path.display().to_string();
        assert_eq!(installed.args, [format!("{root}/server/index.js")]);
        assert_eq!(installed.env["HELLO_HOME"], root);
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
        assert!(String::from_utf8_lossy(&out.stdout).contains("hello from the bundle"));
    }

    #[test]
    fn path_traversal_in_a_bundle_is_refused_and_nothing_is_kept() {
        for evil in ["../evil.js", "server/../../evil.js", "/tmp/evil.js"] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = DataDir::at(tmp.path().join("data")).unwrap();
            let mut files = bundle_files();
            files.push((evil, "pwned", 0o644));
            let (_server, spec) = served(zip_of(&files));
            let err = install(&dir, &spec, &Sources::default(), |_| {})
                .unwrap_err()
                .to_string();
            assert!(err.contains("outside its folder"), "{evil}: {err}");
            assert!(!cache_path(&dir, &spec).exists());
            assert!(!tmp.path().join("data/packages/evil.js").exists());
            let leftovers: Vec<_> = fs::read_dir(dir.root().join("packages/mcpb"))
                .unwrap()
                .collect();
            assert!(leftovers.is_empty(), "{evil}: {leftovers:?}");
        }
    }

    #[test]
    fn links_in_a_bundle_and_a_wrong_checksum_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path().join("data")).unwrap();
        let mut files = bundle_files();
        files.push(("server/passwd", "/etc/passwd", 0o120777));
        let (_server, spec) = served(zip_of(&files));
        let err = install(&dir, &spec, &Sources::default(), |_| {}).unwrap_err();
        assert!(err.to_string().contains("is a link"), "{err}");

        let (_server, mut spec) = served(zip_of(&bundle_files()));
        spec.checksum = Checksum::Sha256(sha256_hex(b"other"));
        let err = install(&dir, &spec, &Sources::default(), |_| {}).unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        assert!(!cache_path(&dir, &spec).exists());
    }

    fn image(identifier: &str, digest: &str) -> PackageSpec {
        PackageSpec {
            kind: PackageKind::Oci,
            identifier: identifier.into(),
            version: "1.0.0".into(),
            checksum: Checksum::Digest(digest.into()),
            file_url: None,
        }
    }

    #[test]
    fn an_image_runs_by_its_pinned_digest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path().join("data")).unwrap();
        let digest = format!("sha256:{}", "ab".repeat(32));
        let spec = image("ghcr.io/acme/mcp-server", &digest);
        let installed = install(&dir, &spec, &Sources::default(), |_| {}).unwrap();
        assert!(installed.command.ends_with("docker"));
        assert_eq!(
            installed.args,
            [
                "run",
                "-i",
                "--rm",
                "--pull",
                "missing",
                &format!("ghcr.io/acme/mcp-server@{digest}")
            ]
        );
        // The reference is part of the pinned tree.
        let record = fs::read_to_string(installed.path.join("image.json")).unwrap();
        assert!(record.contains(&digest));
        for (id, d) in [
            ("ghcr.io/acme/mcp-server:latest", digest.as_str()),
            ("ghcr.io/acme/mcp-server", "sha256:short"),
            ("ghcr.io/acme/mcp-server", "latest"),
        ] {
            assert!(
                install(&dir, &image(id, d), &Sources::default(), |_| {}).is_err(),
                "{id} {d}"
            );
        }
    }
}

mod engine_ops {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::super::testing::{NPM_NAME, NpmFixture, PYPI_NAME, PypiFixture};
    use super::*;
    use crate::registry::{NPM_URL_SETTING, PYPI_URL_SETTING};
    use crate::{Engine, SecretStore, SecretValue};

    #[derive(Default)]
    struct NoKeychain(Mutex<HashMap<(String, String), String>>);

    impl SecretStore for NoKeychain {
        fn set(&self, server: &str, key: &str, value: &SecretValue) -> crate::Result<()> {
            let mut map = self.0.lock().unwrap();
            map.insert((server.into(), key.into()), value.expose().into());
            Ok(())
        }
        fn get(&self, server: &str, key: &str) -> crate::Result<Option<SecretValue>> {
            let map = self.0.lock().unwrap();
            Ok(map
                .get(&(server.into(), key.into()))
                .map(|v| SecretValue::new(v.clone())))
        }
        fn delete(&self, server: &str, key: &str) -> crate::Result<()> {
            self.0.lock().unwrap().remove(&(server.into(), key.into()));
            Ok(())
        }
    }

    fn engine_with(tmp: &Path, setting: &str, url: &str, command: &str, args: &[&str]) -> Engine {
        let engine = Engine::open(
            DataDir::at(tmp.join("data")).unwrap(),
            Box::new(NoKeychain::default()),
        )
        .unwrap();
        engine.store().set_setting(setting, Some(url)).unwrap();
        engine
            .server_add(NewServer {
                name: "srv".into(),
                transport: Transport::stdio(command, args.iter().copied()),
            })
            .unwrap();
        engine
    }

    #[test]
    fn pin_this_version_verify_and_reinstall_an_npx_server() {
        let tmp = tempfile::tempdir().unwrap();
        let fx = NpmFixture::start(tmp.path());
        let engine = engine_with(
            tmp.path(),
            NPM_URL_SETTING,
            fx.server.url(),
            "npx",
            &["-y", NPM_NAME, "--greeting", "hi"],
        );
        assert_eq!(engine.package_verify("srv".into()).unwrap().package, None);

        let status = engine.package_pin("srv".into(), None).unwrap();
        assert!(status.verified, "{status:?}");
        assert_eq!(status.package, Some(fx.spec()));
        let Transport::Stdio { command, args, .. } = engine.server("srv").unwrap().transport else {
            panic!("stdio");
        };
        assert!(command.ends_with("node"));
        // The server's own arguments stay after the package's entry point.
        assert_eq!(args[1..], ["--greeting", "hi"]);

        let path = PathBuf::from(status.path.unwrap());
        fs::write(path.join("node_modules/.package-lock.json"), "{}").unwrap();
        let status = engine.package_verify("srv".into()).unwrap();
        assert!(!status.verified);
        assert!(
            status
                .problem
                .unwrap()
                .contains("node_modules/.package-lock.json was changed")
        );

        let status = engine.package_reinstall("srv".into()).unwrap();
        assert!(status.verified, "{status:?}");
        let Transport::Stdio { args: again, .. } = engine.server("srv").unwrap().transport else {
            panic!("stdio");
        };
        assert_eq!(again, args);
    }

    #[test]
    fn status_and_updates_of_a_pinned_npx_server() {
        let tmp = tempfile::tempdir().unwrap();
        let fx = NpmFixture::start(tmp.path());
        let engine = engine_with(
            tmp.path(),
            NPM_URL_SETTING,
            fx.server.url(),
            "npx",
            &["-y", NPM_NAME],
        );
        assert_eq!(engine.package_status("srv".into()).unwrap(), None);
        engine.package_pin("srv".into(), None).unwrap();
        let status = engine.package_status("srv".into()).unwrap().unwrap();
        assert_eq!(status.package, Some(fx.spec()));
        let last = status
            .last_check
            .clone()
            .expect("pinning verified the tree");
        assert!(last.ok && status.verified, "{status:?}");

        let same = engine.package_updates("srv".into()).unwrap();
        assert!(!same.newer && same.changes.is_empty(), "{same:?}");

        // The registry publishes 1.1.0.
        let integrity = "sha512-bmV3ZXI=";
        fx.server.route(
            &format!("/{NPM_NAME}/latest"),
            crate::registry::testing::Recorded::ok(
                serde_json::json!({
                    "name": NPM_NAME,
                    "version": "1.1.0",
                    "dist": { "integrity": integrity },
                })
                .to_string(),
            ),
        );
        let update = engine.package_updates("srv".into()).unwrap();
        assert!(update.newer);
        assert_eq!(update.current, fx.spec());
        assert_eq!(update.latest.version, "1.1.0");
        assert!(
            update
                .changes
                .iter()
                .any(|c| c.contains("1.0.0 \u{2192} 1.1.0"))
        );
        assert!(update.changes.iter().any(|c| c.contains(integrity)));
    }

    #[test]
    fn pin_this_version_of_a_uvx_server() {
        let tmp = tempfile::tempdir().unwrap();
        let fx = PypiFixture::start(tmp.path());
        let engine = engine_with(
            tmp.path(),
            PYPI_URL_SETTING,
            fx.server.url(),
            "uvx",
            &[PYPI_NAME],
        );
        let status = engine
            .package_pin("srv".into(), Some("1.0.0".into()))
            .unwrap();
        assert!(status.verified, "{status:?}");
        assert_eq!(status.package, Some(fx.spec()));
        assert_eq!(
            engine.store().package_pin("srv").unwrap().unwrap().key(),
            "pypi:gatehouse-test-py@1.0.0"
        );
    }

    #[test]
    fn a_server_that_runs_no_package_runner_cannot_be_pinned() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = engine_with(
            tmp.path(),
            NPM_URL_SETTING,
            "http://127.0.0.1:9",
            "node",
            &["x.js"],
        );
        let err = engine.package_pin("srv".into(), None).unwrap_err();
        assert!(err.to_string().contains("nothing to pin"), "{err}");
        assert!(engine.package_reinstall("srv".into()).is_err());
    }
}
