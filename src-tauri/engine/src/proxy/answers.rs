//! Answers the proxy gives itself, each recorded before it is sent: refused
//! calls, unusable messages, and requests a failed server can no longer
//! answer. Also the audit record built from a [`Call`] and its outcome.

use tokio::io::AsyncWrite;

use super::message::{self, INTERNAL_ERROR, IdKey};
use super::relay::Outbox;
use super::{Call, Proxy};
use crate::audit::{AuditDecision, AuditRecord};

/// How a call ended, for its audit record.
pub(super) struct Outcome {
    pub decision: AuditDecision,
    /// Why Gatehouse refused or failed it.
    pub reason: Option<String>,
    /// Bytes of the answer sent to the client.
    pub result_size: usize,
    pub is_error: Option<bool>,
    /// The JSON-RPC error object, as JSON.
    pub rpc_error: Option<String>,
    /// A tool call's result: whole, or its first bytes and the whole one's
    /// SHA-256.
    pub result: Option<(String, Option<[u8; 32]>)>,
}

impl Outcome {
    /// Gatehouse answered with a JSON-RPC error `body` for `reason`.
    fn failed(code: i64, reason: &str, body: &[u8]) -> Self {
        Self {
            decision: AuditDecision::Error,
            reason: Some(reason.to_string()),
            result_size: body.len(),
            is_error: None,
            rpc_error: Some(serde_json::json!({ "code": code, "message": reason }).to_string()),
            result: None,
        }
    }
}

impl Proxy {
    pub(super) fn record(&self, call: Call, outcome: Outcome) -> AuditRecord {
        let (result, result_hash) = outcome.result.unzip();
        AuditRecord {
            time: call.time,
            session: self.cfg.session.clone(),
            client: self.client_name(),
            server: self.cfg.server.clone(),
            method: call.method,
            tool: call.tool,
            arguments: call.arguments,
            decision: outcome.decision,
            reason: outcome.reason,
            result_size: Some(outcome.result_size as i64),
            is_error: outcome.is_error,
            rpc_error: outcome.rpc_error,
            result,
            result_hash: result_hash.flatten(),
            latency_us: call.received.elapsed().as_micros() as i64,
            seq: None,
        }
    }

    /// Answers a refused `tools/call` with an `isError` tool result.
    pub(super) async fn deny_call<W: AsyncWrite + Unpin>(
        &self,
        out: &Outbox<W>,
        id: Option<&IdKey>,
        call: Call,
        reason: String,
    ) {
        let id_json = id.map(IdKey::to_json);
        let body = message::tool_error_result(id_json.as_deref().unwrap_or("null"), &reason);
        let outcome = Outcome {
            decision: AuditDecision::Denied,
            result_size: body.len(),
            reason: Some(reason),
            is_error: Some(true),
            rpc_error: None,
            result: None,
        };
        self.answer_after_audit(out, self.record(call, outcome), body, id)
            .await;
    }

    /// Answers a request (or an unusable message) with a JSON-RPC error.
    pub(super) async fn refuse<W: AsyncWrite + Unpin>(
        &self,
        out: &Outbox<W>,
        id: Option<&IdKey>,
        code: i64,
        call: Call,
        reason: &str,
    ) {
        let id_json = id.map(IdKey::to_json);
        let body = message::error_response(id_json.as_deref(), code, reason);
        let record = self.record(call, Outcome::failed(code, reason, &body));
        self.answer_after_audit(out, record, body, id).await;
    }

    /// Sends `body` once `record` is committed; if it cannot be, the client
    /// gets the audit failure instead (fail closed).
    async fn answer_after_audit<W: AsyncWrite + Unpin>(
        &self,
        out: &Outbox<W>,
        record: AuditRecord,
        body: Vec<u8>,
        id: Option<&IdKey>,
    ) {
        match self.audit.record(record) {
            Ok(()) => out.send(&body, true).await,
            Err(e) => {
                let id_json = id.map(IdKey::to_json);
                let failure =
                    message::error_response(id_json.as_deref(), INTERNAL_ERROR, &e.to_string());
                out.send(&failure, true).await;
            }
        }
    }

    /// Marks the server as gone and hands back everything in flight, each
    /// with the reason to answer it with.
    pub(super) fn upstream_gone(&self, reason: &str) -> Vec<(IdKey, Call, String)> {
        let mut state = self.state();
        if state.upstream_down.is_none() {
            let hint = if self.cfg.log_hint.is_empty() {
                String::new()
            } else {
                format!("; its log is {}", self.cfg.log_hint)
            };
            state.upstream_down = Some(format!(
                "the server '{}' is not running: {reason}{hint}",
                self.cfg.server
            ));
        }
        let message = state.upstream_down.clone().unwrap_or_default();
        let mut failed: Vec<_> = state
            .pending
            .drain()
            .map(|(id, call)| (id, call, message.clone()))
            .collect();
        // Answered in the order they were asked.
        failed.sort_by_key(|(_, call, _)| call.received);
        failed
    }

    /// An unusable message from the server: the answer to the request it
    /// was for, if that can be told, so the client never waits forever.
    pub(super) fn fail_pending(&self, id: Option<IdKey>, reason: &str) -> Option<Vec<u8>> {
        let found = {
            let mut state = self.state();
            match id {
                Some(id) => state.pending.remove(&id).map(|call| (id, call)),
                // Only one request in flight: it must be the one.
                None if state.pending.len() == 1 => state.pending.drain().next(),
                None => None,
            }
        };
        match found {
            Some((id, call)) => Some(self.failure(id, call, reason)),
            None => {
                eprintln!("gatehouse: {reason}; it answered no pending request and was dropped");
                None
            }
        }
    }

    /// A JSON-RPC error for a pending request, recorded first.
    pub(super) fn failure(&self, id: IdKey, call: Call, reason: &str) -> Vec<u8> {
        let id = id.to_json();
        let body = message::error_response(Some(&id), INTERNAL_ERROR, reason);
        let record = self.record(call, Outcome::failed(INTERNAL_ERROR, reason, &body));
        match self.audit.record(record) {
            Ok(()) => body,
            Err(e) => message::error_response(Some(&id), INTERNAL_ERROR, &e.to_string()),
        }
    }
}
