//! `gatehouse server add|list|remove` and the CLI's exit codes.

use predicates::str::contains;
use serde_json::json;

use crate::Env;

#[test]
fn add_list_remove_with_json() {
    let env = Env::fresh();
    env.cmd()
        .args([
            "server",
            "add",
            "demo",
            "--env",
            "LOG=debug",
            "--",
            "python3",
            "server.py",
            "--port",
            "0",
        ])
        .assert()
        .success()
        .stdout(contains("added demo"));
    env.cmd()
        .args([
            "server",
            "add",
            "remote",
            "--url",
            "https://mcp.example.com/mcp",
            "--header",
            "X-Team: blue",
        ])
        .assert()
        .success();

    let list = env.json(&["server", "list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo", "remote"]);
    assert_eq!(list[0]["command"], "python3");
    assert_eq!(list[0]["args"], json!(["server.py", "--port", "0"]));
    assert_eq!(list[0]["env"], json!({"LOG": "debug"}));
    assert_eq!(list[1]["url"], "https://mcp.example.com/mcp");
    assert_eq!(list[1]["headers"], json!({"X-Team": "blue"}));
    assert!(list[1].get("command").is_none());

    env.cmd()
        .args(["server", "remove", "demo"])
        .assert()
        .success();
    assert_eq!(env.json(&["server", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn text_list_is_a_table() {
    let env = Env::fresh();
    env.cmd()
        .args(["server", "list"])
        .assert()
        .success()
        .stdout(contains("no servers yet"));
    env.cmd()
        .args(["server", "add", "demo", "--", "node", "x.js"])
        .assert()
        .success();
    env.cmd()
        .args(["server", "list"])
        .assert()
        .success()
        .stdout(contains("NAME"))
        .stdout(contains("demo  node x.js"));
}

#[test]
fn usage_errors_exit_2_and_store_nothing() {
    let env = Env::fresh();
    for args in [
        vec!["server", "add", "demo"],
        vec![
            "server",
            "add",
            "demo",
            "--url",
            "https://x.example",
            "--",
            "node",
        ],
        vec!["server", "add", "demo", "--env", "NOEQUALS", "--", "node"],
        vec!["server", "add", "demo", "--header", "X: y", "--", "node"],
        vec!["server", "frobnicate"],
        vec!["policy", "set", "demo", "tool", "sometimes"],
    ] {
        env.cmd().args(&args).assert().code(2);
    }
    assert_eq!(env.json(&["server", "list"]), json!([]));
}

#[test]
fn failures_exit_1_with_a_message_that_says_what_to_do() {
    let env = Env::fresh();
    env.cmd()
        .args(["server", "add", "demo", "--", "node", "a.js"])
        .assert()
        .success();
    env.cmd()
        .args(["server", "add", "demo", "--", "node", "b.js"])
        .assert()
        .code(1)
        .stderr(contains("already exists"))
        .stderr(contains("gatehouse server remove demo"));
    env.cmd()
        .args(["server", "remove", "ghost"])
        .assert()
        .code(1)
        .stderr(contains("no server named 'ghost'"));
    env.cmd()
        .args(["server", "add", "bad name", "--", "node"])
        .assert()
        .code(1)
        .stderr(contains("not valid"));
    // The first registration is untouched.
    assert_eq!(env.json(&["server", "list"])[0]["args"], json!(["a.js"]));
}
