//! Whether a client request goes on to the server: what the proxy learns
//! from it (client, protocol, list-change listeners) and what the policy
//! says about a `tools/call`.

use std::sync::Arc;

use super::message::{INTERNAL_ERROR, IdKey, Message, RequestParams};
use serde_json::value::RawValue;

use super::{Call, Proxy, State};
use crate::Store;
use crate::policy::{Decision, PolicySnapshot, Rule, Verdict};

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
                    Ok(policy) => self.judge_call(&mut state, policy, name, params.arguments),
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

    /// The policy's verdict on a call, then the flow rule and the rate
    /// limits; `None` if the call may go on, else why not.
    fn judge_call(
        &self,
        state: &mut State,
        policy: &PolicySnapshot,
        tool: &str,
        arguments: Option<&RawValue>,
    ) -> Option<String> {
        let mut verdict = policy.decide(tool, arguments);
        let (reads_private, sends_out) = policy.marks(tool);
        if verdict.decision == Decision::Allow && sends_out && state.read_private {
            verdict = Verdict {
                decision: Decision::Ask,
                rule: Rule::FlowRule,
                detail: Some(format!(
                    "this session read private data earlier, and '{tool}' sends data out"
                )),
            };
        }
        if verdict.decision != Decision::Allow {
            return Some(self.refusal_text(tool, &verdict));
        }
        if let Some(exceeded) = self.take_rate(state, policy, tool) {
            return Some(exceeded);
        }
        if reads_private {
            state.read_private = true;
        }
        None
    }

    /// Counts the call against the tool's and the server's rate limits;
    /// the refusal if one is reached (or cannot be checked).
    fn take_rate(&self, state: &mut State, policy: &PolicySnapshot, tool: &str) -> Option<String> {
        let (own, server) = policy.limits(tool);
        for (key, limit) in [(tool, own), ("", server)] {
            let Some(limit) = limit else { continue };
            let server_name = &*self.cfg.server;
            let taken = self.rate_store(state).and_then(|store| {
                store
                    .rate_take(server_name, key, limit)
                    .map_err(|e| e.to_string())
            });
            let whose = if key.is_empty() {
                format!("the server '{server_name}'")
            } else {
                format!("the tool '{tool}' of server '{server_name}'")
            };
            match taken {
                Ok(Ok(())) => {}
                Ok(Err(exceeded)) => {
                    return Some(format!(
                        "Gatehouse refused this call: {whose} may be called at most {limit}, and that limit is reached. Try again in {}. Nothing was sent to the server.",
                        human_duration(exceeded.retry_after)
                    ));
                }
                Err(e) => {
                    return Some(format!(
                        "Gatehouse refused this call: {whose} has a rate limit ({limit}) that cannot be checked: {e}. Nothing was sent to the server."
                    ));
                }
            }
        }
        None
    }

    /// The store rate limits are counted in, opened on first use.
    fn rate_store<'s>(&self, state: &'s mut State) -> Result<&'s mut Store, String> {
        if state.rates.is_none() {
            let path = self
                .cfg
                .database
                .as_ref()
                .ok_or_else(|| "this proxy has no database".to_string())?;
            state.rates = Some(Store::open_path(path).map_err(|e| e.to_string())?);
        }
        Ok(state.rates.as_mut().expect("opened above"))
    }

    fn refusal_text(&self, tool: &str, verdict: &Verdict) -> String {
        let server = &self.cfg.server;
        let by = verdict.rule.describe();
        let why = match (verdict.decision, &verdict.detail) {
            (Decision::Deny, Some(detail)) => format!("{detail} (denied by {by})"),
            (Decision::Deny, None) if verdict.rule == Rule::ToolSwitch => {
                format!("the tool '{tool}' of server '{server}' is set to deny")
            }
            (Decision::Deny, None) => {
                format!("the tool '{tool}' of server '{server}' is denied by {by}")
            }
            (_, detail) => format!(
                "the tool '{tool}' of server '{server}' needs approval ({}), and approvals are not available in this version of Gatehouse",
                match detail {
                    Some(detail) => format!("{detail}; asked by {by}"),
                    None => format!("asked by {by}"),
                }
            ),
        };
        format!(
            "Gatehouse refused this call: {why}. Nothing was sent to the server. To allow it, run `gatehouse policy set {server} {tool} allow` or change it on the server's page in the Gatehouse app."
        )
    }
}

/// "12 min 5 s", "3 s", "1 h 2 min": how long to wait, for people.
fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use std::time::Duration;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(2500)), "3 s");
        assert_eq!(human_duration(Duration::from_secs(725)), "12 min 5 s");
        assert_eq!(human_duration(Duration::from_secs(120)), "2 min");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1 h 2 min");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2 h");
    }
}
