//! The broker and its clients over a real Unix socket.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::{DataDir, Decision, NewServer, Store, Transport};

/// Records what the broker told the app.
#[derive(Default, Clone)]
struct Seen {
    requested: Arc<Mutex<Vec<String>>>,
    pending: Arc<Mutex<Vec<usize>>>,
}

impl BrokerEvents for Seen {
    fn requested(&self, request: &ApprovalRequest, _pending: &[ApprovalRequest]) {
        self.requested.lock().unwrap().push(request.id.clone());
    }
    fn changed(&self, pending: &[ApprovalRequest]) {
        self.pending.lock().unwrap().push(pending.len());
    }
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    broker: Arc<Broker>,
    seen: Seen,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path()).unwrap();
    let mut store = Store::open(&dir).unwrap();
    store
        .add_server(&NewServer {
            name: "fs".into(),
            transport: Transport::stdio("node", ["s.js"]),
        })
        .unwrap();
    let seen = Seen::default();
    let broker = Broker::bind(
        &socket_path(dir.root()),
        &dir.database(),
        Box::new(seen.clone()),
    )
    .unwrap();
    tokio::spawn(broker.clone().serve());
    Setup {
        _tmp: tmp,
        dir,
        broker,
        seen,
    }
}

fn request(id: &str, timeout_secs: u32) -> ApprovalRequest {
    ApprovalRequest {
        id: id.into(),
        server: "fs".into(),
        tool: "write_file".into(),
        client: Some("test-client".into()),
        session: "s1".into(),
        arguments: "{\n  \"path\": \"/tmp/a\"\n}".into(),
        rule: "the tool's risk tier".into(),
        detail: None,
        risk: "high".into(),
        reasons: vec!["Its name says it writes.".into()],
        requested_at: 0,
        timeout_secs,
    }
}

/// Waits until the broker has `id` pending.
async fn until_pending(broker: &Broker, id: &str) {
    for _ in 0..200 {
        if broker.pending().iter().any(|r| r.id == id) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{id} never became pending");
}

#[tokio::test]
async fn an_answer_from_the_app_reaches_the_waiting_proxy() {
    let s = setup();
    let socket = s.broker.socket().to_path_buf();
    let asking =
        tokio::spawn(
            async move { ask(&socket, &request("r1", 30), Duration::from_secs(30)).await },
        );
    until_pending(&s.broker, "r1").await;
    assert_eq!(*s.seen.requested.lock().unwrap(), ["r1"]);

    let outcome = s
        .broker
        .decide("r1", Answer::AllowOnce, Decider::App)
        .unwrap();
    let received = asking.await.unwrap().unwrap();
    assert_eq!(received, outcome);
    assert_eq!(received.answer, Answer::AllowOnce);
    assert!(s.broker.pending().is_empty());
    assert_eq!(s.seen.pending.lock().unwrap().last(), Some(&0));
    // Answering twice is an error, not a second answer.
    assert!(s.broker.decide("r1", Answer::Deny, Decider::App).is_err());
}

#[tokio::test]
async fn the_command_line_lists_and_answers_through_the_socket() {
    let s = setup();
    let socket = s.broker.socket().to_path_buf();
    let asking = {
        let socket = socket.clone();
        tokio::spawn(async move { ask(&socket, &request("r2", 30), Duration::from_secs(30)).await })
    };
    until_pending(&s.broker, "r2").await;
    let listed = {
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || list(&socket))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(listed, vec![request("r2", 30)]);
    let decided = {
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || decide(&socket, "r2", Answer::Deny))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(decided.by, Decider::Cli);
    let received = asking.await.unwrap().unwrap();
    assert_eq!(received.answer, Answer::Deny);

    let unknown = tokio::task::spawn_blocking(move || decide(&socket, "nope", Answer::Deny))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        unknown.to_string().contains("no approval nope"),
        "{unknown}"
    );
}

#[tokio::test]
async fn always_allow_is_in_the_store_before_the_proxy_hears_of_it() {
    let s = setup();
    for (id, pattern) in [
        ("r3", None),
        (
            "r4",
            Some([("path".to_string(), "/tmp/**".to_string())].into()),
        ),
    ] {
        let socket = s.broker.socket().to_path_buf();
        let asking =
            tokio::spawn(
                async move { ask(&socket, &request(id, 30), Duration::from_secs(30)).await },
            );
        until_pending(&s.broker, id).await;
        s.broker
            .decide(id, Answer::AlwaysAllow { pattern }, Decider::App)
            .unwrap();
        asking.await.unwrap().unwrap();
    }
    let store = Store::open(&s.dir).unwrap();
    assert_eq!(
        store.tool_policies("fs").unwrap().get("write_file"),
        Some(&Decision::Allow)
    );
    let rules = store.allow_rules("fs").unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].origin, "approval");
}

#[tokio::test]
async fn a_proxy_that_times_out_or_leaves_withdraws_its_request() {
    let s = setup();
    let socket = s.broker.socket().to_path_buf();
    let err = ask(&socket, &request("r5", 30), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err, AskError::TimedOut(Duration::from_millis(300)));
    // The proxy hung up on timing out: the request leaves the queue.
    for _ in 0..200 {
        if s.broker.pending().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(s.broker.pending().is_empty());
    assert_eq!(s.seen.pending.lock().unwrap().last(), Some(&0));
}

#[tokio::test]
async fn without_a_broker_the_proxy_is_told_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let err = ask(
        &socket_path(tmp.path()),
        &request("r6", 30),
        Duration::from_secs(30),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AskError::Unavailable(_)), "{err:?}");
    let listed = list(&socket_path(tmp.path())).unwrap_err();
    assert!(listed.to_string().contains("not running"), "{listed}");
}

#[tokio::test]
async fn the_socket_is_private_and_one_broker_per_data_directory() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup();
    let mode = std::fs::metadata(s.broker.socket())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let second = Broker::bind(
        s.broker.socket(),
        &s.dir.database(),
        Box::new(Seen::default()),
    );
    assert!(second.is_err(), "a second broker took over a live socket");

    // A socket file left by a broker that died is replaced.
    let tmp = tempfile::tempdir().unwrap();
    let stale = socket_path(tmp.path());
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    Broker::bind(&stale, &s.dir.database(), Box::new(Seen::default())).unwrap();
}
