//! A bridge's session from the first exchange to the last: `initialize`
//! and the era it tells, initializing again after a 404 or for a stateless
//! client of an older server, notifications and responses to the server,
//! the HTTP+SSE channel, cancelling, and the closing DELETE.

use super::*;

impl Bridge {
    /// Sends a notification or a response to the server.
    pub(super) async fn deliver(&self, line: Bytes) {
        if self.era() == Era::Legacy {
            let channel = self.state().legacy.clone();
            if let Some(channel) = channel {
                let _ = channel.post(self, line).await;
            }
            return;
        }
        let mut reauthorized = false;
        loop {
            let response = match self.post(line.clone(), None).await {
                Ok(response) => response,
                Err(e) => {
                    eprintln!("gatehouse: {}: {e}", self.cfg.server);
                    return;
                }
            };
            if !reauthorized && is_challenge(&response) {
                reauthorized = true;
                if self.reauthorize(&response).await.is_ok() {
                    continue;
                }
            }
            if !response.status().is_success() {
                eprintln!(
                    "gatehouse: {}: the server refused a notification (HTTP {})",
                    self.cfg.server,
                    response.status().as_u16()
                );
            }
            return;
        }
    }

    /// The client's `initialize`: the first exchange, which tells the era.
    /// Runs with `init` held.
    pub(super) async fn initialize(
        self: &Arc<Self>,
        line: Bytes,
        id: &IdKey,
    ) -> Result<Vec<u8>, String> {
        let mut reauthorized = false;
        loop {
            let head = Head {
                method: HeaderValue::from_static("initialize"),
                name: None,
                protocol: None,
                params: Vec::new(),
            };
            let response = self.post(line.clone(), Some(&head)).await?;
            let status = response.status();
            if status.is_success() && status != StatusCode::ACCEPTED {
                let session = response.headers().get(SESSION_ID).cloned();
                let answer = self.read_answer(response, id).await?;
                self.begin_session(session, &answer, Some(line));
                return Ok(answer);
            }
            if !reauthorized && is_challenge(&response) {
                reauthorized = true;
                self.reauthorize(&response).await?;
                continue;
            }
            let body = read_body(response).await.unwrap_or_default();
            if matches!(status.as_u16(), 400 | 404 | 405) && answer_in_body(&body, id).is_none() {
                // Not a Streamable HTTP endpoint: perhaps HTTP+SSE.
                return legacy::start(self, line, id).await.map_err(|legacy| {
                    format!(
                        "{}; trying the older HTTP+SSE transport: {legacy}",
                        http_error(status, &body)
                    )
                });
            }
            return answer_in_body(&body, id).ok_or_else(|| http_error(status, &body));
        }
    }

    /// Records a new session from an `initialize` answer.
    pub(in crate::remote) fn begin_session(
        &self,
        session: Option<HeaderValue>,
        answer: &[u8],
        initialize: Option<Bytes>,
    ) {
        let protocol = protocol_of(answer).and_then(|v| HeaderValue::from_str(&v).ok());
        let mut state = self.state();
        if state.era != Era::Legacy {
            state.era = Era::Session;
        }
        state.session = session;
        state.protocol = protocol;
        if initialize.is_some() {
            state.initialize = initialize;
        }
        state.generation += 1;
    }

    /// The session expired (404): initialize again with the client's own
    /// `initialize`, under an id of Gatehouse's, and swallow the answer.
    pub(super) async fn reinitialize(&self, failed: u64) -> Result<(), String> {
        let _init = self.init.lock().await;
        let initialize = {
            let state = self.state();
            if state.generation != failed {
                return Ok(());
            }
            state.initialize.clone()
        };
        let Some(initialize) = initialize else {
            return Err("the server ended the session".into());
        };
        self.state().session = None;
        self.handshake(&initialize).await
    }

    /// `initialize` (an earlier one, with a fresh id) and `initialized`,
    /// answered to nobody: the client already had its answer.
    pub(in crate::remote) async fn handshake(&self, initialize: &[u8]) -> Result<(), String> {
        let (body, id) = with_own_id(initialize, self.next_own_id())?;
        let head = Head {
            method: HeaderValue::from_static("initialize"),
            name: None,
            protocol: None,
            params: Vec::new(),
        };
        let response = self.post(body.into(), Some(&head)).await?;
        let status = response.status();
        if !status.is_success() {
            let body = read_body(response).await.unwrap_or_default();
            return Err(format!(
                "starting a new session failed: {}",
                http_error(status, &body)
            ));
        }
        let session = response.headers().get(SESSION_ID).cloned();
        let answer = self.read_answer(response, &id).await?;
        if Message::parse(&answer).is_ok_and(|(_, m)| m.error().is_some()) {
            return Err(format!(
                "starting a new session failed: {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        self.begin_session(session, &answer, None);
        let initialized =
            Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        let _ = self.post(initialized, None).await?;
        if let Some(old) = self.state().listening.take() {
            old.abort();
        }
        Ok(())
    }

    /// A client of the stateless revision met an older server: initialize
    /// on its behalf, with the identity its request carries.
    pub(super) async fn initialize_for_stateless(&self, request: &[u8]) -> Result<(), String> {
        #[derive(serde::Deserialize, Default)]
        struct Meta {
            #[serde(rename = "io.modelcontextprotocol/clientInfo")]
            client_info: Option<serde_json::Value>,
            #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
            capabilities: Option<serde_json::Value>,
        }
        #[derive(serde::Deserialize, Default)]
        struct Params {
            #[serde(rename = "_meta", default)]
            meta: Meta,
        }
        #[derive(serde::Deserialize)]
        struct Request {
            #[serde(default)]
            params: Params,
        }
        let meta = serde_json::from_slice::<Request>(request)
            .map(|r| r.params.meta)
            .unwrap_or_default();
        let initialize = serde_json::json!({
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": FALLBACK_PROTOCOL,
                "capabilities": meta.capabilities.unwrap_or_else(|| serde_json::json!({})),
                "clientInfo": meta.client_info.unwrap_or_else(|| serde_json::json!({"name": "gatehouse", "version": env!("CARGO_PKG_VERSION")})),
            }
        });
        let initialize = Bytes::from(serde_json::to_vec(&initialize).expect("JSON serialises"));
        self.state().era = Era::Session;
        self.handshake(&initialize).await?;
        self.state().initialize = Some(initialize);
        Ok(())
    }

    pub(in crate::remote) fn next_own_id(&self) -> u64 {
        let mut state = self.state();
        state.requests += 1;
        state.requests
    }

    /// Tells a session-era server that a request was given up.
    pub(super) async fn cancel_upstream(&self, id: &IdKey) {
        if self.era() != Era::Session {
            return;
        }
        let note = format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{},"reason":"Gatehouse timed the request out"}}}}"#,
            id.to_json()
        );
        let _ = self.post(note.into(), None).await;
    }

    /// A request on the HTTP+SSE transport. A stream that ended took the
    /// server's session with it: a new one is opened first.
    pub(super) async fn legacy_request(
        self: &Arc<Self>,
        line: Bytes,
        id: &IdKey,
    ) -> Result<Vec<u8>, String> {
        let open = self.state().legacy.clone().filter(|c| !c.is_closed());
        let channel = match open {
            Some(channel) => channel,
            None => {
                let _init = self.init.lock().await;
                let (current, initialize) = {
                    let state = self.state();
                    (state.legacy.clone(), state.initialize.clone())
                };
                match current.filter(|c| !c.is_closed()) {
                    Some(channel) => channel,
                    None => {
                        let initialize = initialize.ok_or("the HTTP+SSE stream is closed")?;
                        legacy::reopen(self, &initialize).await.map_err(|e| {
                            format!("the HTTP+SSE stream closed and reopening it failed: {e}")
                        })?;
                        self.state()
                            .legacy
                            .clone()
                            .ok_or("the HTTP+SSE stream is closed")?
                    }
                }
            }
        };
        channel.request(self, line, id).await
    }

    pub(in crate::remote) fn set_legacy(&self, channel: Arc<legacy::Channel>) {
        let mut state = self.state();
        state.era = Era::Legacy;
        state.legacy = Some(channel);
    }

    /// The client has gone: let its last requests finish briefly, then end
    /// the session (DELETE), as the spec asks of a client that leaves.
    pub(super) async fn close(&self) {
        let deadline = tokio::time::Instant::now() + CLOSING_GRACE;
        while !self.state().inflight.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (session, legacy) = {
            let mut state = self.state();
            for (_, (_, task)) in state.inflight.drain() {
                task.abort();
            }
            if let Some(task) = state.listening.take() {
                task.abort();
            }
            (state.session.take(), state.legacy.take())
        };
        if let Some(channel) = legacy {
            channel.close();
        }
        let Some(session) = session else { return };
        let mut request = self
            .cfg
            .http
            .delete(self.cfg.url.clone())
            .headers(&self.cfg.headers)
            .header(SESSION_ID, session)
            .timeout(CLOSING_GRACE);
        if let Some(protocol) = self.state().protocol.clone() {
            request = request.header(PROTOCOL_VERSION, protocol);
        }
        if let Ok(request) = self.authorize(request).await {
            let _ = request.send().await;
        }
    }
}
