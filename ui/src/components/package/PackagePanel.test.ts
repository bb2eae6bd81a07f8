import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { PackageStatus } from "../../lib/bindings/PackageStatus";
import type { RegistryUpdated } from "../../lib/bindings/RegistryUpdated";
import type { UpdateChange } from "../../lib/bindings/UpdateChange";
import type { UpdateCheck } from "../../lib/bindings/UpdateCheck";
import type { UpdateOptions } from "../../lib/bindings/UpdateOptions";
import type { VettingReport } from "../../lib/bindings/VettingReport";
import { report } from "../../lib/install/fixtures";
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

describe("PackagePanel update to a newer registry version", () => {
  const origin = { name: "io.github.acme/weather", version: "1.1.0" };
  const fromRegistry: PackageStatus = { ...pinned, registry: origin };
  const newer: UpdateCheck = {
    current: pinned.package!,
    latest: pinned.package,
    registry: { name: origin.name, installed: "1.1.0", latest: "1.2.0" },
    newer: true,
    changes: [change("server_version", "server version: 1.1.0 → 1.2.0")],
  };
  /** 1.2.0 reads WEATHER_KEY (new, required, secret), WEATHER_TOKEN (which the server has) and UNITS (default). */
  function vetted(patch: Partial<VettingReport> = {}, ownership: "ok" | "mismatch" = "ok") {
    const r = report(patch, ownership);
    const vars = r.packages[0]!.environment_variables;
    vars.push({ ...vars[0]!, name: "WEATHER_TOKEN" });
    return r;
  }
  const updated: RegistryUpdated = {
    server: {
      ...server("/usr/bin/node"),
      transport: "stdio",
      secrets: ["WEATHER_TOKEN", "WEATHER_KEY"],
    },
    previous: origin,
    origin: { ...origin, version: "1.2.0" },
    package: pinned.package!,
    tree_hash: "cd".repeat(32),
    path: "/data/packages/npm/y",
  };

  /** A fake engine for an update; `update` answers `registry_update`. */
  function engine(vet: VettingReport, update: (args: unknown) => unknown = () => updated) {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      switch (cmd) {
        case "package_status":
          return fromRegistry;
        case "server_list":
          return [
            { ...server("/usr/bin/node"), env: { UNITS: "imperial" }, secrets: ["WEATHER_TOKEN"] },
          ];
        case "package_updates":
          return newer;
        case "registry_vet":
          return vet;
        case "registry_update":
          return update(args);
        case "package_verify":
          return { ...fromRegistry, registry: updated.origin };
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    return calls;
  }

  async function openUpdate() {
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    await fireEvent.click(await screen.findByRole("button", { name: "Check for updates" }));
    return screen.findByRole("button", { name: "Update to 1.2.0" });
  }

  it("asks only for the new required secret, as a password, and confirms ownership", async () => {
    const calls = engine(vetted({}, "mismatch"));
    const button = await openUpdate();
    expect(calls).toContainEqual({
      cmd: "registry_vet",
      args: { name: origin.name, version: "1.2.0" },
    });
    // The server has WEATHER_TOKEN and UNITS has a default: only WEATHER_KEY is asked for.
    const key = screen.getByLabelText("WEATHER_KEY");
    expect(key).toHaveAttribute("type", "password");
    expect(screen.queryByLabelText("WEATHER_TOKEN")).toBeNull();
    expect(screen.queryByLabelText("UNITS")).toBeNull();
    expect(button).toBeDisabled();
    expect(screen.getByText("Fill in WEATHER_KEY.")).toBeInTheDocument();

    await fireEvent.input(key, { target: { value: " k3y " } });
    // Ownership did not check out: still blocked until confirmed.
    expect(button).toBeDisabled();
    const confirm = screen.getByRole("checkbox");
    expect(confirm.closest("label")).toHaveTextContent("io.github.evil/weather");
    await fireEvent.click(confirm);
    expect(button).toBeEnabled();

    await fireEvent.click(button);
    await waitFor(() =>
      expect(screen.getByTestId("updated")).toHaveTextContent(
        "io.github.acme/weather 1.1.0 → 1.2.0",
      ),
    );
    expect(calls.find((c) => c.cmd === "registry_update")?.args).toEqual({
      server: "everything",
      version: "1.2.0",
      options: {
        confirm_mismatch: true,
        allow_deprecated: false,
        secrets: [["WEATHER_KEY", "k3y"]],
      },
    });
    // The panel shows the new install, checked, and the offer is gone.
    await waitFor(() =>
      expect(screen.getByTestId("registry-origin")).toHaveTextContent(
        "io.github.acme/weather 1.2.0",
      ),
    );
    expect(calls.at(-1)?.cmd).toBe("package_verify");
    expect(screen.queryByRole("button", { name: "Update to 1.2.0" })).toBeNull();
  });

  it("needs consent for a deprecated version and shows the engine's refusal", async () => {
    const r = vetted({ status: "deprecated", status_message: "use 1.3.0" });
    r.packages[0]!.environment_variables = [];
    const calls = engine(r, () => {
      throw {
        code: "ownership_unverified",
        message: "the ownership of npm @acme/weather did not check out",
      };
    });
    const button = await openUpdate();
    expect(button).toBeDisabled();
    const consent = screen.getByRole("checkbox");
    expect(consent.closest("label")).toHaveTextContent("deprecated in the registry (use 1.3.0)");
    await fireEvent.click(consent);
    await fireEvent.click(button);
    expect(await screen.findByRole("alert")).toHaveTextContent("ownership of npm @acme/weather");
    expect(
      (calls.find((c) => c.cmd === "registry_update")?.args as { options: UpdateOptions }).options,
    ).toEqual({ confirm_mismatch: false, allow_deprecated: true, secrets: [] });
    // Nothing was re-read as if it had changed.
    expect(calls.map((c) => c.cmd)).not.toContain("package_verify");
    expect(screen.queryByTestId("updated")).toBeNull();
  });

  it("offers no update for a package pinned from a command line", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "package_status") return pinned;
      if (cmd === "server_list") return [server("/usr/bin/node")];
      if (cmd === "package_updates") return npmUpdate;
      throw new Error(`unexpected command ${cmd}`);
    });
    render(PackagePanel, { server: "everything", backend: tauriBackend });
    await fireEvent.click(await screen.findByRole("button", { name: "Check for updates" }));
    expect(await screen.findByTestId("updates")).toHaveTextContent("2026.1.1 available");
    expect(screen.queryByRole("button", { name: /^Update to/ })).toBeNull();
    expect(calls).not.toContain("registry_vet");
  });
});
