import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { AllowRule } from "../../lib/bindings/AllowRule";
import type { ArgVerdict } from "../../lib/bindings/ArgVerdict";
import type { ServerPolicy } from "../../lib/bindings/ServerPolicy";
import type { ToolView } from "../../lib/bindings/ToolView";
import { tauriBackend } from "../../lib/ipc";
import { PolicyStore } from "../../lib/policy/policy.svelte";
import ServerDetail from "./ServerDetail.svelte";

// Unmount first: the page stops listening through the mocks.
afterEach(() => {
  cleanup();
  clearMocks();
});

const noRules = {
  args: { rules: [], kinds: {}, unmatched: "deny" as const },
  reads_private: null,
  sends_out: null,
  rate: null,
};

function tool(name: string, over: Partial<ToolView> = {}): ToolView {
  return {
    name,
    title: null,
    description: `What ${name} does.`,
    listed: true,
    switch: null,
    decision: "allow",
    rule: "risk-tier",
    risk: "low",
    reasons: [
      {
        signal: "nothing-found",
        tier: "low",
        evidence: "definition",
        word: null,
        message: "Nothing in its definition suggests harm.",
      },
    ],
    needs_confirmation: false,
    rules: noRules,
    reads_private: false,
    sends_out: false,
    ...over,
  };
}

const readFile = tool("read_file", { reads_private: true });
const deleteFile = tool("delete_file", {
  decision: "ask",
  risk: "critical",
  needs_confirmation: true,
  reasons: [
    {
      signal: "destroys",
      tier: "critical",
      evidence: "name",
      word: "delete",
      message: "Its name says it deletes (delete).",
    },
  ],
});

const allowRule: AllowRule = {
  id: 7,
  tool: "read_file",
  pattern: { path: "/reports/**" },
  origin: "approval",
  created_at: 1_790_000_000_000_000,
};

function policyOf(over: Partial<ServerPolicy> = {}): ServerPolicy {
  return {
    server: "office",
    default: null,
    global_default: null,
    rate: null,
    tools: [deleteFile, readFile],
    allow_rules: [allowRule],
    ...over,
  };
}

type Call = [string, Record<string, unknown>];

/** Renders the page over a mocked engine; `onChange` may refuse a change. */
async function renderPage(
  options: {
    policy?: ServerPolicy;
    onChange?: (change: Record<string, unknown>) => void;
    onPreview?: (args: Record<string, unknown>) => ArgVerdict;
  } = {},
) {
  const calls: Call[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push([cmd, a]);
      if (cmd === "policy_show") return options.policy ?? policyOf();
      if (cmd === "policy_change") return options.onChange?.(a.change as Record<string, unknown>);
      if (cmd === "policy_preview") return options.onPreview?.(a);
    },
    { shouldMockEvents: true },
  );
  render(ServerDetail, { policy: new PolicyStore(tauriBackend, "office") });
  await screen.findByRole("table", { name: "Tools" });
  return calls;
}

const changes = (calls: Call[]) =>
  calls.filter(([cmd]) => cmd === "policy_change").map(([, args]) => args);

function switchOf(name: string) {
  return screen.getByRole("radiogroup", { name: `${name} switch` });
}

describe("Server detail page", () => {
  it("shows each tool's risk, decision and what decided it, with the reasons on demand", async () => {
    await renderPage();
    const rows = within(screen.getByRole("table", { name: "Tools" })).getAllByRole("row");
    expect(rows[1]).toHaveTextContent("delete_file");
    expect(rows[1]).toHaveTextContent("critical");
    expect(rows[1]).toHaveTextContent("Calls ask by its risk tier");
    expect(within(switchOf("delete_file")).getByRole("radio", { name: "Default" })).toBeChecked();

    const why = screen.getByRole("button", { name: "Why delete_file is critical risk" });
    expect(why).toHaveAttribute("aria-expanded", "false");
    await fireEvent.click(why);
    expect(why).toHaveAttribute("aria-expanded", "true");
    const reasons = document.getElementById("reasons-delete_file");
    expect(reasons).toHaveTextContent("Its name says it deletes (delete).");
    expect(reasons).toHaveTextContent(
      "Flow marks in effect: reads private data no (auto), sends data out no (auto).",
    );
  });

  it("sends the switch the person picks, and none for Default", async () => {
    const calls = await renderPage({
      policy: policyOf({ tools: [tool("read_file", { switch: "allow", rule: "tool-switch" })] }),
    });
    await fireEvent.click(within(switchOf("read_file")).getByRole("radio", { name: "Deny" }));
    await fireEvent.click(within(switchOf("read_file")).getByRole("radio", { name: "Default" }));
    await waitFor(() => expect(changes(calls)).toHaveLength(2));
    expect(changes(calls)).toEqual([
      {
        server: "office",
        change: { change: "switch", tool: "read_file", decision: "deny", confirmed: false },
      },
      {
        server: "office",
        change: { change: "switch", tool: "read_file", decision: null, confirmed: false },
      },
    ]);
  });

  it("asks before always allowing a critical tool, then retries confirmed", async () => {
    const calls = await renderPage({
      onChange: (change) => {
        if (change.change === "switch" && change.decision === "allow" && !change.confirmed) {
          throw {
            code: "needs_confirmation",
            message: "'delete_file' of server 'office' is a critical tool",
          };
        }
      },
    });
    await fireEvent.click(within(switchOf("delete_file")).getByRole("radio", { name: "Allow" }));
    const dialog = await screen.findByRole("dialog", { name: "Always allow delete_file?" });
    expect(dialog).toHaveTextContent("Its name says it deletes (delete).");
    expect(screen.queryByRole("alert")).toBeNull();
    expect(changes(calls)).toHaveLength(1);

    await fireEvent.click(within(dialog).getByRole("button", { name: "Always allow" }));
    await waitFor(() => expect(changes(calls)).toHaveLength(2));
    expect(changes(calls)[1]).toEqual({
      server: "office",
      change: { change: "switch", tool: "delete_file", decision: "allow", confirmed: true },
    });
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("sends nothing more when the confirmation is cancelled", async () => {
    const calls = await renderPage({
      onChange: () => {
        throw { code: "needs_confirmation", message: "critical" };
      },
    });
    await fireEvent.click(within(switchOf("delete_file")).getByRole("radio", { name: "Allow" }));
    const dialog = await screen.findByRole("dialog", { name: "Always allow delete_file?" });
    await fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(changes(calls)).toHaveLength(1);
  });

  it("shows any other refusal from the engine", async () => {
    await renderPage({
      onChange: () => {
        throw { code: "database", message: "database error: disk is full" };
      },
    });
    await fireEvent.click(within(switchOf("read_file")).getByRole("radio", { name: "Ask" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("disk is full");
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("changes a flow mark and a tool's rate limit, keeping its other settings", async () => {
    const rules = { ...noRules, reads_private: true };
    const calls = await renderPage({ policy: policyOf({ tools: [tool("read_file", { rules })] }) });
    await fireEvent.click(
      within(screen.getByRole("radiogroup", { name: "read_file sends data out" })).getByRole(
        "radio",
        { name: "no" },
      ),
    );
    const rate = screen.getByRole("textbox", { name: "read_file rate limit" });
    await fireEvent.change(rate, { target: { value: "10/hour" } });
    await waitFor(() => expect(changes(calls)).toHaveLength(2));
    expect(changes(calls).map((c) => c.change)).toEqual([
      { change: "rules", tool: "read_file", rules: { ...rules, sends_out: false } },
      {
        change: "rules",
        tool: "read_file",
        rules: { ...rules, rate: { max: 10, window_secs: 3600 } },
      },
    ]);
  });

  it("refuses a rate limit it cannot read, without asking the engine", async () => {
    const calls = await renderPage();
    const rate = screen.getByRole("textbox", { name: "read_file rate limit" });
    await fireEvent.change(rate, { target: { value: "often" } });
    expect(await screen.findByRole("alert")).toHaveTextContent("CALLS/WINDOW");
    expect(rate).toHaveAttribute("aria-invalid", "true");
    expect(changes(calls)).toEqual([]);
  });

  it("sets the server default, the global default and the server's rate limit", async () => {
    const calls = await renderPage();
    await fireEvent.click(
      within(screen.getByRole("radiogroup", { name: "Server default" })).getByRole("radio", {
        name: "Deny",
      }),
    );
    await fireEvent.click(
      within(screen.getByRole("radiogroup", { name: "Global default" })).getByRole("radio", {
        name: "Ask",
      }),
    );
    const rate = screen.getByRole("textbox", { name: "Server rate limit" });
    await fireEvent.input(rate, { target: { value: "60/min" } });
    await fireEvent.submit(rate.closest("form")!);
    await waitFor(() => expect(changes(calls)).toHaveLength(3));
    expect(changes(calls).map((c) => c.change)).toEqual([
      { change: "server_default", decision: "deny" },
      { change: "global_default", decision: "ask" },
      { change: "server_rate", rate: { max: 60, window_secs: 60 } },
    ]);
  });

  it("lists the always-allow rules and removes one by id", async () => {
    const calls = await renderPage();
    const table = screen.getByRole("table", { name: "Always allowed" });
    expect(table).toHaveTextContent("path matches /reports/**");
    expect(table).toHaveTextContent("approval");
    await fireEvent.click(
      within(table).getByRole("button", {
        name: "Remove always allow read_file (path matches /reports/**)",
      }),
    );
    await waitFor(() => expect(changes(calls)).toHaveLength(1));
    expect(changes(calls)[0]!.change).toEqual({ change: "remove_allow_rule", id: 7 });
  });

  it("re-reads when another process changes the policy", async () => {
    let shown = policyOf();
    mockIPC((cmd) => (cmd === "policy_show" ? shown : undefined), { shouldMockEvents: true });
    render(ServerDetail, { policy: new PolicyStore(tauriBackend, "office") });
    await screen.findByRole("table", { name: "Tools" });
    shown = policyOf({ tools: [tool("read_file", { switch: "deny", decision: "deny" })] });
    await emit("store_changed", "policies");
    await waitFor(() =>
      expect(within(switchOf("read_file")).getByRole("radio", { name: "Deny" })).toBeChecked(),
    );
    expect(screen.queryByText("delete_file")).toBeNull();
  });
});

describe("Server detail page of a removed server", () => {
  it("says so instead of showing a stale policy", async () => {
    let removed = false;
    mockIPC(
      (cmd) => {
        if (cmd !== "policy_show") return;
        if (removed) throw { code: "server_not_found", message: "no server named 'office'" };
        return policyOf();
      },
      { shouldMockEvents: true },
    );
    render(ServerDetail, { policy: new PolicyStore(tauriBackend, "office") });
    await screen.findByRole("table", { name: "Tools" });
    removed = true;
    await emit("store_changed", "servers");
    expect(await screen.findByRole("region", { name: "No server named office" })).toBeVisible();
    expect(screen.queryByRole("table")).toBeNull();
    expect(screen.getByRole("link", { name: "All servers" })).toHaveAttribute("href", "#/servers");
  });
});

describe("Rule editor", () => {
  /** What the mocked engine makes of `{"path": …}`: allowed under /reports. */
  function judge(args: Record<string, unknown>): ArgVerdict {
    const path = (JSON.parse(args.arguments as string) as { path?: string }).path ?? "";
    if (path.startsWith("/reports/")) return { decision: "allow", reason: null };
    return {
      decision: "deny",
      reason: {
        problem: "path-not-allowed",
        argument: "path",
        rule: null,
        message: `argument 'path': ${path} matches no allowed path`,
      },
    };
  }

  async function openEditor(onPreview = judge) {
    const calls = await renderPage({ onPreview });
    await fireEvent.click(screen.getByRole("button", { name: "Argument rules for read_file" }));
    const dialog = await screen.findByRole("dialog", { name: "Argument rules for read_file" });
    return { calls, dialog: within(dialog) };
  }

  it("previews the rules being edited against the arguments typed", async () => {
    const { calls, dialog } = await openEditor();
    await fireEvent.click(dialog.getByRole("button", { name: "Add rule" }));
    await fireEvent.input(dialog.getByRole("textbox", { name: "Rule 1 argument" }), {
      target: { value: "path" },
    });
    await fireEvent.input(dialog.getByRole("textbox", { name: "Rule 1 glob" }), {
      target: { value: "/reports/**" },
    });
    const args = dialog.getByRole("textbox", { name: "Preview arguments" });
    await fireEvent.input(args, { target: { value: '{"path": "/etc/passwd"}' } });
    const verdict = dialog.getByRole("status", { name: "Preview verdict" });
    await waitFor(() => expect(verdict).toHaveTextContent("deny"));
    expect(verdict).toHaveTextContent("/etc/passwd matches no allowed path");

    await fireEvent.input(args, { target: { value: '{"path": "/reports/q4.txt"}' } });
    await waitFor(() =>
      expect(verdict).toHaveTextContent("allow The argument rules let this call through."),
    );

    const previews = calls.filter(([cmd]) => cmd === "policy_preview").map(([, a]) => a);
    expect(previews.at(-1)).toEqual({
      server: "office",
      tool: "read_file",
      rules: {
        rules: [{ argument: "path", kind: "path_allow", glob: "/reports/**" }],
        kinds: {},
        unmatched: "deny",
      },
      arguments: '{"path": "/reports/q4.txt"}',
    });
    expect(changes(calls)).toEqual([]);
  });

  it("says what is missing instead of previewing an unfinished rule or bad JSON", async () => {
    const { calls, dialog } = await openEditor();
    await fireEvent.click(dialog.getByRole("button", { name: "Add rule" }));
    const verdict = dialog.getByRole("status", { name: "Preview verdict" });
    expect(verdict).toHaveTextContent("Rule 1 needs a glob.");
    expect(dialog.getByRole("button", { name: "Save rules" })).toBeDisabled();

    await fireEvent.input(dialog.getByRole("textbox", { name: "Rule 1 glob" }), {
      target: { value: "/reports/**" },
    });
    await fireEvent.input(dialog.getByRole("textbox", { name: "Preview arguments" }), {
      target: { value: '{"path": ' },
    });
    expect(verdict).toHaveTextContent("not JSON yet");
    expect(calls.filter(([cmd]) => cmd === "policy_preview")).toEqual([]);
  });

  it("shows the engine's complaint about a rule, such as a bad regex", async () => {
    const { dialog } = await openEditor(() => {
      throw { code: "invalid_spec", message: "rule 1: the regex does not compile" };
    });
    await fireEvent.click(dialog.getByRole("button", { name: "Add rule" }));
    await fireEvent.change(dialog.getByRole("combobox", { name: "Rule 1 kind" }), {
      target: { value: "pattern" },
    });
    await fireEvent.input(dialog.getByRole("textbox", { name: "Rule 1 regex" }), {
      target: { value: "(" },
    });
    const verdict = dialog.getByRole("status", { name: "Preview verdict" });
    await waitFor(() => expect(verdict).toHaveTextContent("the regex does not compile"));
  });

  it("saves the rules with the tool's other settings kept", async () => {
    const { calls, dialog } = await openEditor();
    await fireEvent.click(dialog.getByRole("button", { name: "Add rule" }));
    await fireEvent.input(dialog.getByRole("textbox", { name: "Rule 1 glob" }), {
      target: { value: "/reports/**" },
    });
    await fireEvent.click(dialog.getByRole("button", { name: "Add rule" }));
    await fireEvent.change(dialog.getByRole("combobox", { name: "Rule 2 kind" }), {
      target: { value: "pattern" },
    });
    await fireEvent.input(dialog.getByRole("textbox", { name: "Rule 2 regex" }), {
      target: { value: "(?i)secret" },
    });
    await fireEvent.change(dialog.getByRole("combobox", { name: "Rule 2 on match" }), {
      target: { value: "ask" },
    });
    await fireEvent.click(
      within(dialog.getByRole("radiogroup", { name: "Unmatched values" })).getByRole("radio", {
        name: "Ask",
      }),
    );
    await fireEvent.click(dialog.getByRole("button", { name: "Save rules" }));
    await waitFor(() => expect(changes(calls)).toHaveLength(1));
    expect(changes(calls)[0]).toEqual({
      server: "office",
      change: {
        change: "rules",
        tool: "read_file",
        rules: {
          ...noRules,
          args: {
            rules: [
              { kind: "path_allow", glob: "/reports/**" },
              { kind: "pattern", regex: "(?i)secret", on_match: "ask" },
            ],
            kinds: {},
            unmatched: "ask",
          },
        },
      },
    });
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  });

  it("removes a rule", async () => {
    const rules = {
      ...noRules,
      args: {
        rules: [
          { kind: "path_deny" as const, glob: "**/.ssh/**" },
          { kind: "methods" as const, methods: ["GET"] },
        ],
        kinds: { target: "url" as const },
        unmatched: "deny" as const,
      },
    };
    const calls = await renderPage({ policy: policyOf({ tools: [tool("read_file", { rules })] }) });
    await fireEvent.click(screen.getByRole("button", { name: "Argument rules for read_file" }));
    const dialog = within(
      await screen.findByRole("dialog", { name: "Argument rules for read_file" }),
    );
    expect(dialog.getByRole("textbox", { name: "Rule 2 methods" })).toHaveValue("GET");
    await fireEvent.click(dialog.getByRole("button", { name: "Remove rule 1" }));
    await fireEvent.click(dialog.getByRole("button", { name: "Save rules" }));
    await waitFor(() => expect(changes(calls)).toHaveLength(1));
    expect((changes(calls)[0]!.change as { rules: unknown }).rules).toEqual({
      ...rules,
      args: { ...rules.args, rules: [{ kind: "methods", methods: ["GET"] }] },
    });
  });
});
