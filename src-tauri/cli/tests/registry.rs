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

mod install {
    use gatehouse_engine::install::testing::SERVER_JS;
    use gatehouse_engine::install::testing::{
        NPM_NAME, NpmFixture, POISONED_SERVER_JS, SILENT_SERVER_JS,
    };
    use gatehouse_engine::registry::testing::{
        HELLO_SERVER, hello_entry, hello_registry, route_hello,
    };

    use super::*;
    use crate::install::{list_tools, tools_or_error};

    fn cmd(env: &Env, registry: &FixtureServer, npm: &NpmFixture) -> assert_cmd::Command {
        let mut cmd = env.cmd();
        cmd.env("GATEHOUSE_REGISTRY_URL", registry.url())
            .env("GATEHOUSE_NPM_URL", npm.server.url());
        cmd
    }

    #[test]
    fn install_needs_consent_then_runs_the_vetted_package_from_the_cache() {
        let env = Env::fresh();
        let npm = NpmFixture::start(&env.home);
        let registry = hello_registry("active");
        let spec = format!("{HELLO_SERVER}@1.0.0");

        // The test package has no mcpName: refused without confirmation.
        cmd(&env, &registry, &npm)
            .args(["registry", "install", &spec, "--secret", "HELLO_TOKEN"])
            .write_stdin("HELLO_TOKEN=t0ken\n")
            .assert()
            .failure()
            .stderr(contains("--confirm-mismatch"));
        // A line for a key no --secret names is refused, its value unechoed.
        cmd(&env, &registry, &npm)
            .args(["registry", "install", &spec, "--confirm-mismatch"])
            .args(["--secret", "HELLO_TOKEN"])
            .write_stdin("HELLO_TOKEN=t0ken\nOTHER=hunter2\n")
            .assert()
            .failure()
            .stderr(contains("OTHER").and(contains("hunter2").not()));

        cmd(&env, &registry, &npm)
            .args([
                "registry",
                "install",
                &spec,
                "--as",
                "hi",
                "--confirm-mismatch",
            ])
            .args(["--secret", "HELLO_TOKEN"])
            .write_stdin("HELLO_TOKEN=t0ken\n")
            .assert()
            .success()
            .stdout(contains(format!("npm {NPM_NAME}@1.0.0")))
            .stdout(contains("t0ken").not())
            .stderr(contains("verifying the checksum"));

        let servers = env.json(&["server", "list"]);
        let server = &servers[0];
        assert_eq!(server["name"], "hi");
        assert_eq!(server["secrets"][0], "HELLO_TOKEN", "{server}");
        assert!(
            server["args"][0]
                .as_str()
                .unwrap()
                .starts_with(env.data.join("packages/npm").to_str().unwrap()),
            "{server}"
        );
        env.cmd()
            .args(["server", "verify", "hi"])
            .assert()
            .success();
        assert_eq!(
            tools_or_error(&list_tools(&env, "hi")),
            Ok(vec!["hello".into()])
        );
    }

    #[test]
    fn update_moves_the_server_to_the_new_version_once_its_new_secret_is_given() {
        let env = Env::fresh();
        let npm = NpmFixture::start(&env.home);
        let registry = hello_registry("active");
        cmd(&env, &registry, &npm)
            .args(["registry", "install", &format!("{HELLO_SERVER}@1.0.0")])
            .args([
                "--as",
                "hi",
                "--confirm-mismatch",
                "--secret",
                "HELLO_TOKEN",
            ])
            .write_stdin("HELLO_TOKEN=t0ken\n")
            .assert()
            .success();
        // 1.1.0 runs the package's 1.1.0 and needs a new secret.
        npm.publish(&env.home, "1.1.0", SERVER_JS);
        let mut new = hello_entry(1, "active", true);
        new["server"]["packages"][0]["version"] = "1.1.0".into();
        route_hello(&registry, &[hello_entry(0, "active", false), new]);

        cmd(&env, &registry, &npm)
            .args(["server", "update", "hi", "--confirm-mismatch"])
            .assert()
            .failure()
            .stderr(contains("HELLO_ARCHIVE_KEY"));
        cmd(&env, &registry, &npm)
            .args(["server", "update", "hi", "--confirm-mismatch"])
            .args(["--secret", "HELLO_ARCHIVE_KEY"])
            .write_stdin("HELLO_ARCHIVE_KEY=arch1ve\n")
            .assert()
            .success()
            .stdout(contains(format!("{HELLO_SERVER} 1.0.0 \u{2192} 1.1.0")))
            .stdout(contains(format!("npm {NPM_NAME}@1.1.0")))
            .stdout(contains("arch1ve").not())
            .stderr(contains("verifying the checksum"));

        let server = &env.json(&["server", "list"])[0];
        assert_eq!(
            server["secrets"],
            serde_json::json!(["HELLO_TOKEN", "HELLO_ARCHIVE_KEY"])
        );
        assert!(
            server["args"][0]
                .as_str()
                .unwrap()
                .contains(&format!("{NPM_NAME}@1.1.0")),
            "{server}"
        );
        env.cmd()
            .args(["server", "verify", "hi"])
            .assert()
            .success();
        // The new install launches, through the proxy.
        assert_eq!(
            tools_or_error(&list_tools(&env, "hi")),
            Ok(vec!["hello".into()])
        );
        // Nothing newer now.
        cmd(&env, &registry, &npm)
            .args(["server", "update", "hi", "--json"])
            .assert()
            .failure()
            .stderr(contains("already runs"));
    }

    #[test]
    fn show_dry_start_lists_the_tools_with_findings_and_registers_nothing() {
        let env = Env::fresh();
        let npm = NpmFixture::start_serving(&env.home, POISONED_SERVER_JS);
        let registry = hello_registry("active");
        let spec = format!("{HELLO_SERVER}@1.0.0");

        // A flagged tool (and the unverified ownership) exits 1 after the report.
        cmd(&env, &registry, &npm)
            .args(["registry", "show", &spec, "--dry-start"])
            .assert()
            .code(1)
            .stdout(
                contains("Dry start")
                    .and(contains("hello  "))
                    .and(contains("weather  "))
                    .and(contains("2 tools, 1 flagged")),
            );
        let out = cmd(&env, &registry, &npm)
            .args(["--json", "registry", "show", &spec, "--dry-start"])
            .output()
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(value["name"], HELLO_SERVER, "the report's fields are kept");
        let tools = value["dry_start"]["tools"].as_array().unwrap();
        assert_eq!(tools[1]["name"], "weather");
        assert!(!tools[1]["findings"].as_array().unwrap().is_empty());
        assert_eq!(env.json(&["server", "list"]), serde_json::json!([]));
    }

    #[test]
    fn show_dry_start_of_a_server_that_never_answers_fails_clearly() {
        let env = Env::fresh();
        let npm = NpmFixture::start_serving(&env.home, SILENT_SERVER_JS);
        let registry = hello_registry("active");
        cmd(&env, &registry, &npm)
            .args(["registry", "show", &format!("{HELLO_SERVER}@1.0.0")])
            .args(["--dry-start", "--timeout", "2"])
            .assert()
            .code(1)
            .stderr(contains("did not list its tools").and(contains("thinking forever")));
        assert_eq!(env.json(&["server", "list"]), serde_json::json!([]));
    }
}
