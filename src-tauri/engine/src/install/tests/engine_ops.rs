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
    assert_eq!(update.latest.unwrap().version, "1.1.0");
    assert_eq!(update.registry, None, "not installed from the MCP Registry");
    let kinds: Vec<UpdateChangeKind> = update.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [UpdateChangeKind::PackageVersion, UpdateChangeKind::Checksum]
    );
    assert!(update.changes[0].text.contains("1.0.0 \u{2192} 1.1.0"));
    assert!(update.changes[1].text.contains(integrity));
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
