//! `gatehouse server login|logout` against the engine's test authorization
//! server, with the real OS keychain, and a browser that consents: curl,
//! which fetches the authorization URL and follows its redirect back to
//! Gatehouse's listener.

use gatehouse_engine::oauth::testing::{AuthServer, AuthServerConfig, ResourceConfig};
use gatehouse_engine::oauth::{CLIENTS_KEY, GRANT_KEY};
use gatehouse_engine::{Keychain, SecretStore};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

use crate::{Env, files_under, unique};

/// The `GATEHOUSE_BROWSER` of these tests.
const CURL: &str = "curl -sf -L -o /dev/null";

#[test]
fn login_keeps_the_tokens_in_the_keychain_only_and_logout_deletes_them() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "this test needs a Secret Service: run it through scripts/test.sh, which starts one"
    );
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let env = Env::fresh();
    let name = unique("remote");
    env.cmd()
        .args(["server", "add", &name, "--url", mcp.url()])
        .assert()
        .success();

    let login = env
        .cmd()
        .args(["server", "login", &name])
        .env("GATEHOUSE_BROWSER", CURL)
        .assert()
        .success()
        .stdout(contains(format!(
            "logged in to {name} at {}",
            auth.issuer()
        )));
    let output = login.get_output();
    let printed = [output.stdout.as_slice(), output.stderr.as_slice()].concat();

    let access = auth.access_tokens();
    assert_eq!(access.len(), 1, "one consent, one token");
    let (token, issued) = &access[0];
    assert_eq!(issued.resource, mcp.url());
    let refresh = auth.refresh_tokens();
    assert_eq!(refresh.len(), 1);
    let stored = Keychain
        .get(&name, GRANT_KEY)
        .unwrap()
        .expect("in the keychain");
    assert!(stored.expose().contains(token.as_str()));
    assert!(stored.expose().contains(refresh[0].as_str()));
    for secret in [token, &refresh[0]] {
        let found = |bytes: &[u8]| bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found(&printed), "a token was printed");
        for file in files_under(&env.data) {
            assert!(
                !found(&std::fs::read(&file).unwrap()),
                "a token leaked into {}",
                file.display()
            );
        }
    }

    env.cmd()
        .args(["server", "logout", &name])
        .assert()
        .success()
        .stdout(contains(format!("logged out of {name}")));
    assert!(Keychain.get(&name, GRANT_KEY).unwrap().is_none());
    env.cmd()
        .args(["server", "logout", &name])
        .assert()
        .success()
        .stdout(contains("no OAuth tokens"));

    // Removing the server forgets its registration too.
    assert!(Keychain.get(&name, CLIENTS_KEY).unwrap().is_some());
    env.cmd()
        .args(["server", "login", &name])
        .env("GATEHOUSE_BROWSER", CURL)
        .assert()
        .success();
    env.cmd()
        .args(["server", "remove", &name])
        .assert()
        .success();
    assert!(Keychain.get(&name, GRANT_KEY).unwrap().is_none());
    assert!(Keychain.get(&name, CLIENTS_KEY).unwrap().is_none());
}

#[test]
fn login_without_registration_says_how_to_give_a_client_id() {
    let auth = AuthServer::start(AuthServerConfig {
        dynamic_registration: false,
        ..AuthServerConfig::default()
    });
    let mcp = auth.protect(ResourceConfig::default());
    let env = Env::fresh();
    env.cmd()
        .args(["server", "add", "hosted", "--url", mcp.url()])
        .assert()
        .success();
    env.cmd()
        .args(["server", "login", "hosted"])
        .env("GATEHOUSE_BROWSER", CURL)
        .assert()
        .failure()
        .stderr(
            contains("does not offer dynamic client registration")
                .and(contains("gatehouse server login hosted --client-id ID")),
        );
    assert_eq!(auth.consents(), 0);
}

#[test]
fn login_is_for_remote_servers_without_their_own_authorization() {
    let env = Env::fresh();
    env.cmd()
        .args(["server", "add", "local", "--", "python3", "s.py"])
        .assert()
        .success();
    env.cmd()
        .args(["server", "login", "local"])
        .assert()
        .failure()
        .stderr(contains("only remote servers"));
    env.cmd()
        .args([
            "server",
            "add",
            "keyed",
            "--url",
            "https://mcp.example.com/mcp",
            "--header",
            "Authorization:Bearer static",
        ])
        .assert()
        .success();
    env.cmd()
        .args(["server", "login", "keyed"])
        .assert()
        .failure()
        .stderr(contains("sends an Authorization header of its own"));
}

/// `gatehouse run NAME` of a protected remote server: the first request's
/// 401 leads through discovery and the browser's consent, and the client's
/// session goes on with the token, which never reaches the client, the
/// audit or any file of the data directory.
#[test]
fn gatehouse_run_gets_through_to_a_protected_server_after_consent() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    use serde_json::{Value, json};

    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "this test needs a Secret Service: run it through scripts/test.sh, which starts one"
    );
    let auth = AuthServer::start(AuthServerConfig::default());
    let mcp = auth.protect(ResourceConfig::default());
    let env = Env::fresh();
    let name = unique("protected");
    env.cmd()
        .args(["server", "add", &name, "--url", mcp.url()])
        .assert()
        .success();

    let mut child = Command::new(assert_cmd::cargo::cargo_bin("gatehouse"))
        .args(["run", &name])
        .env("GATEHOUSE_HOME", &env.data)
        .env("HOME", &env.home)
        .env("GATEHOUSE_APP", "")
        .env("GATEHOUSE_BROWSER", CURL)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let mut request = |id: u64, method: &str, params: Value| -> Value {
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the proxy ended");
            printed.push_str(&line);
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id {
                return message;
            }
        }
    };

    let init = request(
        0,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "oauth-test", "version": "1"}}),
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "oauth-test", "{init}");
    let list = request(1, "tools/list", json!({}));
    assert_eq!(list["result"]["tools"][0]["name"], "echo", "{list}");
    let call = request(
        2,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "through OAuth"}}),
    );
    assert_eq!(
        call["result"]["content"][0]["text"], "through OAuth",
        "{call}"
    );
    drop(stdin);
    child.wait().unwrap();

    assert_eq!(auth.consents(), 1);
    let access = auth.access_tokens();
    assert_eq!(access.len(), 1);
    let token = &access[0].0;
    let requests = mcp.requests();
    assert_eq!(
        requests[0],
        (None, 401),
        "the first request carried no token"
    );
    assert!(
        requests[1..]
            .iter()
            .all(|(t, s)| t.as_ref() == Some(token) && *s < 300),
        "{requests:?}"
    );
    assert!(
        !printed.contains(token.as_str()),
        "the token reached the client"
    );
    for file in files_under(&env.data) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token leaked into {}",
            file.display()
        );
    }
    assert!(Keychain.get(&name, GRANT_KEY).unwrap().is_some());
    env.cmd()
        .args(["server", "remove", &name])
        .assert()
        .success();
    assert!(Keychain.get(&name, GRANT_KEY).unwrap().is_none());
}
