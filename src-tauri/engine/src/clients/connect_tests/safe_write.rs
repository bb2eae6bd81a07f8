//! The safe write: crashes at each step, races, permissions, files that
//! cannot be parsed, and which entries are routed.

use super::*;

fn leftover_temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_crash_at_any_step_leaves_the_old_or_the_new_file_and_the_backup() {
    for step in Step::ALL {
        let h = fixture_home();
        let path = h.home.join(".cursor/mcp.json");
        let plan =
            connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
        let fail = |s: Step| {
            if s == step {
                Err(format!("crash at {s:?}"))
            } else {
                Ok(())
            }
        };
        let err = connect::apply_with(&plan, &h.data, &fail)
            .unwrap_err()
            .to_string();
        assert_eq!(err, format!("crash at {step:?}"));
        let now = std::fs::read_to_string(&path).unwrap();
        assert!(
            now == plan.before || now == plan.after,
            "{step:?}: torn file"
        );
        assert_eq!(now, plan.before, "{step:?}: nothing renamed yet");
        let backups: Vec<Vec<u8>> = std::fs::read_dir(h.data.backups())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "backup"))
            .map(|p| write::read_backup(&p).unwrap())
            .collect();
        assert_eq!(
            backups,
            [plan.before.as_bytes().to_vec()],
            "{step:?}: backup"
        );
        assert!(leftover_temp_files(path.parent().unwrap()).is_empty());
        // A later connect still works.
        connect::apply(&plan, &h.data).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), plan.after);
    }
}

#[test]
fn refuses_when_the_file_changed_since_it_was_read() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let edited = plan.before.replace("python", "python3");
    std::fs::write(&path, &edited).unwrap();
    let err = connect::apply(&plan, &h.data).unwrap_err().to_string();
    assert!(err.contains("changed since Gatehouse read it"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
}

#[test]
fn refuses_when_the_file_changes_during_the_write() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name).unwrap();
    let edited = plan.before.replace("python", "python3");
    let race = |s: Step| {
        if s == Step::AfterFsync {
            std::fs::write(&path, &edited).unwrap();
        }
        Ok(())
    };
    let err = connect::apply_with(&plan, &h.data, &race)
        .unwrap_err()
        .to_string();
    assert!(err.contains("changed since Gatehouse read it"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    assert!(leftover_temp_files(path.parent().unwrap()).is_empty());
}

#[cfg(unix)]
#[test]
fn keeps_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let plan = connect_file(Client::Cursor, &path, &h.data);
    assert!(!plan.is_noop());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let backups = std::fs::metadata(h.data.backups())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(backups, 0o700);
    restore::apply(
        &restore::plan(Client::Cursor, &path, &h.data).unwrap(),
        &h.data,
    )
    .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn an_unparseable_file_is_left_alone() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let broken = "{ \"mcpServers\": { \"a\": { \"command\": \"x\" }\n";
    std::fs::write(&path, broken).unwrap();
    let err = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &routed_name)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot parse") && err.contains("left alone"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let toml = h.home.join(".codex/config.toml");
    std::fs::write(&toml, "[mcp_servers.a\ncommand = 1\n").unwrap();
    let err = connect::plan(Client::Codex, &toml, Path::new(GATEHOUSE), &routed_name)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot parse"), "{err}");
    let yaml = h.home.join(".config/goose/config.yaml");
    let broken = "extensions:\n  a:\n    cmd: [npx\n    args: x\n";
    std::fs::write(&yaml, broken).unwrap();
    let err = connect::plan(Client::Goose, &yaml, Path::new(GATEHOUSE), &routed_name)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot parse") && err.contains("left alone"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&yaml).unwrap(), broken);
}

#[test]
fn a_file_broken_since_connect_is_not_restored() {
    for (client, file, broken) in [
        (Client::Cursor, ".cursor/mcp.json", "{ \"mcpServers\": "),
        (
            Client::Continue,
            ".continue/config.yaml",
            "mcpServers:\n  - name: a\n   command: x\n",
        ),
    ] {
        let h = fixture_home();
        let path = h.home.join(file);
        connect_file(client, &path, &h.data);
        std::fs::write(&path, broken).unwrap();
        let err = restore::plan(client, &path, &h.data)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot parse"), "{client}: {err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    }
}

#[test]
fn entries_without_a_gatehouse_server_are_left_alone() {
    let h = fixture_home();
    let path = h.home.join(".cursor/mcp.json");
    let only_github = |e: &Entry| (e.name == "github").then(|| "github".to_string());
    let plan = connect::plan(Client::Cursor, &path, Path::new(GATEHOUSE), &only_github).unwrap();
    assert_eq!(plan.skipped, ["local-server", "remote-server"]);
    let names: Vec<&str> = plan.edits.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["github"]);
    assert!(plan.after.contains(r#""command": "python""#));
    assert!(
        plan.after
            .contains(r#""url": "https://api.example.com/mcp""#)
    );
}

#[test]
fn secret_values_are_found_for_redaction() {
    let h = fixture_home();
    let text = std::fs::read_to_string(h.home.join(".cursor/mcp.json")).unwrap();
    assert_eq!(
        connect::secret_values(Client::Cursor, &text),
        ["sk-gatehouse-canary-7f3a9c1e5b2d"]
    );
    assert!(connect::secret_values(Client::Cursor, "{").is_empty());
}

#[test]
fn entries_map_to_the_server_import_registered_for_them() {
    use crate::{Server, Transport};
    let server = |name: &str, transport: Transport| Server {
        name: name.into(),
        transport,
        created_at: String::new(),
    };
    let servers = [
        server(
            "github-2",
            Transport::Stdio {
                command: "npx".into(),
                args: vec!["-y".into(), "gh".into()],
                env: Default::default(),
                secrets: Vec::new(),
            },
        ),
        server(
            "docs",
            Transport::Http {
                url: "https://docs.example.com/mcp".into(),
                headers: Default::default(),
                secrets: Vec::new(),
            },
        ),
    ];
    let stdio = Entry {
        name: "github".into(),
        command: Some("npx".into()),
        args: vec!["-y".into(), "gh".into()],
        ..Entry::default()
    };
    assert_eq!(
        connect::registered_name(&stdio, &servers).as_deref(),
        Some("github-2")
    );
    let other_args = Entry {
        args: vec!["gh".into()],
        ..stdio.clone()
    };
    assert_eq!(connect::registered_name(&other_args, &servers), None);
    let remote = Entry {
        name: "Docs".into(),
        url: Some("https://docs.example.com/mcp/".into()),
        ..Entry::default()
    };
    assert_eq!(
        connect::registered_name(&remote, &servers).as_deref(),
        Some("docs")
    );
}
