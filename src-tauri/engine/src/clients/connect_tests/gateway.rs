//! `clients connect --via gateway`: each client that takes URLs gets the
//! gateway's URL and its bearer token in its own schema; the others keep
//! `gatehouse run`; restore still puts every file back byte for byte.

use super::*;
use crate::SecretValue;
use crate::clients::connect::Target;

const PORT: u16 = 47123;
/// A stand-in for a client's gateway token (real ones are 43 base64url
/// characters).
const TOKEN: &str = "gh-test-token-Q2F0ZXdheVRlc3RUb2tlbg";

fn target() -> Target {
    Target::gateway(Path::new(GATEHOUSE), PORT, SecretValue::new(TOKEN))
}

fn gateway_plan(config: &ClientConfig) -> Plan {
    connect::plan_to(config.client, &config.path, &target(), &routed_name).unwrap()
}

/// The connected text of each entry, for a snapshot.
fn connected_entries(plan: &Plan) -> String {
    plan.edits
        .iter()
        .map(|e| format!("{}:\n{}\n", e.name, e.connected.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn clients_that_take_urls_get_the_gateway_url_and_their_token() {
    let h = fixture_home();
    for config in writable(&h.home) {
        let client = config.client;
        let original = std::fs::read(&config.path).unwrap();
        let plan = gateway_plan(&config);
        assert!(!plan.is_noop(), "{client}: nothing to connect");
        connect::apply(&plan, &h.data).unwrap().unwrap();
        let connected = std::fs::read_to_string(&config.path).unwrap();
        for secret in secrets() {
            assert!(!connected.contains(secret), "{client}: {secret} left");
        }

        let after = read(client, &config.path);
        assert!(after.error.is_none(), "{client}: {:?}", after.error);
        let mut with_token = Vec::new();
        for before in config
            .servers
            .iter()
            .filter(|e| e.command.is_some() || e.url.is_some())
        {
            let entry = after
                .servers
                .iter()
                .find(|e| e.name == before.name && e.scope == before.scope)
                .unwrap();
            let server = before
                .routed_to()
                .map_or_else(|| server_name(before), str::to_string);
            if client.takes_url() {
                assert_eq!(
                    entry.gateway_route(),
                    Some((PORT, server.as_str())),
                    "{client}: {}",
                    entry.name
                );
                assert_eq!(entry.transport, "http", "{client}: {}", entry.name);
                assert_eq!(
                    entry.headers.get("Authorization").map(String::as_str),
                    Some(format!("Bearer {TOKEN}").as_str()),
                    "{client}: {}",
                    entry.name
                );
                assert!(entry.command.is_none());
                // Goose keeps `envs` on remote extensions too.
                assert!(entry.env.is_empty() || client == Client::Goose);
                // The token is Gatehouse's own loopback credential: no
                // finding tells the person to move it to the keychain.
                let findings = crate::clients::findings::entry_findings(entry);
                assert!(
                    findings
                        .iter()
                        .all(|f| f.rule != FindingRule::PlaintextSecret),
                    "{client}: {findings:?}"
                );
                with_token.push(entry.name.clone());
            } else {
                assert_eq!(entry.launched(), Some(server.as_str()));
                if !before.routed() {
                    assert_eq!(entry.command.as_deref(), Some(GATEHOUSE));
                }
            }
            assert!(entry.routed());
        }
        assert!(!connected.contains(GATEHOUSE) || !client.takes_url());

        // The preview knows where the token goes, and hides it.
        let mut places: Vec<String> = plan.secrets.iter().map(|s| s.entry.clone()).collect();
        places.sort();
        with_token.sort();
        assert_eq!(places, with_token, "{client}");
        assert!(
            plan.secrets
                .iter()
                .all(|s| s.field.eq_ignore_ascii_case("headers.Authorization"))
        );
        let diff = diff::redacted_with(client, &plan.path, &plan.before, &plan.after, &[TOKEN]);
        assert!(!diff.contains(TOKEN), "{client}: the token is in the diff");
        if client.takes_url() {
            assert!(diff.contains("/mcp/"), "{client}: {diff}");
        }

        // Connecting again changes nothing.
        assert!(gateway_plan(&config).is_noop(), "{client}: connects twice");

        let restore = restore::plan(client, &config.path, &h.data).unwrap();
        assert!(restore.exact && restore.warnings.is_empty(), "{client}");
        restore::apply(&restore, &h.data).unwrap();
        assert_eq!(
            std::fs::read(&config.path).unwrap(),
            original,
            "{client}: restore after a gateway connect is not byte-identical"
        );
    }
}

#[test]
fn the_url_form_in_each_clients_schema() {
    let h = fixture_home();
    for config in writable(&h.home) {
        if !config.client.takes_url() {
            continue;
        }
        let plan = gateway_plan(&config);
        insta::assert_snapshot!(
            format!("gateway-{}", config.client.id()),
            connected_entries(&plan)
        );
    }
}

#[test]
fn claude_desktop_and_continue_stay_on_stdio_when_the_gateway_is_asked() {
    let h = fixture_home();
    for config in writable(&h.home) {
        if !matches!(config.client, Client::ClaudeDesktop | Client::Continue) {
            continue;
        }
        assert!(!config.client.takes_url());
        let through_gateway = gateway_plan(&config);
        assert_eq!(through_gateway, plan(&config), "{}", config.client);
        assert!(through_gateway.secrets.is_empty());
        assert!(!through_gateway.after.contains(TOKEN));
        assert!(!through_gateway.after.contains("/mcp/"));
    }
}

#[test]
fn a_connected_entry_moves_between_stdio_and_the_gateway_and_restores_exactly() {
    let h = fixture_home();
    let configs = writable(&h.home);
    let cursor = configs.iter().find(|c| c.client == Client::Cursor).unwrap();
    let original = std::fs::read(&cursor.path).unwrap();

    connect_file(Client::Cursor, &cursor.path, &h.data);
    let stdio = read(Client::Cursor, &cursor.path);
    assert!(stdio.servers.iter().all(|e| e.launched().is_some()));

    // Through the gateway: routed entries keep their server.
    let moved = connect::plan_to(Client::Cursor, &cursor.path, &target(), &|_| None).unwrap();
    assert_eq!(moved.edits.len(), stdio.servers.len());
    connect::apply(&moved, &h.data).unwrap();
    let through = read(Client::Cursor, &cursor.path);
    for (before, after) in stdio.servers.iter().zip(&through.servers) {
        assert_eq!(
            after.gateway_route(),
            Some((PORT, before.launched().unwrap()))
        );
    }

    // A new token (rotated) or port rewrites the URL entries again.
    let rotated = Target::gateway(Path::new(GATEHOUSE), PORT, SecretValue::new("new"));
    let again = connect::plan_to(Client::Cursor, &cursor.path, &rotated, &|_| None).unwrap();
    assert_eq!(again.edits.len(), through.servers.len());
    assert!(again.after.contains("Bearer new"));

    // And back to stdio.
    let back = connect::plan(Client::Cursor, &cursor.path, Path::new(GATEHOUSE), &|_| {
        None
    })
    .unwrap();
    connect::apply(&back, &h.data).unwrap();
    let launched = |c: &ClientConfig| -> Vec<Option<String>> {
        c.servers
            .iter()
            .map(|e| e.launched().map(str::to_string))
            .collect()
    };
    assert_eq!(
        launched(&read(Client::Cursor, &cursor.path)),
        launched(&stdio)
    );

    // Restore undoes all three connects, newest first.
    let restore = restore::plan(Client::Cursor, &cursor.path, &h.data).unwrap();
    restore::apply(&restore, &h.data).unwrap();
    assert_eq!(std::fs::read(&cursor.path).unwrap(), original);
}

#[test]
fn only_loopback_urls_of_the_mcp_path_count_as_the_gateway() {
    let entry = |url: &str| Entry {
        url: Some(url.into()),
        ..Entry::default()
    };
    for (url, route) in [
        ("http://127.0.0.1:47100/mcp/github", Some((47100, "github"))),
        ("http://localhost:5000/mcp/a.b_c-d", Some((5000, "a.b_c-d"))),
        ("http://[::1]:1/mcp/x", Some((1, "x"))),
        ("https://127.0.0.1:47100/mcp/github", None),
        ("http://127.0.0.2:47100/mcp/github", None),
        ("http://example.com:47100/mcp/github", None),
        ("http://127.0.0.1/mcp/github", None),
        ("http://127.0.0.1:47100/mcp/", None),
        ("http://127.0.0.1:47100/mcp/a/b", None),
        ("http://127.0.0.1:47100/sse/github", None),
    ] {
        assert_eq!(entry(url).gateway_route(), route, "{url}");
        assert_eq!(entry(url).routed(), route.is_some(), "{url}");
    }
}
