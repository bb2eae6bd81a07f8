import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../lib/bindings/ApprovalRequest";
import { ApprovalsStore } from "../../lib/approvals/approvals.svelte";
import { tauriBackend } from "../../lib/ipc";
import ApprovalPopup from "./ApprovalPopup.svelte";

// Unmount first: the popup stops listening while the mocks are still there.
afterEach(() => {
  cleanup();
  clearMocks();
});

function request(id: string, tool: string, risk = "high"): ApprovalRequest {
  return {
    id,
    server: "office",
    tool,
    client: "claude-code",
    session: "s1",
    arguments: '{\n  "path": "/tmp/report.txt",\n  "mode": "overwrite"\n}',
    rule: "the tool's risk tier",
    detail: null,
    risk,
    reasons: [`Its name says it changes things (${tool}).`],
    requested_at: Date.now() * 1000,
    timeout_secs: 45,
  };
}

function mount(queue: ApprovalRequest[]) {
  const calls: [string, unknown][] = [];
  mockIPC(
    (cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "approvals_pending") return queue;
      if (cmd === "approvals_decide")
        return { id: "x", answer: { kind: "deny" }, by: "app", decided_at: 0 };
    },
    { shouldMockEvents: true },
  );
  render(ApprovalPopup, { approvals: new ApprovalsStore(tauriBackend) });
  return calls;
}

describe("The approval popup", () => {
  it("shows who asks for what and why, and answers the call shown", async () => {
    const calls = mount([request("a1", "write_file"), request("a2", "send_message")]);
    expect(await screen.findByRole("heading", { name: /write_file/ })).toBeTruthy();
    expect(screen.getByText(/2 calls are waiting/)).toBeTruthy();
    expect(screen.getByText("claude-code")).toBeTruthy();
    expect(screen.getByText(/Asked by the tool's risk tier/)).toBeTruthy();
    expect(screen.getByRole("region", { name: "Arguments" })).toHaveTextContent(
      '"path": "/tmp/report.txt"',
    );

    await fireEvent.click(screen.getByRole("button", { name: "Allow once" }));
    await waitFor(() =>
      expect(calls).toContainEqual([
        "approvals_decide",
        { id: "a1", answer: { kind: "allow_once" } },
      ]),
    );
    // The next call in the queue is shown.
    expect(await screen.findByRole("heading", { name: /send_message/ })).toBeTruthy();
  });

  it("limits an always-allow to the arguments ticked", async () => {
    const calls = mount([request("a1", "write_file")]);
    await fireEvent.click(await screen.findByRole("button", { name: "Always allow…" }));
    const always = screen.getByRole("region", { name: "Always allow" });
    const [limitPath] = within(always).getAllByRole("checkbox");
    if (!limitPath) throw new Error("no argument to limit to");
    await fireEvent.click(limitPath);
    await fireEvent.click(within(always).getByRole("button", { name: "Always allow" }));
    await waitFor(() =>
      expect(calls).toContainEqual([
        "approvals_decide",
        { id: "a1", answer: { kind: "always_allow", pattern: { path: "/tmp/report.txt" } } },
      ]),
    );
  });

  it("warns before always allowing a critical tool, and denies on Deny", async () => {
    const calls = mount([request("c1", "delete_file", "critical")]);
    await fireEvent.click(await screen.findByRole("button", { name: "Always allow…" }));
    expect(screen.getByText(/This is a critical tool/)).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Back" }));
    await fireEvent.click(screen.getByRole("button", { name: "Deny" }));
    await waitFor(() =>
      expect(calls).toContainEqual(["approvals_decide", { id: "c1", answer: { kind: "deny" } }]),
    );
  });

  it("follows the queue as Rust pushes it", async () => {
    mount([]);
    expect(await screen.findByText(/No calls are waiting/)).toBeTruthy();
    await emit("approvals_changed", [request("n1", "fetch_url")]);
    expect(await screen.findByText("fetch_url")).toBeTruthy();
  });
});
