//! The data directory and database as the CLI leaves them.

use predicates::str::contains;

use crate::Env;

#[cfg(unix)]
#[test]
fn data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::fresh();
    env.cmd().args(["server", "list"]).assert().success();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.data), 0o700);
    assert_eq!(mode(&env.data.join("gatehouse.db")), 0o600);
}

#[test]
fn a_database_from_a_newer_gatehouse_is_refused() {
    let env = Env::fresh();
    env.cmd()
        .args(["server", "add", "demo", "--", "node"])
        .assert()
        .success();
    let db = env.data.join("gatehouse.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    env.cmd()
        .args(["server", "list"])
        .assert()
        .code(1)
        .stderr(contains("schema version 999"))
        .stderr(contains("newer Gatehouse"));
    let version: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 999, "the database is left as it was");
}

#[test]
fn an_unreadable_database_fails_closed_with_its_path() {
    let env = Env::fresh();
    std::fs::create_dir_all(&env.data).unwrap();
    std::fs::write(env.data.join("gatehouse.db"), vec![b'x'; 4096]).unwrap();
    env.cmd()
        .args(["server", "list"])
        .assert()
        .code(1)
        .stderr(contains("database"));
}
