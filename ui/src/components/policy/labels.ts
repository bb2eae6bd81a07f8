// How the policy's codes read on screen: one place for the page, the rule
// editor and the confirmation dialog.
import type { Decision } from "../../lib/bindings/Decision";
import type { RiskTier } from "../../lib/bindings/RiskTier";
import type { Rule } from "../../lib/bindings/Rule";
import type { Tone } from "../ui/Badge.svelte";

export const decisionTone: Record<Decision, Tone> = {
  allow: "success",
  ask: "warning",
  deny: "danger",
};

export const riskTone: Record<RiskTier, Tone> = {
  low: "neutral",
  medium: "info",
  high: "warning",
  critical: "danger",
};

/** What decided a tool's decision, after "by". */
export const ruleLabel: Record<Rule, string> = {
  "tool-switch": "your switch",
  "server-default": "the server's default",
  "global-default": "the global default",
  "risk-tier": "its risk tier",
  "argument-rule": "an argument rule",
  "allow-rule": "an always-allow rule",
  "rate-limit": "a rate limit",
  "flow-rule": "the flow rule",
};
