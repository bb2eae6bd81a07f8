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

#[test]
fn a_pin_keeps_its_registry_origin_and_an_older_pin_reads_without_one() {
    let (tmp, mut store) = store_with_server();
    let path = pinned(tmp.path(), &mut store);
    assert_eq!(store.package_pin("demo").unwrap().unwrap().registry, None);
    let origin = RegistryOrigin {
        name: "io.github.demo/server".into(),
        version: "2.0.0".into(),
    };
    let hash = tree::tree_hash(&path).unwrap();
    store
        .package_pin_set_from("demo", &spec(), &path, &hash, Some(&origin))
        .unwrap();
    assert_eq!(
        store.package_pin("demo").unwrap().unwrap().registry,
        Some(origin)
    );
    // A definition written before the origin was recorded.
    let older = serde_json::json!({"spec": spec(), "path": path}).to_string();
    store
        .conn()
        .execute(
            "UPDATE pins SET definition = ?1 WHERE kind = 'package'",
            [older],
        )
        .unwrap();
    let pin = store.package_pin("demo").unwrap().unwrap();
    assert_eq!((pin.spec, pin.registry), (spec(), None));
}

mod npm_install;

mod pypi_install;

mod bundles_and_images;

mod engine_ops;
