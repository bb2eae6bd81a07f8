//! Whether a client request goes on to the server: what the proxy learns
//! from it (client, protocol, list-change listeners) and what the policy
//! says about a `tools/call`.

use std::sync::Arc;

use super::message::{INTERNAL_ERROR, IdKey, Message, RequestParams};
use super::{Call, Proxy};
use crate::policy::Decision;

/// Why a request is not forwarded, and how to answer it.
pub(super) struct Refusal {
    pub code: i64,
    pub reason: String,
    pub call: Call,
    /// Answer with an `isError` tool result rather than a JSON-RPC error.
    pub as_tool_result: bool,
}

impl Proxy {
    /// Decides whether a client request goes to the server. Registers it as
    /// pending if so; returns the refusal otherwise.
    pub(super) fn admit_request(
        &self,
        msg: &Message<'_>,
        mut call: Call,
    ) -> Result<(), Box<Refusal>> {
        let method = msg.method().unwrap_or_default();
        let params = RequestParams::of(msg.params());
        let mut state = self.state();
        if state.client.is_none() {
            state.client = params
                .client_info
                .as_ref()
                .or(params.meta.as_ref().and_then(|m| m.client_info.as_ref()))
                .map(|c| Arc::<str>::from(c.name.as_ref()));
        }
        if let Some(v) = params
            .meta
            .as_ref()
            .and_then(|m| m.protocol_version.as_deref())
            && state.protocol.as_deref() != Some(v)
        {
            state.protocol = Some(v.to_string());
        }
        call.method = Some(method.to_string());
        match method {
            "initialize" => {
                state.session_style = true;
                if let Some(v) = params.protocol_version.as_deref() {
                    state.protocol = Some(v.to_string());
                }
            }
            "subscriptions/listen" => {
                let wants_tools = params
                    .notifications
                    .and_then(|n| serde_json::from_str::<serde_json::Value>(n.get()).ok())
                    .is_some_and(|n| n["toolsListChanged"] == true);
                if let (true, Some(id)) = (wants_tools, msg.id()) {
                    state.tool_listeners.push(IdKey::of(id));
                }
            }
            "tools/call" => {
                let name = params.name.as_deref().unwrap_or_default();
                call.tool = Some(name.to_string());
                call.arguments = params.arguments.map(|a| a.get().to_string());
                // The database refuses records: calls stop until it takes
                // them again (the spool keeps what was recorded).
                let trouble = self.audit.trouble();
                let refusal = match &**self.policy.load() {
                    Ok(_) if trouble.is_some() => trouble.map(|trouble| format!(
                        "Gatehouse refused the call to tool '{name}': {trouble}. Nothing was sent to the server."
                    )),
                    Ok(policy) => match policy.decide(name).decision {
                        Decision::Allow => None,
                        decision => Some(self.refusal_text(name, decision)),
                    },
                    Err(reason) => Some(format!(
                        "Gatehouse refused the call to tool '{name}' because it cannot read its policy: {reason}. Nothing was sent to the server."
                    )),
                };
                if let Some(reason) = refusal {
                    return Err(Box::new(Refusal {
                        code: INTERNAL_ERROR,
                        reason,
                        call,
                        as_tool_result: true,
                    }));
                }
            }
            _ => {}
        }
        if let Some(down) = &state.upstream_down {
            return Err(Box::new(Refusal {
                code: INTERNAL_ERROR,
                reason: down.clone(),
                call,
                as_tool_result: false,
            }));
        }
        if let Some(id) = msg.id() {
            state.pending.insert(IdKey::of(id), call);
        }
        Ok(())
    }

    fn refusal_text(&self, tool: &str, decision: Decision) -> String {
        let server = &self.cfg.server;
        let why = match decision {
            Decision::Deny => format!("the tool '{tool}' of server '{server}' is set to deny"),
            Decision::Ask => format!(
                "the tool '{tool}' of server '{server}' is set to ask, and approvals are not available in this version of Gatehouse"
            ),
            Decision::Allow => unreachable!("allowed calls are not refused"),
        };
        format!(
            "Gatehouse refused this call: {why}. Nothing was sent to the server. To allow it, run `gatehouse policy set {server} {tool} allow` or change it on the server's page in the Gatehouse app."
        )
    }
}
