//! `Engine::registry_update` against a local registry and a local npm
//! registry: [`HELLO_SERVER`] 1.0.0 installed, then 1.1.0 published, which
//! runs the package's own version 1.1.0 and needs a new secret.

use super::install_tests::{engine, install_hello};
use super::testing::{
    FixtureServer, HELLO_SERVER, Recorded, hello_entry, hello_registry, route_hello,
};
use super::{InstallPhase, UpdateOptions};
use crate::install::testing::{NPM_NAME, NpmFixture, SERVER_JS};
use crate::install::{LaunchCheck, PackagePin, RegistryOrigin};
use crate::policy::Decision;
use crate::{Engine, NewServer, Server, Transport};

/// Publishes server version 1.1.0 (active, latest; 1.0.0 still active),
/// which runs [`NPM_NAME`] 1.1.0, served by `npm`.
fn publish_update(registry: &FixtureServer, npm: &NpmFixture, work: &std::path::Path) {
    npm.publish(work, "1.1.0", SERVER_JS);
    let mut new = hello_entry(1, "active", true);
    new["server"]["packages"][0]["version"] = "1.1.0".into();
    route_hello(registry, &[hello_entry(0, "active", false), new]);
}

/// Values for the secret 1.1.0 adds.
fn archive_key() -> Vec<(String, String)> {
    vec![("HELLO_ARCHIVE_KEY".into(), "archive-value".into())]
}

/// The server and its package pin, as they are now.
fn state(engine: &Engine) -> (Server, PackagePin) {
    let store = engine.store();
    (
        store.server("hello").unwrap(),
        store.package_pin("hello").unwrap().unwrap(),
    )
}

/// Whether the npm registry was asked for the 1.1.0 tarball.
fn downloaded_new(npm: &NpmFixture) -> bool {
    npm.server
        .requests()
        .iter()
        .any(|r| r.ends_with(&format!("{NPM_NAME}-1.1.0.tgz")))
}

/// The server still launches the verified 1.0.0 install, as `before`.
fn assert_unchanged(engine: &Engine, before: &(Server, PackagePin)) {
    let now = state(engine);
    assert_eq!(now.0, before.0);
    assert_eq!(
        (&now.1.spec, &now.1.path, &now.1.registry, &now.1.tree_hash),
        (
            &before.1.spec,
            &before.1.path,
            &before.1.registry,
            &before.1.tree_hash
        )
    );
    match engine.store().package_check("hello").unwrap() {
        LaunchCheck::Verified(pin) => assert_eq!(pin.spec.version, "1.0.0"),
        other => panic!("the old install does not verify: {other:?}"),
    }
}

#[test]
fn an_update_moves_the_server_to_the_new_version_keeping_policy_secrets_and_values() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    install_hello(&engine);
    // The person's choices before the update: a tool switch, and their own
    // value for HELLO_MODE (the package's default is `polite`).
    engine
        .store()
        .set_tool_policy("hello", "hello", Decision::Deny)
        .unwrap();
    engine
        .store()
        .conn()
        .execute(
            "UPDATE servers SET env = json_set(env, '$.HELLO_MODE', 'terse') WHERE name = 'hello'",
            [],
        )
        .unwrap();
    publish_update(&registry, &npm, work.path());
    let before = state(&engine);

    // The new required secret must be given: refused naming it, before
    // anything is downloaded, and nothing changed.
    let err = engine
        .registry_update(
            "hello".into(),
            None,
            UpdateOptions {
                confirm_mismatch: true,
                ..UpdateOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_spec", "{err}");
    assert!(err.to_string().contains("HELLO_ARCHIVE_KEY"), "{err}");
    assert!(!downloaded_new(&npm));
    assert_unchanged(&engine, &before);

    // Vetted as an install is: ownership unproven needs confirmation.
    let err = engine
        .registry_update(
            "hello".into(),
            None,
            UpdateOptions {
                secrets: archive_key(),
                ..UpdateOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "ownership_unverified", "{err}");
    assert_unchanged(&engine, &before);

    let mut phases = Vec::new();
    let updated = engine
        .registry_update_with(
            "hello".into(),
            None,
            UpdateOptions {
                confirm_mismatch: true,
                secrets: archive_key(),
                ..UpdateOptions::default()
            },
            |p| phases.push(p),
        )
        .unwrap();
    assert_eq!(phases.first(), Some(&InstallPhase::Vetting));
    assert_eq!(phases.last(), Some(&InstallPhase::Registering));
    assert!(phases.contains(&InstallPhase::Verifying), "{phases:?}");
    let origin = |version: &str| RegistryOrigin {
        name: HELLO_SERVER.into(),
        version: version.into(),
    };
    assert_eq!(
        (&updated.previous, &updated.origin),
        (&origin("1.0.0"), &origin("1.1.0"))
    );
    assert_eq!(updated.package.version, "1.1.0");

    // The launch points at the new install, with the new arguments.
    let Transport::Stdio {
        command,
        args,
        env,
        secrets,
    } = &updated.server.transport
    else {
        panic!("a stdio server");
    };
    assert!(!command.contains("npx"), "{command}");
    let new_dir = format!("{NPM_NAME}@1.1.0");
    assert!(
        args.iter().any(|a| a.contains(&new_dir)) && !args.iter().any(|a| a.contains("@1.0.0")),
        "{args:?}"
    );
    assert_eq!(args[args.len() - 2..], ["--greeting", "formal"]);
    assert_eq!(env.get("HELLO_MODE").map(String::as_str), Some("terse"));
    assert_eq!(secrets, &["HELLO_TOKEN", "HELLO_ARCHIVE_KEY"]);
    assert_eq!(updated.server, engine.server("hello").unwrap());

    // Pinned with the new origin, and verified.
    match engine.store().package_check("hello").unwrap() {
        LaunchCheck::Verified(pin) => {
            assert_eq!(pin.registry, Some(origin("1.1.0")));
            assert_eq!(pin.spec, updated.package);
            assert_eq!(pin.tree_hash, updated.tree_hash);
            assert!(pin.path.ends_with(&new_dir), "{}", pin.path.display());
        }
        other => panic!("not verified: {other:?}"),
    }
    // The secrets: the old one kept, the new one stored.
    let secret = |key: &str| {
        engine
            .secrets()
            .get("hello", key)
            .unwrap()
            .map(|v| v.expose().to_string())
    };
    assert_eq!(secret("HELLO_TOKEN").as_deref(), Some("t0ken-value"));
    assert_eq!(
        secret("HELLO_ARCHIVE_KEY").as_deref(),
        Some("archive-value")
    );
    // The policy set before the update is still the server's.
    let policy = engine.policy_show("hello".into()).unwrap();
    let tool = policy.tools.iter().find(|t| t.name == "hello");
    assert_eq!(
        tool.and_then(|t| t.switch),
        Some(Decision::Deny),
        "{policy:?}"
    );

    // Nothing newer now.
    let err = engine
        .registry_update("hello".into(), None, UpdateOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("already runs"), "{err}");
}

#[test]
fn a_failed_download_leaves_the_server_launching_the_old_install() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    install_hello(&engine);
    publish_update(&registry, &npm, work.path());
    npm.server.route(
        &format!("/{NPM_NAME}/-/{NPM_NAME}-1.1.0.tgz"),
        Recorded::status(500, "{}"),
    );
    let before = state(&engine);

    let err = engine
        .registry_update(
            "hello".into(),
            Some("1.1.0".into()),
            UpdateOptions {
                confirm_mismatch: true,
                secrets: archive_key(),
                ..UpdateOptions::default()
            },
        )
        .unwrap_err();
    assert!(downloaded_new(&npm), "the download was tried: {err}");
    assert_unchanged(&engine, &before);
    // The value given was not stored for a version that is not installed.
    assert!(
        engine
            .secrets()
            .get("hello", "HELLO_ARCHIVE_KEY")
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_deleted_version_never_installs_a_deprecated_one_needs_consent() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    install_hello(&engine);
    let before = state(&engine);
    for status in ["deleted", "deprecated"] {
        let mut new = hello_entry(1, status, false);
        new["server"]["packages"][0]["version"] = "1.1.0".into();
        route_hello(&registry, &[hello_entry(0, "active", true), new]);
        // Not the default: 1.0.0 is the newest active version.
        let err = engine
            .registry_update("hello".into(), None, UpdateOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains("already runs"), "{err}");
        let err = engine
            .registry_update(
                "hello".into(),
                Some("1.1.0".into()),
                UpdateOptions {
                    confirm_mismatch: true,
                    secrets: archive_key(),
                    ..UpdateOptions::default()
                },
            )
            .unwrap_err();
        assert_eq!(err.code(), "version_not_active", "{err}");
        assert!(err.to_string().contains(status), "{err}");
    }
    assert!(!downloaded_new(&npm));
    assert_unchanged(&engine, &before);
}

#[test]
fn a_server_not_installed_from_the_registry_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    engine
        .server_add(NewServer {
            name: "local".into(),
            transport: Transport::stdio("node", ["server.js"]),
        })
        .unwrap();
    let err = engine
        .registry_update("local".into(), None, UpdateOptions::default())
        .unwrap_err();
    assert_eq!(err.code(), "invalid_spec", "{err}");
    assert!(
        err.to_string()
            .contains("not installed from the MCP Registry"),
        "{err}"
    );
    assert!(registry.requests().is_empty(), "{:?}", registry.requests());
    let err = engine
        .registry_update("missing".into(), None, UpdateOptions::default())
        .unwrap_err();
    assert_eq!(err.code(), "server_not_found", "{err}");
}
