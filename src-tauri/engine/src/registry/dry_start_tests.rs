//! `Engine::registry_dry_start` against a local registry and a local npm
//! registry serving small servers built on the spot.

use std::time::Duration;

use super::testing::{FixtureServer, HELLO_SERVER, hello_registry};
use super::{NPM_URL_SETTING, REGISTRY_URL_SETTING};
use crate::install::testing::{NpmFixture, POISONED_SERVER_JS, SILENT_SERVER_JS};
use crate::{DataDir, Engine, Result, SecretStore, SecretValue};

/// The dry start never touches secrets: a store that has none.
struct NoSecrets;

impl SecretStore for NoSecrets {
    fn set(&self, _: &str, _: &str, _: &SecretValue) -> Result<()> {
        panic!("a dry start stores no secret")
    }
    fn get(&self, _: &str, _: &str) -> Result<Option<SecretValue>> {
        Ok(None)
    }
    fn delete(&self, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
}

fn engine(registry: &FixtureServer, npm: &NpmFixture) -> (tempfile::TempDir, Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::open(
        DataDir::at(tmp.path().join("data")).unwrap(),
        Box::new(NoSecrets),
    )
    .unwrap();
    let mut store = engine.store();
    store
        .set_setting(REGISTRY_URL_SETTING, Some(registry.url()))
        .unwrap();
    store
        .set_setting(NPM_URL_SETTING, Some(npm.server.url()))
        .unwrap();
    drop(store);
    (tmp, engine)
}

#[test]
fn lists_and_scans_the_tools_without_registering_the_server() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start_serving(work.path(), POISONED_SERVER_JS);
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);

    let dry = engine
        .registry_dry_start(HELLO_SERVER.into(), Some("1.0.0".into()))
        .unwrap();
    let names: Vec<&str> = dry.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["hello", "weather"], "both pages are listed");
    assert!(dry.tools[0].findings.is_empty(), "{:?}", dry.tools[0]);
    assert!(
        crate::scan::flagged(&dry.tools[1].findings),
        "{:?}",
        dry.tools[1].findings
    );
    assert_eq!(dry.instructions.as_deref(), Some("Greets people."));
    assert!(dry.instruction_findings.is_empty());
    assert_eq!(dry.stderr_tail, "dry server up");
    assert!(
        engine.server_list().unwrap().is_empty(),
        "nothing registered"
    );
}

#[test]
fn a_server_that_never_answers_times_out_with_its_stderr() {
    let work = tempfile::tempdir().unwrap();
    let npm = NpmFixture::start_serving(work.path(), SILENT_SERVER_JS);
    let registry = hello_registry("active");
    let (_tmp, engine) = engine(&registry, &npm);

    let err = engine
        .registry_dry_start_within(
            HELLO_SERVER.into(),
            Some("1.0.0".into()),
            Duration::from_secs(2),
        )
        .unwrap_err();
    assert_eq!(err.code(), "start_timed_out", "{err}");
    let message = err.to_string();
    assert!(message.contains("did not list its tools"), "{message}");
    assert!(message.contains("thinking forever"), "{message}");
    assert!(engine.server_list().unwrap().is_empty());
}
