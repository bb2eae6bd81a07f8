//! Argument rules against attack strings: traversal, symlink escapes,
//! encodings, separators, shell syntax, URL tricks, look-alike hosts.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

mod urls;

/// A file tree with a symlink escape in it:
///
/// ```text
/// root/reports/q4.txt
/// root/reports/sub/
/// root/reports/private/x.txt
/// root/reports/link_out -> root/secret        (a directory outside)
/// root/reports/dangling -> root/secret/new.txt (does not exist yet)
/// root/reports/hop      -> root/secret/inner  (so hop/.. is root/secret)
/// root/secret/key.txt
/// root/secret/inner/
/// root/home/
/// ```
struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    for dir in ["reports/sub", "reports/private", "secret/inner", "home"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for file in ["reports/q4.txt", "reports/private/x.txt", "secret/key.txt"] {
        std::fs::write(root.join(file), "x").unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(root.join("secret"), root.join("reports/link_out")).unwrap();
        symlink(root.join("secret/new.txt"), root.join("reports/dangling")).unwrap();
        symlink(root.join("secret/inner"), root.join("reports/hop")).unwrap();
    }
    Tree { _tmp: tmp, root }
}

impl Tree {
    fn ctx(&self) -> PathContext {
        PathContext {
            home: Some(self.root.join("home")),
            base_dir: Some(self.root.join("reports")),
        }
    }

    fn at(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root.display())
    }

    /// `read_file(path)` with an allow glob on reports/ and a deny glob on
    /// reports/private/.
    fn path_rules(&self) -> CompiledRules {
        compile(
            json!({"rules": [
                {"kind": "path_allow", "glob": self.at("reports/**")},
                {"kind": "path_deny", "glob": self.at("reports/private/**")},
            ]}),
            "read_file",
            json!({"type": "object", "properties": {"path": {"type": "string"}}}),
            self.ctx(),
        )
    }
}

fn compile(rules: Value, tool: &str, schema: Value, ctx: PathContext) -> CompiledRules {
    let rules: ArgumentRules = serde_json::from_value(rules).unwrap();
    CompiledRules::compile(&rules, tool, &schema, ctx).unwrap()
}

fn no_ctx() -> PathContext {
    PathContext::default()
}

#[track_caller]
fn assert_decision(rules: &CompiledRules, args: Value, expected: Decision) -> ArgVerdict {
    let v = rules.evaluate(&args);
    assert_eq!(v.decision, expected, "{args}: {v:?}");
    v
}

#[cfg(unix)]
#[test]
fn path_attacks_are_denied() {
    let t = tree();
    let rules = t.path_rules();
    let attacks = [
        // Traversal.
        t.at("reports/../secret/key.txt"),
        t.at("reports/./sub/../../secret/key.txt"),
        "../secret/key.txt".into(),
        "sub/../../secret/key.txt".into(),
        "~/../secret/key.txt".into(),
        "/etc/passwd".into(),
        // Symlink escapes: through a directory link, a dangling link (a
        // write would create its target), and `..` after a link.
        t.at("reports/link_out/key.txt"),
        t.at("reports/dangling"),
        t.at("reports/hop/../key.txt"),
        // Encoded characters.
        t.at("reports/%2e%2e/secret/key.txt"),
        t.at("reports/..%2fsecret/key.txt"),
        t.at("reports/%252e%252e/secret/key.txt"),
        t.at("reports/q4.txt%00"),
        t.at("reports/%2525252e"),
        // Mixed separators.
        t.at("reports\\..\\secret\\key.txt"),
        t.at("reports/..\\secret/key.txt"),
        // Shell syntax and several paths in one value.
        format!("{}; /etc/passwd", t.at("reports/q4.txt")),
        format!("{};/etc/passwd", t.at("reports/q4.txt")),
        format!("{}\n/etc/passwd", t.at("reports/q4.txt")),
        format!("{}\r", t.at("reports/q4.txt")),
        format!("{} /etc/passwd", t.at("reports/q4.txt")),
        format!("{} | cat /etc/passwd", t.at("reports/q4.txt")),
        format!("{} && rm -rf ~", t.at("reports/q4.txt")),
        format!("{}`id`", t.at("reports/")),
        format!("{}$(id)", t.at("reports/")),
        format!("{}${{HOME}}", t.at("reports/")),
        format!("{} > /etc/passwd", t.at("reports/q4.txt")),
        t.at("reports/q4.txt\0"),
        // Other values that are not one clean path.
        "-rf".into(),
        "~root/.ssh/id_rsa".into(),
        "".into(),
        "file:///etc/passwd".into(),
        "file://evil/share".into(),
        // Deny wins over allow.
        t.at("reports/private/x.txt"),
        t.at("reports/sub/../private/x.txt"),
    ];
    for attack in attacks {
        let v = assert_decision(&rules, json!({"path": attack}), Decision::Deny);
        let reason = v.reason.unwrap();
        assert_eq!(reason.argument, "path");
        assert!(
            reason.message.starts_with("Argument \"path\": "),
            "{reason:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn clean_paths_inside_are_allowed() {
    let t = tree();
    let rules = t.path_rules();
    for ok in [
        t.at("reports/q4.txt"),
        t.at("reports/sub/../q4.txt"),
        t.at("reports//sub/./new file.txt"),
        t.at("reports/100%.txt"),
        t.at("reports/report%20final.txt"),
        "q4.txt".into(),
        "./sub/../q4.txt".into(),
        "~/../reports/q4.txt".into(),
        format!("file://{}", t.at("reports/q4.txt")),
    ] {
        assert_decision(&rules, json!({"path": ok}), Decision::Allow);
    }
    // A tool without path arguments is not affected.
    assert_decision(&rules, json!({"query": "/etc/passwd"}), Decision::Allow);
}

#[cfg(unix)]
#[test]
fn reasons_name_the_rule_and_the_argument() {
    let t = tree();
    let rules = t.path_rules();
    let v = assert_decision(
        &rules,
        json!({"path": t.at("reports/private/x.txt")}),
        Decision::Deny,
    );
    let r = v.reason.unwrap();
    assert_eq!(r.problem, ArgProblem::PathDenied);
    assert_eq!(r.rule, Some(1));
    assert!(r.message.contains("rule 2: path deny"), "{}", r.message);

    let v = assert_decision(&rules, json!({"path": "/etc/passwd"}), Decision::Deny);
    let r = v.reason.unwrap();
    assert_eq!(r.problem, ArgProblem::PathNotAllowed);
    assert_eq!(r.rule, None);
    assert_eq!(
        r.message,
        "Argument \"path\": /etc/passwd is outside every allowed path."
    );

    let v = assert_decision(
        &rules,
        json!({"path": format!("{}; /etc/passwd", t.at("reports/q4.txt"))}),
        Decision::Deny,
    );
    let r = v.reason.unwrap();
    assert_eq!(r.problem, ArgProblem::PathUnusable);
    assert!(
        r.message.contains("not a single clean path (`;`)"),
        "{}",
        r.message
    );

    let v = assert_decision(
        &rules,
        json!({"path": t.at("reports/link_out/key.txt")}),
        Decision::Deny,
    );
    let shown = t.root.join("secret/key.txt");
    assert!(
        v.reason
            .unwrap()
            .message
            .contains(&*shown.to_string_lossy()),
        "the message shows where the link leads"
    );
}

#[cfg(unix)]
#[test]
fn unmatched_can_ask_but_unusable_values_still_deny() {
    let t = tree();
    let rules = compile(
        json!({"rules": [{"kind": "path_allow", "glob": t.at("reports/**")}], "unmatched": "ask"}),
        "read_file",
        json!({"properties": {"path": {"type": "string"}}}),
        t.ctx(),
    );
    assert_decision(&rules, json!({"path": "/etc/passwd"}), Decision::Ask);
    assert_decision(&rules, json!({"path": "/etc/passwd;"}), Decision::Deny);
    assert_decision(
        &rules,
        json!({"path": t.at("reports/q4.txt")}),
        Decision::Allow,
    );
}

#[cfg(unix)]
#[test]
fn path_kinds_come_from_schema_names_and_overrides() {
    let t = tree();
    let allow = json!([{"kind": "path_allow", "glob": t.at("reports/**")}]);
    let schema = json!({"properties": {
        "target": {"type": "string"},
        "paths": {"type": "array", "items": {"type": "string"}},
        "files": {"type": "array", "items": {"properties": {
            "path": {"type": "string"}, "content": {"type": "string"}}}}}});
    let rules = compile(json!({"rules": allow}), "tool", schema.clone(), t.ctx());
    // `target` is not a path by inference...
    assert_decision(&rules, json!({"target": "/etc/passwd"}), Decision::Allow);
    // ...arrays of paths and nested paths are, and content is not.
    assert_decision(
        &rules,
        json!({"paths": ["q4.txt", "/etc/passwd"]}),
        Decision::Deny,
    );
    let v = assert_decision(
        &rules,
        json!({"files": [{"path": "q4.txt", "content": "a; b"}, {"path": "/etc/passwd"}]}),
        Decision::Deny,
    );
    assert_eq!(v.reason.unwrap().argument, "files[1].path");
    // An argument the schema does not describe is inferred by its name.
    assert_decision(&rules, json!({"file_path": "/etc/passwd"}), Decision::Deny);
    // The user's kinds win.
    let rules = compile(
        json!({"rules": allow, "kinds": {"target": "path", "files.path": "plain"}}),
        "tool",
        schema.clone(),
        t.ctx(),
    );
    assert_decision(&rules, json!({"target": "/etc/passwd"}), Decision::Deny);
    assert_decision(
        &rules,
        json!({"files": [{"path": "/etc/passwd"}]}),
        Decision::Allow,
    );
    // A rule that names an argument applies to it whatever its kind.
    let rules = compile(
        json!({"rules": [{"argument": "target", "kind": "path_deny", "glob": "/etc/**"}]}),
        "tool",
        schema,
        t.ctx(),
    );
    assert_decision(&rules, json!({"target": "/etc/passwd"}), Decision::Deny);
    assert_decision(&rules, json!({"paths": ["/etc/passwd"]}), Decision::Allow);
}

#[cfg(unix)]
#[test]
fn file_tools_check_source_and_destination() {
    let t = tree();
    let rules = compile(
        json!({"rules": [{"kind": "path_allow", "glob": t.at("reports/**")}]}),
        "move_file",
        json!({"properties": {"source": {"type": "string"}, "destination": {"type": "string"}}}),
        t.ctx(),
    );
    assert_decision(
        &rules,
        json!({"source": "q4.txt", "destination": "sub/q4.txt"}),
        Decision::Allow,
    );
    let v = assert_decision(
        &rules,
        json!({"source": "q4.txt", "destination": "../secret/q4.txt"}),
        Decision::Deny,
    );
    assert_eq!(v.reason.unwrap().argument, "destination");
}

#[test]
fn relative_paths_without_a_working_directory_are_denied() {
    let rules = compile(
        json!({"rules": [{"kind": "path_allow", "glob": "/reports/**"}]}),
        "read_file",
        json!({"properties": {"path": {"type": "string"}}}),
        no_ctx(),
    );
    let v = assert_decision(&rules, json!({"path": "q4.txt"}), Decision::Deny);
    assert_eq!(v.reason.unwrap().problem, ArgProblem::PathUnusable);
    let v = assert_decision(&rules, json!({"path": "~/q4.txt"}), Decision::Deny);
    assert_eq!(v.reason.unwrap().problem, ArgProblem::PathUnusable);
}

#[cfg(unix)]
#[test]
fn symlinked_allow_roots_still_match() {
    // An allow glob written through a symlink matches the real paths.
    let t = tree();
    let link = t.root.join("reports_link");
    std::os::unix::fs::symlink(t.root.join("reports"), &link).unwrap();
    let rules = compile(
        json!({"rules": [{"kind": "path_allow", "glob": format!("{}/**", link.display())}]}),
        "read_file",
        json!({"properties": {"path": {"type": "string"}}}),
        t.ctx(),
    );
    assert_decision(
        &rules,
        json!({"path": t.at("reports/q4.txt")}),
        Decision::Allow,
    );
    assert_decision(
        &rules,
        json!({"path": t.at("reports_link/q4.txt")}),
        Decision::Allow,
    );
    assert_decision(
        &rules,
        json!({"path": t.at("secret/key.txt")}),
        Decision::Deny,
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_denied() {
    let t = tree();
    std::os::unix::fs::symlink(t.root.join("reports/loop"), t.root.join("reports/loop")).unwrap();
    let rules = t.path_rules();
    let v = assert_decision(
        &rules,
        json!({"path": t.at("reports/loop/x")}),
        Decision::Deny,
    );
    assert_eq!(v.reason.unwrap().problem, ArgProblem::PathUnusable);
}

#[test]
fn patterns_walk_every_string_and_number() {
    let rules = compile(
        json!({"rules": [
            {"kind": "pattern", "regex": "(?i)password"},
            {"argument": "command", "kind": "pattern", "regex": "rm\\s+-rf"},
            {"argument": "options.card", "kind": "pattern", "regex": "^4[0-9]{15}$"},
        ]}),
        "tool",
        json!({}),
        no_ctx(),
    );
    let v = assert_decision(
        &rules,
        json!({"a": {"b": ["fine", "my PASSWORD is"]}}),
        Decision::Deny,
    );
    let r = v.reason.unwrap();
    assert_eq!(r.argument, "a.b[1]");
    assert_eq!(r.rule, Some(0));
    assert_eq!(r.problem, ArgProblem::PatternMatched);
    assert!(
        !r.message.contains("PASSWORD is"),
        "the value is not repeated"
    );
    assert_decision(&rules, json!({"command": "rm  -rf /"}), Decision::Deny);
    assert_decision(
        &rules,
        json!({"command": ["sh", "-c", "rm -rf /"]}),
        Decision::Deny,
    );
    assert_decision(&rules, json!({"other": "rm -rf /"}), Decision::Allow);
    assert_decision(
        &rules,
        json!({"options": {"card": 4111111111111111u64}}),
        Decision::Deny,
    );
    assert_decision(
        &rules,
        json!({"card": 4111111111111111u64}),
        Decision::Allow,
    );
}

#[test]
fn ask_patterns_ask_and_deny_wins() {
    let rules = compile(
        json!({"rules": [
            {"kind": "pattern", "regex": "prod", "on_match": "ask"},
            {"kind": "pattern", "regex": "drop"},
        ]}),
        "tool",
        json!({}),
        no_ctx(),
    );
    assert_decision(&rules, json!({"db": "prod"}), Decision::Ask);
    assert_decision(
        &rules,
        json!({"db": "prod", "sql": "drop table"}),
        Decision::Deny,
    );
    assert_decision(&rules, json!({"db": "dev"}), Decision::Allow);
}

#[test]
fn three_rules_together() {
    // The benchmark's shape: a path allow glob, a domain rule and a regex deny.
    let rules = compile(
        json!({"rules": [
            {"kind": "path_allow", "glob": "/tmp/**"},
            {"kind": "domain_allow", "domain": "*.example.com"},
            {"kind": "pattern", "regex": "(?i)secret"},
        ]}),
        "export_report",
        json!({"properties": {
            "path": {"type": "string"}, "url": {"type": "string"}, "note": {"type": "string"}}}),
        no_ctx(),
    );
    let ok = json!({"path": "/tmp/r.txt", "url": "https://api.example.com/x", "note": "q4"});
    assert_decision(&rules, ok, Decision::Allow);
    for bad in [
        json!({"path": "/etc/r.txt", "url": "https://api.example.com/x", "note": "q4"}),
        json!({"path": "/tmp/r.txt", "url": "https://evil.com/x", "note": "q4"}),
        json!({"path": "/tmp/r.txt", "url": "https://api.example.com/x", "note": "a Secret"}),
    ] {
        assert_decision(&rules, bad, Decision::Deny);
    }
}

#[test]
fn no_rules_allow_everything() {
    let rules = compile(json!({}), "tool", json!({}), no_ctx());
    assert!(rules.is_empty());
    assert_eq!(
        rules.evaluate(&json!({"path": "/etc/passwd; x"})),
        ArgVerdict::ALLOW
    );
}

#[test]
fn bad_rules_fail_to_compile_naming_the_rule() {
    for (rule, needle) in [
        (
            json!({"kind": "pattern", "regex": "("}),
            "rule 2 (pattern deny /(/)",
        ),
        (
            json!({"kind": "path_allow", "glob": "/a/[b"}),
            "rule 2 (path allow",
        ),
        (
            json!({"kind": "path_allow", "glob": "relative/**"}),
            "working directory",
        ),
        (
            json!({"kind": "domain_allow", "domain": "https://x.com"}),
            "write the host alone",
        ),
        (
            json!({"kind": "domain_allow", "domain": "a.*.com"}),
            "wildcard",
        ),
        (json!({"kind": "methods", "methods": []}), "no method"),
        (
            json!({"kind": "methods", "methods": ["GET /"]}),
            "not an HTTP method",
        ),
        (
            json!({"kind": "schemes", "schemes": ["ht tp"]}),
            "not a URL scheme",
        ),
    ] {
        let rules: ArgumentRules = serde_json::from_value(json!({"rules": [
            {"kind": "pattern", "regex": "ok"}, rule]}))
        .unwrap();
        let err = CompiledRules::compile(&rules, "t", &json!({}), no_ctx()).unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.to_string().contains(needle), "{err}");
        let engine_err: crate::Error = err.into();
        assert_eq!(engine_err.code(), "invalid_spec");
    }
}

#[test]
fn rules_round_trip_through_json() {
    let text = json!({
        "rules": [
            {"kind": "path_allow", "glob": "/r/**"},
            {"argument": "url", "kind": "domain_allow", "domain": "*.good.com"},
            {"kind": "pattern", "regex": "x"},
        ],
        "kinds": {"target": "path"},
    });
    let rules: ArgumentRules = serde_json::from_value(text).unwrap();
    assert_eq!(rules.unmatched, Refusal::Deny);
    assert_eq!(
        rules.rules[2].check,
        Check::Pattern {
            regex: "x".into(),
            on_match: Refusal::Deny
        }
    );
    assert_eq!(rules.rules[1].argument.as_deref(), Some("url"));
    let back: ArgumentRules =
        serde_json::from_value(serde_json::to_value(&rules).unwrap()).unwrap();
    assert_eq!(back, rules);
    assert_eq!(
        rules.rules[1].to_string(),
        "domain allow \"*.good.com\" on \"url\""
    );
}

#[test]
fn readings_cover_every_interpretation() {
    // Direct checks of the canonicaliser, without the rules around it.
    let ctx = PathContext {
        home: Some("/home/u".into()),
        base_dir: Some("/srv/app".into()),
    };
    let lexical = |s: &str| -> Vec<PathBuf> {
        path::readings(s, &ctx)
            .unwrap()
            .into_iter()
            .map(|r| r.lexical)
            .collect()
    };
    assert_eq!(lexical("~/a/./b"), [Path::new("/home/u/a/b")]);
    assert_eq!(lexical("x/../../etc"), [Path::new("/srv/etc")]);
    assert_eq!(lexical("/../../etc"), [Path::new("/etc")]);
    assert_eq!(
        lexical("/a/%2e%2e/b"),
        [Path::new("/a/%2e%2e/b"), Path::new("/b")]
    );
    #[cfg(unix)]
    assert_eq!(
        lexical("/a\\..\\b"),
        [Path::new("/a\\..\\b"), Path::new("/b")]
    );
}
