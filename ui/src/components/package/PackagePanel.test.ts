import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { PackageStatus } from "../../lib/bindings/PackageStatus";
import { tauriBackend } from "../../lib/ipc";
import PackagePanel from "./PackagePanel.svelte";

afterEach(() => {
  cleanup();
  clearMocks();
});

const pinned: PackageStatus = {
  server: "everything",
  package: {
    kind: "npm",
    identifier: "@modelcontextprotocol/server-everything",
    version: "2025.9.25",
    checksum: { type: "integrity", value: "sha512-AAAABBBBCCCCDDDDEEEEFFFFGGGG" },
    file_url: null,
  },
  path: "/data/packages/npm/x",
  tree_hash: "ab".repeat(32),
  verified: true,
  problem: null,
  last_check: { at: 1_763_719_200_000_000, ok: true, problem: null },
};

const server = (command: string) => ({
  name: "everything",
  created_at: "2026-11-21T10:00:00Z",
  transport: "stdio",
  command,
  args: ["-y", "@modelcontextprotocol/server-everything"],
  env: {},
  secrets: [],
});

/** A fake engine: `status` is the pin (null: none); records the calls made. */
function engine(status: PackageStatus | null, command: string) {
  const calls: string[] = [];
  mockIPC((cmd, args) => {
    calls.push(cmd);
    switch (cmd) {
      case "package_status":
        return status;
      case "server_list":
        return [server(command)];
      case "package_verify":
        return {
          ...pinned,
          verified: false,
          last_check: { at: 1_763_719_300_000_000, ok: false, problem: "index.js changed" },
        };
      case "package_updates":
        return {
          current: pinned.package,
          latest: { ...pinned.package!, version: "2026.1.1" },
          newer: true,
          changes: ["version 2025.9.25 -> 2026.1.1", "checksum changes"],
        };
      case "package_reinstall":
        return pinned;
      case "package_pin":
        expect((args as { version: string | null }).version).toBe("2025.9.25");
        return pinned;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

describe("PackagePanel", () => {
  it("shows the pinned package and a failed verification in red with the changed file", async () => {
    engine(pinned, "/usr/bin/node");
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    expect(await screen.findByTestId("package-version")).toHaveTextContent("2025.9.25");
    expect(screen.getByTestId("last-check")).toHaveTextContent("intact");
    await fireEvent.click(screen.getByRole("button", { name: "Verify now" }));
    await waitFor(() => expect(screen.getByTestId("last-check")).toHaveTextContent("changed"));
    expect(screen.getByTestId("last-check")).toHaveTextContent("index.js changed");
  });

  it("lists what a newer version would change", async () => {
    engine(pinned, "/usr/bin/node");
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    await fireEvent.click(await screen.findByRole("button", { name: "Check for updates" }));
    const updates = await screen.findByTestId("updates");
    expect(updates).toHaveTextContent("2026.1.1 available");
    expect(updates).toHaveTextContent("checksum changes");
  });

  it("asks before reinstalling", async () => {
    const calls = engine(pinned, "/usr/bin/node");
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    await fireEvent.click(await screen.findByRole("button", { name: "Reinstall…" }));
    expect(calls).not.toContain("package_reinstall");
    await fireEvent.click(screen.getByRole("button", { name: "Reinstall" }));
    await waitFor(() => expect(calls).toContain("package_reinstall"));
  });

  it("offers to pin a server launched through npx, with the version asked for", async () => {
    const calls = engine(null, "npx");
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    const pin = await screen.findByRole("button", { name: "Pin this version" });
    await fireEvent.input(screen.getByLabelText("Version to pin"), {
      target: { value: "2025.9.25" },
    });
    await fireEvent.click(pin);
    expect(await screen.findByTestId("package-version")).toHaveTextContent("2025.9.25");
    expect(calls).toContain("package_pin");
  });

  it("shows nothing for a server run by its own command", async () => {
    const calls = engine(null, "/usr/bin/python3");
    const { container } = render(PackagePanel, { server: "everything", backend: tauriBackend });
    await waitFor(() => expect(calls).toContain("server_list"));
    await new Promise((r) => setTimeout(r, 0));
    expect(container.querySelector("section")).toBeNull();
    expect(screen.queryByRole("button", { name: "Pin this version" })).toBeNull();
  });
});
