//! `Engine::registry_install` against a local registry and a local npm
//! registry serving a small package built on the spot.

use std::collections::HashMap;
use std::sync::Mutex;

use super::testing::{FixtureServer, HELLO_SERVER, hello_registry};
use super::{InstallOptions, InstallPhase, NPM_URL_SETTING, REGISTRY_URL_SETTING};
use crate::install::LaunchCheck;
use crate::install::testing::{NPM_NAME, NpmFixture};
use crate::{DataDir, Engine, Result, SecretStore, SecretValue, Transport};

/// Secrets kept in memory: these tests touch no keychain.
#[derive(Default)]
pub(super) struct MemorySecrets(Mutex<HashMap<(String, String), String>>);

impl SecretStore for MemorySecrets {
    fn set(&self, server: &str, key: &str, value: &SecretValue) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert((server.into(), key.into()), value.expose().into());
        Ok(())
    }
    fn get(&self, server: &str, key: &str) -> Result<Option<SecretValue>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&(server.into(), key.into()))
            .map(|v| SecretValue::new(v.clone())))
    }
    fn delete(&self, server: &str, key: &str) -> Result<()> {
        self.0.lock().unwrap().remove(&(server.into(), key.into()));
        Ok(())
    }
}

const NAME: &str = HELLO_SERVER;

/// An engine in a fresh folder asking `registry` and `npm`.
pub(super) fn engine(registry: &FixtureServer, npm: &NpmFixture) -> (tempfile::TempDir, Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::open(
        DataDir::at(tmp.path().join("data")).unwrap(),
        Box::new(MemorySecrets::default()),
    )
    .unwrap();
    {
        let mut store = engine.store();
        store
            .set_setting(REGISTRY_URL_SETTING, Some(registry.url()))
            .unwrap();
        store
            .set_setting(NPM_URL_SETTING, Some(npm.server.url()))
            .unwrap();
    }
    (tmp, engine)
}

/// The value of `HELLO_TOKEN`, the secret every version needs.
pub(super) fn token() -> Vec<(String, String)> {
    vec![("HELLO_TOKEN".into(), "t0ken-value".into())]
}

/// Installs [`HELLO_SERVER`] 1.0.0 as `hello`, with its token.
pub(super) fn install_hello(engine: &Engine) {
    engine
        .registry_install(
            HELLO_SERVER.into(),
            Some("1.0.0".into()),
            InstallOptions {
                local_name: Some("hello".into()),
                // The test package's package.json has no mcpName.
                confirm_mismatch: true,
                secrets: token(),
                ..InstallOptions::default()
            },
        )
        .unwrap();
}

#[test]
fn installs_the_vetted_package_registers_pins_and_stores_the_secret() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);

    // The fixture's package.json has no mcpName: ownership is missing, so
    // the install needs the person's confirmation.
    let refused = engine
        .registry_install(
            NAME.into(),
            Some("1.0.0".into()),
            InstallOptions {
                secrets: token(),
                ..InstallOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(refused.code(), "ownership_unverified", "{refused}");
    assert!(engine.server_list().unwrap().is_empty());

    let mut phases = Vec::new();
    let installed = engine
        .registry_install_with(
            NAME.into(),
            Some("1.0.0".into()),
            InstallOptions {
                local_name: Some("hello".into()),
                confirm_mismatch: true,
                secrets: token(),
                ..InstallOptions::default()
            },
            |p| phases.push(p),
        )
        .unwrap();
    assert_eq!(phases.first(), Some(&InstallPhase::Vetting));
    assert_eq!(phases.last(), Some(&InstallPhase::Registering));
    assert!(phases.contains(&InstallPhase::Verifying), "{phases:?}");
    assert_eq!(installed.package.identifier, NPM_NAME);
    assert_eq!(installed.server.name, "hello");

    let Transport::Stdio {
        command,
        env,
        secrets,
        ..
    } = &installed.server.transport
    else {
        panic!("a stdio server");
    };
    assert!(
        !command.contains("npx"),
        "launches from the cache: {command}"
    );
    assert_eq!(env.get("HELLO_MODE").map(String::as_str), Some("polite"));
    assert_eq!(secrets, &["HELLO_TOKEN".to_string()]);
    assert_eq!(
        engine
            .secrets()
            .get("hello", "HELLO_TOKEN")
            .unwrap()
            .unwrap()
            .expose(),
        "t0ken-value"
    );
    match engine.store().package_check("hello").unwrap() {
        LaunchCheck::Verified(pin) => assert_eq!(pin.tree_hash, installed.tree_hash),
        other => panic!("not verified: {other:?}"),
    }

    // The name is taken now.
    let again = engine
        .registry_install(
            NAME.into(),
            Some("1.0.0".into()),
            InstallOptions {
                local_name: Some("hello".into()),
                confirm_mismatch: true,
                secrets: token(),
                ..InstallOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(again.code(), "server_exists", "{again}");
}

#[test]
fn a_deprecated_version_needs_consent_a_deleted_one_never_installs() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    for (status, allowed_code) in [
        ("deprecated", None),
        ("deleted", Some("version_not_active")),
    ] {
        let registry = hello_registry(status);
        let (_tmp, engine) = engine(&registry, &npm);
        let options = |allow| InstallOptions {
            confirm_mismatch: true,
            allow_deprecated: allow,
            secrets: token(),
            ..InstallOptions::default()
        };
        let err = engine
            .registry_install(NAME.into(), Some("1.0.0".into()), options(false))
            .unwrap_err();
        assert_eq!(err.code(), "version_not_active", "{err}");
        assert!(err.to_string().contains(status), "{err}");
        let allowed = engine.registry_install(NAME.into(), Some("1.0.0".into()), options(true));
        match allowed_code {
            None => assert_eq!(allowed.unwrap().server.name, "hello"),
            Some(code) => assert_eq!(allowed.unwrap_err().code(), code),
        }
    }
}

#[test]
fn a_missing_required_secret_is_refused_before_anything_is_downloaded() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (tmp, engine) = engine(&registry, &npm);
    let err = engine
        .registry_install(
            NAME.into(),
            Some("1.0.0".into()),
            InstallOptions {
                confirm_mismatch: true,
                ..InstallOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_spec");
    assert!(err.to_string().contains("HELLO_TOKEN"), "{err}");
    assert!(!npm.server.requests().iter().any(|r| r.ends_with(".tgz")));
    assert!(!tmp.path().join("data/packages/npm").exists());
    assert!(engine.server_list().unwrap().is_empty());
}

#[test]
fn an_install_after_a_dry_start_reuses_its_download_unless_a_file_changed() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start(work.path());
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);
    let options = || InstallOptions {
        local_name: Some("hello".into()),
        confirm_mismatch: true,
        secrets: token(),
        ..InstallOptions::default()
    };
    // Whether `work` fetched the package's tarball.
    let downloads = |work: &dyn Fn()| {
        let before = npm.server.requests().len();
        work();
        npm.server.requests()[before..]
            .iter()
            .any(|r| r.ends_with(".tgz"))
    };
    let install = || {
        let installed = engine
            .registry_install(NAME.into(), Some("1.0.0".into()), options())
            .unwrap();
        match engine.store().package_check("hello").unwrap() {
            LaunchCheck::Verified(pin) => assert_eq!(pin.tree_hash, installed.tree_hash),
            other => panic!("not verified: {other:?}"),
        }
        installed
    };
    let dry_start = || {
        engine
            .registry_dry_start(NAME.into(), Some("1.0.0".into()))
            .unwrap();
    };

    assert!(downloads(&dry_start));
    assert!(
        !downloads(&|| drop(install())),
        "the dry start's download is reused"
    );
    engine.server_remove("hello".into()).unwrap();
    assert!(downloads(&|| drop(install())), "reused once only");
    engine.server_remove("hello".into()).unwrap();

    // A file changed after the dry start: downloaded and verified afresh.
    dry_start();
    let server_js = crate::install::cache_path(engine.data_dir(), &npm.spec())
        .join(format!("node_modules/{NPM_NAME}/bin/server.js"));
    std::fs::write(&server_js, "process.exit(1)\n").unwrap();
    assert!(downloads(&|| drop(install())));
    let restored = std::fs::read_to_string(&server_js).unwrap();
    assert!(restored.contains("tools/list"), "{restored}");
}
