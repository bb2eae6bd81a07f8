//! Secrets go to the real OS keychain and nowhere else.

use gatehouse_engine::{Keychain, SecretStore};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::json;

use crate::{Env, files_under, unique};

fn keychain_available() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests need a Secret Service: run them through scripts/test.sh, which starts one"
    );
}

#[test]
fn secret_set_stores_the_value_only_in_the_keychain() {
    keychain_available();
    let env = Env::fresh();
    let name = unique("canary");
    let canary = format!("canary-{}", unique("v"));
    env.cmd()
        .args([
            "server", "add", &name, "--secret", "API_KEY", "--", "python3", "s.py",
        ])
        .assert()
        .success();
    env.cmd()
        .args(["secret", "set", &name, "API_KEY"])
        .write_stdin(format!("{canary}\n"))
        .assert()
        .success()
        .stdout(predicates::str::is_empty())
        .stderr(contains("stored API_KEY").and(contains(&canary).not()));

    let stored = Keychain
        .get(&name, "API_KEY")
        .unwrap()
        .expect("in the keychain");
    assert_eq!(
        stored.expose(),
        canary,
        "one trailing newline is dropped, nothing else"
    );

    let list = env.json(&["server", "list"]);
    assert_eq!(list[0]["secrets"], json!(["API_KEY"]));
    for file in files_under(&env.data) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "the secret leaked into {}",
            file.display()
        );
    }

    env.cmd()
        .args(["server", "remove", &name])
        .assert()
        .success();
    assert!(
        Keychain.get(&name, "API_KEY").unwrap().is_none(),
        "remove deletes the secret"
    );
}

#[test]
fn setting_a_plain_variable_as_secret_moves_it_out_of_the_store() {
    keychain_available();
    let env = Env::fresh();
    let name = unique("move");
    env.cmd()
        .args([
            "server",
            "add",
            &name,
            "--env",
            "TOKEN=plain-text-token",
            "--",
            "node",
        ])
        .assert()
        .success();
    env.cmd()
        .args(["secret", "set", &name, "TOKEN"])
        .write_stdin("kept-in-keychain")
        .assert()
        .success();
    let list = env.json(&["server", "list"]);
    assert_eq!(list[0]["env"], json!({}));
    assert_eq!(list[0]["secrets"], json!(["TOKEN"]));
    env.cmd()
        .args(["server", "remove", &name])
        .assert()
        .success();
}

#[test]
fn secret_set_refuses_empty_values_and_unknown_servers() {
    let env = Env::fresh();
    env.cmd()
        .args(["secret", "set", "ghost", "KEY"])
        .write_stdin("x")
        .assert()
        .code(1)
        .stderr(contains("no server named 'ghost'"));
    env.cmd()
        .args(["server", "add", "s", "--", "node"])
        .assert()
        .success();
    env.cmd()
        .args(["secret", "set", "s", "KEY"])
        .write_stdin("\n")
        .assert()
        .code(1)
        .stderr(contains("empty"));
}
