// Argument rules as the rule editor holds them while the person types: one
// flat shape for every kind, turned back into the engine's `ArgRule`s for
// the preview and for saving.
import type { ArgKind } from "../bindings/ArgKind";
import type { ArgRule } from "../bindings/ArgRule";
import type { ArgumentRules } from "../bindings/ArgumentRules";
import type { Refusal } from "../bindings/Refusal";

export type RuleKind = ArgRule["kind"];

/** Each kind of rule: its label in the editor and what its value is. */
export const ruleKinds: { kind: RuleKind; label: string; value: string; placeholder: string }[] = [
  { kind: "path_allow", label: "Path allow", value: "Glob", placeholder: "~/projects/**" },
  { kind: "path_deny", label: "Path deny", value: "Glob", placeholder: "**/.ssh/**" },
  { kind: "domain_allow", label: "Domain allow", value: "Domain", placeholder: "*.example.com" },
  { kind: "domain_deny", label: "Domain deny", value: "Domain", placeholder: "evil.example" },
  { kind: "schemes", label: "Schemes", value: "Schemes", placeholder: "https" },
  { kind: "methods", label: "Methods", value: "Methods", placeholder: "GET, HEAD" },
  { kind: "pattern", label: "Regex", value: "Regex", placeholder: "(?i)password" },
];

export const argKinds: ArgKind[] = ["path", "url", "method", "plain"];

/** One rule being edited. */
export interface DraftRule {
  kind: RuleKind;
  /** The argument it applies to; empty: every argument of its kind. */
  argument: string;
  /** The glob, domain or regex; for schemes and methods, a list. */
  value: string;
  /** What a regex match gets. */
  onMatch: Refusal;
}

/** One explicit argument kind being edited. */
export interface DraftKind {
  argument: string;
  kind: ArgKind;
}

/** The whole editor's state for one tool. */
export interface Draft {
  rules: DraftRule[];
  kinds: DraftKind[];
  unmatched: Refusal;
}

const list = (value: string) => value.split(/[\s,]+/).filter(Boolean);

function valueOf(rule: ArgRule): string {
  switch (rule.kind) {
    case "path_allow":
    case "path_deny":
      return rule.glob;
    case "domain_allow":
    case "domain_deny":
      return rule.domain;
    case "schemes":
      return rule.schemes.join(", ");
    case "methods":
      return rule.methods.join(", ");
    case "pattern":
      return rule.regex;
  }
}

export function toDraft(rules: ArgumentRules): Draft {
  return {
    rules: rules.rules.map((rule) => ({
      kind: rule.kind,
      argument: rule.argument ?? "",
      value: valueOf(rule),
      onMatch: rule.kind === "pattern" ? rule.on_match : "deny",
    })),
    kinds: Object.entries(rules.kinds).map(([argument, kind]) => ({ argument, kind })),
    unmatched: rules.unmatched,
  };
}

export const emptyRule = (): DraftRule => ({
  kind: "path_allow",
  argument: "",
  value: "",
  onMatch: "deny",
});

function fromDraftRule({ kind, argument, value, onMatch }: DraftRule): ArgRule {
  const where = argument.trim() ? { argument: argument.trim() } : {};
  const text = value.trim();
  switch (kind) {
    case "path_allow":
    case "path_deny":
      return { ...where, kind, glob: text };
    case "domain_allow":
    case "domain_deny":
      return { ...where, kind, domain: text };
    case "schemes":
      return { ...where, kind, schemes: list(text).map((s) => s.toLowerCase()) };
    case "methods":
      return { ...where, kind, methods: list(text).map((m) => m.toUpperCase()) };
    case "pattern":
      return { ...where, kind, regex: value, on_match: onMatch };
  }
}

/**
 * The engine's rules for `draft`, or the first thing the person still has
 * to fill in (rules are numbered from 1, as the editor shows them).
 */
export function fromDraft(draft: Draft): { rules: ArgumentRules } | { problem: string } {
  const kinds: ArgumentRules["kinds"] = {};
  for (const [i, rule] of draft.rules.entries()) {
    if (rule.value.trim() === "") {
      const what = ruleKinds.find((k) => k.kind === rule.kind)?.value ?? "value";
      return { problem: `Rule ${i + 1} needs a ${what.toLowerCase()}.` };
    }
  }
  for (const { argument, kind } of draft.kinds) {
    const name = argument.trim();
    if (name === "") return { problem: "Name the argument each kind is for." };
    if (name in kinds) return { problem: `The kind of "${name}" is set twice.` };
    kinds[name] = kind;
  }
  return { rules: { rules: draft.rules.map(fromDraftRule), kinds, unmatched: draft.unmatched } };
}
