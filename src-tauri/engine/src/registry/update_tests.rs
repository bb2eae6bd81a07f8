//! "Check for updates" of a server installed from a local registry: the
//! newest version and the installed one are vetted, and exactly what
//! differs is named.

use super::install_tests::{engine, install_hello};
use super::testing::{
    HELLO_SERVER, hello_entry, hello_registry, publish_hello_update, route_hello,
};
use crate::install::testing::{NPM_NAME, NpmFixture};
use crate::install::{RegistryOrigin, UpdateChange, UpdateChangeKind, UpdateCheck};
use crate::registry::testing::Recorded;

/// Each change's kind and subject, in order.
fn named(check: &UpdateCheck) -> Vec<(UpdateChangeKind, Option<&str>)> {
    check
        .changes
        .iter()
        .map(|c| (c.kind, c.subject.as_deref()))
        .collect()
}

fn change(check: &UpdateCheck, kind: UpdateChangeKind) -> &UpdateChange {
    check
        .changes
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} change in {check:#?}"))
}

#[test]
fn the_pin_records_the_registry_version_and_a_reinstall_keeps_it() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    install_hello(&engine);
    let origin = RegistryOrigin {
        name: HELLO_SERVER.into(),
        version: "1.0.0".into(),
    };
    let pin = engine.store().package_pin("hello").unwrap().unwrap();
    assert_eq!(pin.registry.as_ref(), Some(&origin));
    engine.package_reinstall("hello".into()).unwrap();
    let status = engine.package_status("hello".into()).unwrap().unwrap();
    assert_eq!(status.registry, Some(origin));
}

#[test]
fn an_update_names_the_new_secret_and_the_new_arguments() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    install_hello(&engine);
    publish_hello_update(&registry, "active");

    let check = engine.package_updates("hello".into()).unwrap();
    assert!(check.newer, "{check:#?}");
    let up = check
        .registry
        .as_ref()
        .expect("installed from the registry");
    assert_eq!(
        (
            up.name.as_str(),
            up.installed.as_str(),
            up.latest.as_deref()
        ),
        (HELLO_SERVER, "1.0.0", Some("1.1.0"))
    );
    // 1.1.0 runs the same package: no version or checksum change.
    assert_eq!(check.latest.as_ref(), Some(&check.current));
    assert_eq!(
        named(&check),
        [
            (UpdateChangeKind::ServerVersion, None),
            (UpdateChangeKind::PackageArguments, None),
            (UpdateChangeKind::EnvAdded, Some("HELLO_ARCHIVE_KEY")),
        ]
    );
    let args = change(&check, UpdateChangeKind::PackageArguments);
    assert_eq!(
        (args.before.as_deref(), args.after.as_deref()),
        (Some("(none)"), Some("--greeting formal"))
    );
    let added = change(&check, UpdateChangeKind::EnvAdded);
    let after = added.after.as_deref().unwrap();
    assert!(
        after.starts_with("required") && after.contains("secret"),
        "{after}"
    );
    assert!(added.text.contains("HELLO_ARCHIVE_KEY"), "{}", added.text);
}

#[test]
fn an_up_to_date_server_reports_no_changes_and_a_deprecated_one_says_so() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    install_hello(&engine);

    let check = engine.package_updates("hello".into()).unwrap();
    assert!(!check.newer, "{check:#?}");
    assert!(check.changes.is_empty(), "{check:#?}");
    assert_eq!(check.registry.unwrap().latest.as_deref(), Some("1.0.0"));

    // Deprecated since, with nothing newer: no update, but the status.
    route_hello(&registry, &[hello_entry(0, "deprecated", true)]);
    let check = engine.package_updates("hello".into()).unwrap();
    assert!(!check.newer);
    assert_eq!(named(&check), [(UpdateChangeKind::Status, None)]);
    assert_eq!(check.registry.unwrap().latest, None);
}

#[test]
fn a_new_package_version_names_its_checksum_ownership_and_the_old_status() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    install_hello(&engine);

    // 1.1.0 moves to package version 1.1.0, whose package.json claims the
    // server; 1.0.0 is deprecated now.
    let mut old = hello_entry(0, "deprecated", false);
    old["_meta"]["io.modelcontextprotocol.registry/official"]["statusMessage"] = "use 1.1.0".into();
    let mut new = hello_entry(1, "active", true);
    new["server"]["packages"][0]["version"] = "1.1.0".into();
    route_hello(&registry, &[old, new]);
    let integrity = "sha512-bmV3ZXI=";
    npm.server.route(
        &format!("/{NPM_NAME}/1.1.0"),
        Recorded::ok(
            serde_json::json!({
                "name": NPM_NAME,
                "version": "1.1.0",
                "mcpName": HELLO_SERVER,
                "dist": {"integrity": integrity},
            })
            .to_string(),
        ),
    );

    let check = engine.package_updates("hello".into()).unwrap();
    assert!(check.newer);
    assert_eq!(
        named(&check),
        [
            (UpdateChangeKind::ServerVersion, None),
            (UpdateChangeKind::Status, None),
            (UpdateChangeKind::PackageVersion, None),
            (UpdateChangeKind::Checksum, None),
            (UpdateChangeKind::PackageArguments, None),
            (UpdateChangeKind::EnvAdded, Some("HELLO_ARCHIVE_KEY")),
            (UpdateChangeKind::Ownership, None),
        ]
    );
    assert_eq!(check.latest.as_ref().unwrap().version, "1.1.0");
    let status = &change(&check, UpdateChangeKind::Status).text;
    assert!(
        status.contains("deprecated") && status.contains("use 1.1.0"),
        "{status}"
    );
    assert!(
        change(&check, UpdateChangeKind::Checksum)
            .text
            .contains(integrity)
    );
    let ownership = change(&check, UpdateChangeKind::Ownership);
    assert_eq!(
        (ownership.before.as_deref(), ownership.after.as_deref()),
        (Some("unproven"), Some("verified"))
    );
}
