import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditSummary } from "../../lib/bindings/AuditSummary";
import { SummaryStore } from "../../lib/history/summary.svelte";
import { tauriBackend } from "../../lib/ipc";
import { ServersStore } from "../../lib/servers/servers.svelte";
import Overview from "./Overview.svelte";

afterEach(() => {
  // Unmount first: the page stops listening, which needs the mocks.
  cleanup();
  clearMocks();
});

const summary: AuditSummary = {
  since: 0,
  until: 86_400_000_000,
  calls: 1234,
  asked: 3,
  denied: 17,
  errors: 2,
  top_tools: [
    { server: "files", tool: "read_file", count: 900 },
    { server: "office", tool: "send_mail", count: 34 },
  ],
  pending_approvals: 1,
};

describe("Overview page", () => {
  it("shows the last 24 hours: calls, denials, approvals, open alerts and the top tools", async () => {
    let reads = 0;
    mockIPC(
      (cmd) => {
        if (cmd === "server_list") return [];
        if (cmd === "alerts_list") return [{ id: 1 }, { id: 2 }];
        if (cmd === "audit_summary") {
          reads += 1;
          return reads === 1 ? summary : { ...summary, calls: 1240 };
        }
      },
      { shouldMockEvents: true },
    );
    const summaryStore = new SummaryStore(tauriBackend);
    render(Overview, { servers: new ServersStore(tauriBackend), summary: summaryStore });
    await waitFor(() => expect(screen.getByTestId("calls-24h")).toHaveTextContent("1,234"));
    expect(screen.getByTestId("denied-24h")).toHaveTextContent("17");
    expect(screen.getByTestId("denied-24h")).toHaveTextContent("2 failed");
    expect(screen.getByTestId("pending-approvals")).toHaveTextContent("1");
    expect(screen.getByTestId("open-alerts")).toHaveTextContent("2 open alerts");
    const top = within(screen.getByTestId("top-tools")).getAllByRole("listitem");
    expect(top.map((li) => li.textContent?.replace(/\s+/g, " ").trim())).toEqual([
      "read_file files 900",
      "send_mail office 34",
    ]);
    // A change to the audit log re-reads it.
    await emit("store_changed", "audit");
    await waitFor(() => expect(screen.getByTestId("calls-24h")).toHaveTextContent("1,240"));
  });
});
