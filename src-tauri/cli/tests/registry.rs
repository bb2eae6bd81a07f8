//! `gatehouse registry search|show` against recorded registry answers served
//! on 127.0.0.1: the real binary, its real HTTP client.

use gatehouse_engine::registry::testing::{FixtureServer, acme_registry};
use predicates::prelude::*;
use predicates::str::contains;

use crate::Env;

fn cmd(env: &Env, server: &FixtureServer) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    for var in [
        "GATEHOUSE_REGISTRY_URL",
        "GATEHOUSE_NPM_URL",
        "GATEHOUSE_PYPI_URL",
        "GATEHOUSE_OCI_URL",
    ] {
        cmd.env(var, server.url());
    }
    cmd
}

#[test]
fn search_lists_every_page_with_statuses() {
    let env = Env::fresh();
    let server = acme_registry();
    let out = cmd(&env, &server)
        .args(["registry", "search", "acme", "--json"])
        .assert()
        .success();
    let list: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let got: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["server"]["name"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("io.github.acme/weather", "active"),
            ("io.github.acme/tides", "deprecated"),
            ("io.github.acme/radar", "deleted"),
            ("com.acme/maps", "active"),
        ]
    );
    cmd(&env, &server)
        .args(["registry", "search", "acme"])
        .assert()
        .success()
        .stdout(contains("io.github.acme/radar").and(contains("deleted")));
}

#[test]
fn show_prints_the_vetting_report() {
    let env = Env::fresh();
    let server = acme_registry();
    cmd(&env, &server)
        .args(["registry", "show", "io.github.acme/weather@1.2.0"])
        .assert()
        .success()
        .stdout(
            contains("✓ GitHub-verified namespace")
                .and(contains(
                    "✓ ownership: npm package.json mcpName is io.github.acme/weather",
                ))
                .and(contains("✗ ownership: PyPI description"))
                .and(contains("✗ version: refused"))
                .and(contains(
                    "env ACME_API_KEY (secret, kept in the OS keychain, required)",
                ))
                .and(contains("sha512-3ZbRZ1Ri"))
                .and(contains("io.github.acme/tides")),
        );
}

#[test]
fn show_of_a_deprecated_version_exits_1() {
    let env = Env::fresh();
    let server = acme_registry();
    cmd(&env, &server)
        .args(["registry", "show", "io.github.acme/tides@0.3.1"])
        .assert()
        .code(1)
        .stdout(contains(
            "✗ status: deprecated (Use io.github.acme/weather instead)",
        ));
}

#[test]
fn a_registry_error_is_a_clear_failure() {
    let env = Env::fresh();
    let server = acme_registry();
    cmd(&env, &server)
        .args(["registry", "show", "io.github.acme/broken"])
        .assert()
        .code(1)
        .stderr(contains("io.github.acme%2Fbroken/versions/latest").and(contains("not the JSON")));
}
