//! URL, domain, scheme and HTTP method rules.

use serde_json::{Value, json};

use super::*;

fn url_rules(rules: Value) -> CompiledRules {
    compile(
        json!({"rules": rules}),
        "fetch",
        json!({"properties": {"url": {"type": "string"}}}),
        no_ctx(),
    )
}

#[test]
fn url_attacks_are_denied() {
    let rules = url_rules(json!([
        {"kind": "domain_allow", "domain": "good.com"},
        {"kind": "domain_allow", "domain": "google.com"},
        {"kind": "domain_allow", "domain": "*.example.com"},
    ]));
    for (attack, problem) in [
        ("https://good.com@evil.com/", ArgProblem::UrlUnusable),
        ("https://good.com:pw@evil.com/", ArgProblem::UrlUnusable),
        ("https://@good.com/", ArgProblem::UrlUnusable),
        ("https://evil.com\\@good.com/", ArgProblem::UrlUnusable),
        ("https://evil.com#@good.com", ArgProblem::UrlNotAllowed),
        ("https://evil.com?@good.com", ArgProblem::UrlNotAllowed),
        // Cyrillic о: a look-alike of google.com.
        (
            "https://g\u{043e}\u{043e}gle.com/",
            ArgProblem::UrlNotAllowed,
        ),
        ("https://xn--ggle-55da.com/", ArgProblem::UrlNotAllowed),
        ("https://good.com.evil.com/", ArgProblem::UrlNotAllowed),
        ("https://evilgood.com/", ArgProblem::UrlNotAllowed),
        ("https://good.com../", ArgProblem::UrlUnusable),
        ("https://example.com/", ArgProblem::UrlNotAllowed),
        ("https://notexample.com/", ArgProblem::UrlNotAllowed),
        ("http://[::1]/", ArgProblem::UrlNotAllowed),
        ("http://127.0.0.1/", ArgProblem::UrlNotAllowed),
        ("http://2130706433/", ArgProblem::UrlNotAllowed),
        ("http://0x7f.1/", ArgProblem::UrlNotAllowed),
        ("https://%67ood.com/", ArgProblem::UrlUnusable),
        ("https://good.com:8443/", ArgProblem::UrlNotAllowed),
        ("javascript:alert(1)", ArgProblem::SchemeNotAllowed),
        ("file:///etc/passwd", ArgProblem::SchemeNotAllowed),
        ("ftp://good.com/", ArgProblem::SchemeNotAllowed),
        ("data:text/html,hi", ArgProblem::SchemeNotAllowed),
        ("good.com/path", ArgProblem::UrlUnusable),
        ("//good.com/path", ArgProblem::UrlUnusable),
        ("https://good.com/ x", ArgProblem::UrlUnusable),
        ("https://good.com/\nx", ArgProblem::UrlUnusable),
        (" https://good.com/", ArgProblem::UrlUnusable),
        ("", ArgProblem::UrlUnusable),
        ("https:///", ArgProblem::UrlUnusable),
    ] {
        let v = assert_decision(&rules, json!({"url": attack}), Decision::Deny);
        assert_eq!(v.reason.unwrap().problem, problem, "{attack:?}");
    }
}

#[test]
fn url_normal_forms_are_allowed() {
    let rules = url_rules(json!([
        {"kind": "domain_allow", "domain": "good.com"},
        {"kind": "domain_allow", "domain": "*.example.com"},
    ]));
    for ok in [
        "https://good.com/x?y=1#z",
        "HTTPS://GOOD.COM/x",
        "https://good.com./x",
        "https://good.com:443/",
        "http://good.com:80/",
        "http://good.com",
        "https://api.example.com/v1",
        "https://a.b.Example.com",
    ] {
        assert_decision(&rules, json!({"url": ok}), Decision::Allow);
    }
}

#[test]
fn look_alike_hosts_are_shown_both_ways() {
    let rules = url_rules(json!([{"kind": "domain_allow", "domain": "google.com"}]));
    let v = assert_decision(
        &rules,
        json!({"url": "https://g\u{043e}\u{043e}gle.com/"}),
        Decision::Deny,
    );
    let message = v.reason.unwrap().message;
    assert!(message.contains("xn--ggle-55da.com"), "{message}");
    assert!(message.contains("g\u{043e}\u{043e}gle.com"), "{message}");
}

#[test]
fn non_ascii_hosts_match_only_rules_that_name_them() {
    let rules = url_rules(json!([{"kind": "domain_allow", "domain": "bücher.de"}]));
    assert_decision(
        &rules,
        json!({"url": "https://bücher.de/"}),
        Decision::Allow,
    );
    assert_decision(
        &rules,
        json!({"url": "https://xn--bcher-kva.de/"}),
        Decision::Allow,
    );
    assert_decision(&rules, json!({"url": "https://bucher.de/"}), Decision::Deny);
}

#[test]
fn domain_deny_sees_through_case_and_trailing_dots() {
    let rules = url_rules(json!([
        {"kind": "domain_deny", "domain": "evil.com"},
        {"kind": "domain_deny", "domain": "*.evil.com"},
    ]));
    for attack in [
        "https://evil.com/",
        "https://evil.com./",
        "https://EVIL.com/",
        "https://x.evil.com./",
    ] {
        let v = assert_decision(&rules, json!({"url": attack}), Decision::Deny);
        assert_eq!(v.reason.unwrap().problem, ArgProblem::UrlDenied, "{attack}");
    }
    // Without allow rules, other hosts pass; other schemes still do not.
    assert_decision(&rules, json!({"url": "https://good.com/"}), Decision::Allow);
    assert_decision(&rules, json!({"url": "file:///etc/passwd"}), Decision::Deny);
}

#[test]
fn ip_rules_and_ports() {
    let rules = url_rules(json!([
        {"kind": "domain_allow", "domain": "[::1]:*"},
        {"kind": "domain_allow", "domain": "127.0.0.1:8080"},
    ]));
    assert_decision(
        &rules,
        json!({"url": "http://[::1]:3000/"}),
        Decision::Allow,
    );
    assert_decision(
        &rules,
        json!({"url": "http://[0:0:0:0:0:0:0:1]/"}),
        Decision::Allow,
    );
    assert_decision(
        &rules,
        json!({"url": "http://127.0.0.1:8080/"}),
        Decision::Allow,
    );
    assert_decision(&rules, json!({"url": "http://127.0.0.1/"}), Decision::Deny);
    assert_decision(
        &rules,
        json!({"url": "http://localhost:8080/"}),
        Decision::Deny,
    );
}

#[test]
fn scheme_rules_replace_the_default() {
    let rules = url_rules(json!([
        {"kind": "schemes", "schemes": ["HTTPS"]},
        {"kind": "domain_allow", "domain": "good.com"},
    ]));
    assert_decision(&rules, json!({"url": "https://good.com/"}), Decision::Allow);
    let v = assert_decision(&rules, json!({"url": "http://good.com/"}), Decision::Deny);
    let r = v.reason.unwrap();
    assert_eq!(r.problem, ArgProblem::SchemeNotAllowed);
    assert_eq!(r.rule, Some(0));
    // A schemes rule alone allows any host with those schemes.
    let rules = url_rules(json!([{"kind": "schemes", "schemes": ["wss"]}]));
    assert_decision(&rules, json!({"url": "wss://any.host/"}), Decision::Allow);
    assert_decision(&rules, json!({"url": "https://any.host/"}), Decision::Deny);
}

#[test]
fn url_kinds_come_from_format_and_names() {
    let rules = compile(
        json!({"rules": [{"kind": "domain_allow", "domain": "good.com"}]}),
        "post",
        json!({"properties": {
            "target": {"type": "string", "format": "uri"},
            "links": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"}}}),
        no_ctx(),
    );
    assert_decision(
        &rules,
        json!({"target": "https://evil.com"}),
        Decision::Deny,
    );
    assert_decision(
        &rules,
        json!({"links": ["https://good.com", "https://evil.com"]}),
        Decision::Deny,
    );
    assert_decision(
        &rules,
        json!({"webhook_url": "https://evil.com"}),
        Decision::Deny,
    );
    assert_decision(&rules, json!({"note": "https://evil.com"}), Decision::Allow);
}

fn method_rules(schema: Value) -> CompiledRules {
    compile(
        json!({"rules": [{"kind": "methods", "methods": ["GET", "head"]}]}),
        "http_request",
        schema,
        no_ctx(),
    )
}

#[test]
fn methods_are_allowlisted() {
    let rules = method_rules(json!({"properties": {
        "url": {"type": "string"},
        "method": {"type": "string", "default": "GET"}}}));
    assert_decision(&rules, json!({"method": "get"}), Decision::Allow);
    assert_decision(&rules, json!({"method": "HEAD"}), Decision::Allow);
    assert_decision(&rules, json!({}), Decision::Allow);
    let v = assert_decision(&rules, json!({"method": "POST"}), Decision::Deny);
    let r = v.reason.unwrap();
    assert_eq!(r.problem, ArgProblem::MethodNotAllowed);
    assert_eq!(r.argument, "method");
    assert_eq!(r.rule, Some(0));
    assert_decision(
        &rules,
        json!({"method": "GET\r\nX-Evil: 1"}),
        Decision::Deny,
    );
    assert_decision(&rules, json!({"method": " GET"}), Decision::Deny);

    // No method and no default: refused, since the server's default is unknown.
    let rules = method_rules(json!({"properties": {"method": {"type": "string"}}}));
    let v = assert_decision(&rules, json!({}), Decision::Deny);
    assert_eq!(v.reason.unwrap().problem, ArgProblem::MethodMissing);
    let rules =
        method_rules(json!({"properties": {"method": {"type": "string", "default": "DELETE"}}}));
    assert_decision(&rules, json!({}), Decision::Deny);
}
