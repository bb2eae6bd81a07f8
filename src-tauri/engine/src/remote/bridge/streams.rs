//! The bridge's event streams: an SSE answer read up to the response it
//! carries, a broken one resumed with `Last-Event-ID`, and the session's GET
//! stream of the server's own messages.

use super::*;

impl Bridge {
    /// The answer to `id` in a successful response: its JSON body, or the
    /// SSE stream's messages (each forwarded) up to the one answering it.
    pub(super) async fn read_answer(
        &self,
        response: Response,
        id: &IdKey,
    ) -> Result<Vec<u8>, String> {
        if !is_event_stream(&response) {
            let body = read_body(response).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err("the server answered with an empty body".into());
            }
            return Ok(one_line(body));
        }
        let mut response = response;
        let mut parser = sse::Parser::new(MAX_MESSAGE_BYTES);
        let mut events = Vec::new();
        let mut last_event = None;
        let mut retry = Duration::from_millis(500);
        let mut resumed = 0;
        loop {
            let broke = match response.chunk().await {
                Ok(Some(chunk)) => {
                    parser
                        .feed(&chunk, &mut events)
                        .map_err(|e| format!("an event of {} bytes is over the limit", e.0))?;
                    for event in events.drain(..) {
                        if let Some(at) = event.id {
                            last_event = Some(at);
                        }
                        if let Some(ms) = event.retry {
                            retry = Duration::from_millis(ms.min(10_000));
                        }
                        if event.data.is_empty() {
                            continue;
                        }
                        let line = one_line(event.data);
                        if answers(&line, id) {
                            return Ok(line);
                        }
                        self.send(line);
                    }
                    continue;
                }
                Ok(None) => "the stream ended".to_string(),
                Err(e) => format!("the stream broke ({e})"),
            };
            // Streams of the session era can be resumed where they broke.
            let resumable = self.era() == Era::Session && last_event.is_some();
            if !resumable || resumed == RESUME_ATTEMPTS {
                return Err(format!("{broke} before the answer"));
            }
            resumed += 1;
            tokio::time::sleep(retry).await;
            response = self
                .resume(last_event.as_deref().unwrap_or_default())
                .await
                .map_err(|e| format!("{broke} before the answer, and resuming it failed: {e}"))?;
            parser = sse::Parser::new(MAX_MESSAGE_BYTES);
        }
    }

    /// GET with `Last-Event-ID`: the rest of a broken stream.
    pub(super) async fn resume(&self, last_event: &str) -> Result<Response, String> {
        let request = self.get_request().header(LAST_EVENT_ID, last_event);
        let response = self
            .authorize(request)
            .await?
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        if response.status() == StatusCode::OK && is_event_stream(&response) {
            Ok(response)
        } else {
            Err(format!("HTTP {}", response.status().as_u16()))
        }
    }

    /// A GET of the event stream, with the session's headers.
    pub(super) fn get_request(&self) -> http::RequestBuilder {
        let mut request = self
            .cfg
            .http
            .get(self.cfg.url.clone())
            .headers(&self.cfg.headers)
            .header(header::ACCEPT, EVENT_STREAM);
        let state = self.state();
        if let Some(session) = &state.session {
            request = request.header(SESSION_ID, session.clone());
        }
        if let Some(protocol) = &state.protocol {
            request = request.header(PROTOCOL_VERSION, protocol.clone());
        }
        request
    }

    /// Opens the GET stream of server-initiated messages, which the server
    /// may decline (405). A broken stream is resumed with `Last-Event-ID`.
    pub(super) fn listen(self: &Arc<Self>) {
        let bridge = self.clone();
        let task = tokio::spawn(async move {
            let mut last_event: Option<String> = None;
            let mut failures = 0u32;
            loop {
                let mut request = bridge.get_request();
                if let Some(at) = &last_event {
                    request = request.header(LAST_EVENT_ID, at.as_str());
                }
                let sent = match bridge.authorize(request).await {
                    Ok(request) => request.send().await,
                    Err(_) => return,
                };
                match sent {
                    Ok(response)
                        if response.status() == StatusCode::OK && is_event_stream(&response) =>
                    {
                        failures = 0;
                        bridge.forward_stream(response, &mut last_event).await;
                    }
                    // No stream offered, or the session is gone (the next
                    // request re-initializes, which listens again).
                    Ok(response) if matches!(response.status().as_u16(), 404 | 405) => return,
                    _ => failures += 1,
                }
                if failures > 5 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250 << failures.min(5))).await;
            }
        });
        if let Some(old) = self.state().listening.replace(task.abort_handle()) {
            old.abort();
        }
    }

    /// Forwards every message of a stream until it ends.
    pub(in crate::remote) async fn forward_stream(
        &self,
        mut response: Response,
        last_event: &mut Option<String>,
    ) {
        let mut parser = sse::Parser::new(MAX_MESSAGE_BYTES);
        let mut events = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            if parser.feed(&chunk, &mut events).is_err() {
                return;
            }
            for event in events.drain(..) {
                if event.id.is_some() {
                    *last_event = event.id;
                }
                if !event.data.is_empty() {
                    self.send(one_line(event.data));
                }
            }
        }
    }
}
