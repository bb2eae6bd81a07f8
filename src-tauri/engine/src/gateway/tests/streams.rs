//! Event streams: a POST's when progress comes before its answer, the
//! session's GET stream, and their end at shutdown.

use super::*;

#[tokio::test]
async fn progress_before_the_answer_switches_the_post_to_an_event_stream() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let response = f
            .post(
                Some(&session),
                json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
                    "name": "progress", "arguments": {}, "_meta": {"progressToken": "p-1"}}}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            HeaderValue::from_static("text/event-stream")
        );
        let messages = events(response, |_| false).await;
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[0]["method"], "notifications/progress");
        assert_eq!(messages[0]["params"]["progressToken"], "p-1");
        assert_eq!(messages[1]["id"], 5);
        assert_eq!(messages[1]["result"]["content"][0]["text"], "progress");

        // A client that takes only JSON gets the answer as JSON; the
        // progress goes to the session's stream instead.
        let mut headers = f.headers(Some(&session));
        headers.insert("accept", HeaderValue::from_static("application/json"));
        let response = send(
            f.http.post(&f.url).headers(headers).body(
                json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
                    "name": "progress", "arguments": {}, "_meta": {"progressToken": "p-2"}}})
                .to_string(),
            ),
        )
        .await;
        let body: Value = json_of(response).await;
        assert_eq!(body["id"], 6);
    })
    .await;
}

#[tokio::test]
async fn the_get_stream_carries_the_servers_own_messages() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let stream = f.get(Some(&session)).await;
        assert_eq!(stream.status(), StatusCode::OK);
        assert_eq!(
            stream.headers()["content-type"],
            HeaderValue::from_static("text/event-stream")
        );
        // One GET stream per session.
        let second = f.get(Some(&session)).await;
        assert_eq!(second.status(), StatusCode::CONFLICT);

        let answer: Value =
            json_of(f.post(Some(&session), call(3, "announce", "done")).await).await;
        assert_eq!(answer["result"]["content"][0]["text"], "done");
        // Other messages may come first (a list change after the policy
        // watcher's first look): the server's log message is among them.
        let logged = |m: &Value| m["method"] == "notifications/message";
        let messages = events(stream, |m| m.iter().any(logged)).await;
        let message = messages.iter().find(|m| logged(m)).unwrap();
        assert_eq!(message["params"]["data"], "announced");
    })
    .await;
}

#[tokio::test]
async fn messages_for_a_stream_not_yet_open_wait_for_it() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let answer: Value =
            json_of(f.post(Some(&session), call(3, "announce", "done")).await).await;
        assert_eq!(answer["id"], 3);
        // The notification came after the answer, with nothing open to take
        // it: the stream opened next gets it first.
        let stream = f.get(Some(&session)).await;
        let logged = |m: &Value| m["method"] == "notifications/message";
        let messages = events(stream, |m| m.iter().any(logged)).await;
        let message = messages.iter().find(|m| logged(m)).unwrap();
        assert_eq!(message["params"]["data"], "announced");
    })
    .await;
}

#[tokio::test]
async fn shutting_down_ends_the_sessions() {
    within(async {
        let f = Fixture::start().await;
        let session = f.initialize().await;
        let stream = f.get(Some(&session)).await;
        f.handle.shutdown();
        // The open stream ends instead of hanging.
        let messages = events(stream, |_| false).await;
        assert!(messages.is_empty());
    })
    .await;
}
