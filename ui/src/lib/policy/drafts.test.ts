import { describe, expect, it } from "vitest";
import type { ArgumentRules } from "../bindings/ArgumentRules";
import { emptyRule, fromDraft, toDraft } from "./drafts";

const every: ArgumentRules = {
  rules: [
    { argument: "path", kind: "path_allow", glob: "/reports/**" },
    { kind: "path_deny", glob: "**/.ssh/**" },
    { kind: "domain_allow", domain: "*.example.com" },
    { kind: "domain_deny", domain: "evil.example" },
    { kind: "schemes", schemes: ["https"] },
    { argument: "method", kind: "methods", methods: ["GET", "HEAD"] },
    { kind: "pattern", regex: "(?i)password", on_match: "ask" },
  ],
  kinds: { "files.path": "path", target: "url" },
  unmatched: "ask",
};

describe("drafts", () => {
  it("round-trips every kind of rule", () => {
    expect(fromDraft(toDraft(every))).toEqual({ rules: every });
  });

  it("reads lists and trims what the person typed", () => {
    const draft = toDraft({ rules: [], kinds: {}, unmatched: "deny" });
    draft.rules.push(
      { kind: "methods", argument: " verb ", value: "get, post  put", onMatch: "deny" },
      { kind: "schemes", argument: "", value: "HTTPS", onMatch: "deny" },
      { kind: "path_allow", argument: "", value: " ~/docs/** ", onMatch: "deny" },
    );
    expect(fromDraft(draft)).toEqual({
      rules: {
        rules: [
          { argument: "verb", kind: "methods", methods: ["GET", "POST", "PUT"] },
          { kind: "schemes", schemes: ["https"] },
          { kind: "path_allow", glob: "~/docs/**" },
        ],
        kinds: {},
        unmatched: "deny",
      },
    });
  });

  it("names the first rule still missing its value", () => {
    const draft = toDraft(every);
    draft.rules.push(emptyRule());
    expect(fromDraft(draft)).toEqual({ problem: "Rule 8 needs a glob." });
  });

  it("refuses a kind without an argument or set twice", () => {
    const draft = toDraft({ rules: [], kinds: {}, unmatched: "deny" });
    draft.kinds.push({ argument: " ", kind: "url" });
    expect(fromDraft(draft)).toEqual({ problem: "Name the argument each kind is for." });
    draft.kinds = [
      { argument: "a", kind: "url" },
      { argument: "a ", kind: "path" },
    ];
    expect(fromDraft(draft)).toEqual({ problem: 'The kind of "a" is set twice.' });
  });
});
