import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { PackageStatus } from "../../lib/bindings/PackageStatus";
import type { UpdateChange } from "../../lib/bindings/UpdateChange";
import type { UpdateCheck } from "../../lib/bindings/UpdateCheck";
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
  registry: null,
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

const change = (
  kind: UpdateChange["kind"],
  text: string,
  subject: string | null = null,
): UpdateChange => ({ kind, subject, before: null, after: null, text });

/** A newer npm version of a package pinned from a command line. */
const npmUpdate: UpdateCheck = {
  current: pinned.package!,
  latest: { ...pinned.package!, version: "2026.1.1" },
  registry: null,
  newer: true,
  changes: [
    change("package_version", "package version: 2025.9.25 → 2026.1.1"),
    change("checksum", "checksum: sha512-AAAA → sha512-BBBB"),
  ],
};

/**
 * A fake engine: `status` is the pin (null: none), `updates` the update
 * check (an npm one by default); records the calls made.
 */
function engine(status: PackageStatus | null, command: string, updates?: UpdateCheck) {
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
        return updates ?? npmUpdate;
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
    expect(updates).toHaveTextContent("checksum: sha512-AAAA → sha512-BBBB");
  });

  it("lists each change of a newer registry version with its kind, before re-vetting", async () => {
    const fromRegistry = {
      ...pinned,
      registry: { name: "io.github.acme/hello", version: "1.0.0" },
    };
    const calls = engine(fromRegistry, "/usr/bin/node", {
      current: pinned.package!,
      latest: pinned.package,
      registry: { name: "io.github.acme/hello", installed: "1.0.0", latest: "1.1.0" },
      newer: true,
      changes: [
        change("server_version", "server version: 1.0.0 → 1.1.0"),
        change("package_arguments", "package arguments: (none) → --greeting formal"),
        change(
          "env_added",
          "new environment variable HELLO_ARCHIVE_KEY: required, secret: asked for at install and kept in the keychain",
          "HELLO_ARCHIVE_KEY",
        ),
      ],
    });
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    expect(await screen.findByTestId("registry-origin")).toHaveTextContent(
      "io.github.acme/hello 1.0.0",
    );
    await fireEvent.click(screen.getByRole("button", { name: "Check for updates" }));
    const updates = await screen.findByTestId("updates");
    // The registry's server version is on offer, not the package's.
    expect(updates).toHaveTextContent("1.1.0 available");
    const items = within(screen.getByRole("list", { name: "Changes" })).getAllByRole("listitem");
    expect(items.map((li) => li.getAttribute("data-kind"))).toEqual([
      "server_version",
      "package_arguments",
      "env_added",
    ]);
    expect(items[1]).toHaveTextContent("arguments package arguments: (none) → --greeting formal");
    expect(items[2]).toHaveTextContent("new variable");
    expect(items[2]).toHaveTextContent("HELLO_ARCHIVE_KEY: required, secret");
    // Nothing is re-vetted or reinstalled by looking.
    expect(calls).not.toContain("package_reinstall");
  });

  it("says an up-to-date registry server is the newest, with no changes listed", async () => {
    engine(pinned, "/usr/bin/node", {
      current: pinned.package!,
      latest: pinned.package,
      registry: { name: "io.github.acme/hello", installed: "1.0.0", latest: "1.0.0" },
      newer: false,
      changes: [],
    });
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    await fireEvent.click(await screen.findByRole("button", { name: "Check for updates" }));
    expect(await screen.findByTestId("updates")).toHaveTextContent("1.0.0 is the newest version.");
    expect(screen.queryByRole("list", { name: "Changes" })).toBeNull();
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
