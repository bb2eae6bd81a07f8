//! Whether a client request goes on to the server: what the proxy learns
//! from it (client, protocol, list-change listeners) and what the policy
//! says about a `tools/call`.

use std::sync::Arc;

use super::message::{INTERNAL_ERROR, IdKey, Message, RequestParams};
use serde_json::value::RawValue;

use super::{Call, Proxy, State};
use crate::Store;
use crate::approvals::{Answer, ApprovalRequest};
use crate::policy::{Decision, PolicySnapshot, Rule, Verdict};

/// A request that does not go on at once: refused, or waiting for the
/// person.
pub(super) enum Held {
    /// Answered by Gatehouse.
    Refused(Refusal),
    /// A `tools/call` the policy asks about.
    Asking(Asking),
}

/// A call waiting for approval, and what its audit record starts from.
pub(super) struct Asking {
    pub request: Box<ApprovalRequest>,
    pub call: Call,
}

/// What the policy makes of a call.
enum Judgement {
    Go,
    Refuse(String),
    Ask(Box<ApprovalRequest>),
}

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
    /// pending if so; returns the refusal, or the approval to wait for,
    /// otherwise.
    pub(super) fn admit_request(&self, msg: &Message<'_>, mut call: Call) -> Result<(), Box<Held>> {
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
                if let Some(reason) = self.quarantined_call(&state, name) {
                    return Err(Box::new(Held::Refused(Refusal {
                        code: super::pins::INVALID_PARAMS,
                        reason,
                        call,
                        as_tool_result: false,
                    })));
                }
                let trouble = self.audit.trouble();
                let judged = match &**self.policy.load() {
                    Ok(_) if trouble.is_some() => Judgement::Refuse(format!(
                        "Gatehouse refused the call to tool '{name}': {}. Nothing was sent to the server.",
                        trouble.map(|t| t.to_string()).unwrap_or_default()
                    )),
                    Ok(policy) => self.judge_call(&mut state, policy, name, params.arguments),
                    Err(reason) => Judgement::Refuse(format!(
                        "Gatehouse refused the call to tool '{name}' because it cannot read its policy: {reason}. Nothing was sent to the server."
                    )),
                };
                match judged {
                    Judgement::Go => {}
                    Judgement::Refuse(reason) => {
                        return Err(Box::new(Held::Refused(Refusal {
                            code: INTERNAL_ERROR,
                            reason,
                            call,
                            as_tool_result: true,
                        })));
                    }
                    // A server that is down cannot take the call anyway:
                    // say so rather than ask.
                    Judgement::Ask(request) if state.upstream_down.is_none() => {
                        return Err(Box::new(Held::Asking(Asking { request, call })));
                    }
                    Judgement::Ask(_) => {}
                }
            }
            _ => {}
        }
        if let Some(down) = &state.upstream_down {
            return Err(Box::new(Held::Refused(Refusal {
                code: INTERNAL_ERROR,
                reason: down.clone(),
                call,
                as_tool_result: false,
            })));
        }
        if let Some(id) = msg.id() {
            state.pending.insert(IdKey::of(id), call);
        }
        Ok(())
    }

    /// The policy's verdict on a call, then the flow rule and the rate
    /// limits: go on, refuse (and why), or ask the person.
    fn judge_call(
        &self,
        state: &mut State,
        policy: &PolicySnapshot,
        tool: &str,
        arguments: Option<&RawValue>,
    ) -> Judgement {
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
        let session_allowed =
            verdict.decision == Decision::Ask && state.session_allowed.contains(tool);
        match verdict.decision {
            Decision::Allow => {}
            Decision::Ask if session_allowed => {}
            Decision::Deny => return Judgement::Refuse(self.refusal_text(tool, &verdict)),
            Decision::Ask => {
                return match &self.cfg.approvals {
                    Some(approvals) => Judgement::Ask(Box::new(self.approval_request(
                        state,
                        policy,
                        tool,
                        arguments,
                        &verdict,
                        approvals.timeout,
                    ))),
                    None => Judgement::Refuse(self.refusal_text(tool, &verdict)),
                };
            }
        }
        if let Some(exceeded) = self.take_rate(state, policy, tool) {
            return Judgement::Refuse(exceeded);
        }
        if reads_private {
            state.read_private = true;
        }
        Judgement::Go
    }

    /// What the popup shows for a call the policy asks about.
    fn approval_request(
        &self,
        state: &mut State,
        policy: &PolicySnapshot,
        tool: &str,
        arguments: Option<&RawValue>,
        verdict: &Verdict,
        timeout: std::time::Duration,
    ) -> ApprovalRequest {
        state.approvals_asked += 1;
        let risk = policy.risk(tool);
        // Redacted first, then pretty-printed for the person.
        let arguments = arguments
            .map(|a| self.audit.redactor().json(a.get()))
            .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| "{}".to_string());
        ApprovalRequest {
            id: format!("{}-{}", self.cfg.session, state.approvals_asked),
            server: self.cfg.server.to_string(),
            tool: tool.to_string(),
            client: state.client.as_deref().map(str::to_string),
            session: self.cfg.session.to_string(),
            arguments,
            rule: verdict.rule.describe().to_string(),
            detail: verdict.detail.clone(),
            risk: risk.tier.as_str().to_string(),
            reasons: risk.reasons.into_iter().map(|r| r.message).collect(),
            requested_at: crate::now_micros(),
            timeout_secs: u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX),
        }
    }

    /// After the person allowed a call: "allow for this session" is
    /// remembered, the rate limits are counted, and a read of private data
    /// noted for the flow rule. `Err` with the refusal if a rate limit is
    /// reached.
    pub(super) fn approved(&self, tool: &str, answer: &Answer) -> Result<(), String> {
        let mut state = self.state();
        if *answer == Answer::AllowSession {
            state.session_allowed.insert(tool.to_string());
        }
        let policy = self.policy.load();
        let Ok(policy) = &**policy else {
            return Ok(());
        };
        if let Some(exceeded) = self.take_rate(&mut state, policy, tool) {
            return Err(exceeded);
        }
        if policy.marks(tool).0 {
            state.read_private = true;
        }
        Ok(())
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
                "the tool '{tool}' of server '{server}' needs approval ({}), and this proxy has no way to ask",
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
