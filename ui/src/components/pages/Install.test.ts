import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tauriBackend } from "../../lib/ipc";
import { InstallStore } from "../../lib/install/install.svelte";
import { entry, report } from "../../lib/install/fixtures";
import Install from "./Install.svelte";

afterEach(() => {
  cleanup();
  clearMocks();
});

function engine(ownership: "ok" | "mismatch") {
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    if (cmd === "registry_search")
      return a.cursor === null
        ? {
            servers: [
              entry("io.github.acme/weather", "1.2.0"),
              entry("io.github.old/thing", "0.1.0", { status: "deprecated" }),
            ],
            nextCursor: "next",
          }
        : { servers: [entry("io.github.acme/tides")], nextCursor: null };
    if (cmd === "registry_versions")
      return [
        entry("io.github.acme/weather", "1.1.0", { isLatest: false, status: "deleted" }),
        entry("io.github.acme/weather", "1.2.0"),
      ];
    if (cmd === "registry_vet") return report({}, ownership);
    return null;
  });
}

describe("Install page", () => {
  it("searches, loads more, and shows the report of the chosen server", async () => {
    engine("ok");
    render(Install, { install: new InstallStore(tauriBackend) });
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search the registry" }), {
      target: { value: "weather" },
    });
    await fireEvent.click(screen.getByRole("button", { name: "Search" }));
    const results = await screen.findByRole("list", { name: "Search results" });
    await waitFor(() => expect(within(results).getAllByRole("listitem")).toHaveLength(2));
    expect(within(results).getByText("deprecated")).toBeInTheDocument();
    expect(within(results).getByText("Publisher: io.github.acme")).toBeInTheDocument();

    await fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(within(results).getAllByRole("listitem")).toHaveLength(3));
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();

    await fireEvent.click(screen.getByRole("button", { name: "Vet io.github.acme/weather" }));
    const vetting = await screen.findByRole("region", { name: "Vetting report" });
    const versions = screen.getByRole("list", { name: "Versions" });
    expect(within(versions).getByText("deleted")).toBeInTheDocument();
    expect(versions.querySelector('[aria-current="true"]')?.getAttribute("data-version")).toBe(
      "1.2.0",
    );
    const ownership = vetting.querySelector('[data-field="ownership"]');
    expect(ownership?.getAttribute("data-outcome")).toBe("ok");
    expect(ownership?.textContent).toContain("package.json mcpName matches");
    expect(within(vetting).getByText("integrity: sha512-abc")).toBeInTheDocument();
    expect(
      within(vetting).getByRole("link", { name: "https://github.com/acme/weather" }),
    ).toBeInTheDocument();
    expect(within(vetting).getByText("io.github.acme/tides")).toBeInTheDocument();

    // The secret is a password input and required.
    const form = screen.getByRole("region", { name: "Secrets and settings" });
    const secret = form.querySelector('input[type="password"]');
    expect(secret).not.toBeNull();
    expect(secret).toBeRequired();
    expect(screen.getByText("Fill in WEATHER_KEY.")).toBeInTheDocument();
  });

  it("asks to confirm an ownership mismatch", async () => {
    engine("mismatch");
    const install = new InstallStore(tauriBackend);
    render(Install, { install });
    await install.choose("io.github.acme/weather");
    const vetting = await screen.findByRole("region", { name: "Vetting report" });
    expect(vetting.querySelector('[data-field="ownership"]')?.getAttribute("data-outcome")).toBe(
      "mismatch",
    );
    install.values.WEATHER_KEY = "x";
    const confirm = await screen.findByRole("checkbox", { name: /ownership did not check out/ });
    await waitFor(() => expect(screen.getByText(/Confirm that you install/)).toBeInTheDocument());
    await fireEvent.click(confirm);
    expect(install.confirmMismatch).toBe(true);
    await waitFor(() => expect(screen.queryByText(/Confirm that you install/)).toBeNull());
  });

  it("installs a deprecated version only once its checkbox is ticked; a deleted one never", async () => {
    let status: "deprecated" | "deleted" = "deprecated";
    const installs: { options: { allow_deprecated: boolean } }[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "registry_versions")
        return [entry("io.github.acme/weather", "1.2.0", { status: "deprecated" })];
      if (cmd === "registry_vet") return report({ status, status_message: "use 2.0" });
      if (cmd === "registry_install") {
        installs.push(args as (typeof installs)[number]);
        throw { code: "registry", message: "stop here" };
      }
      return null;
    });
    const install = new InstallStore(tauriBackend);
    render(Install, { install });
    await install.choose("io.github.acme/weather");
    install.values.WEATHER_KEY = "k";
    const button = await screen.findByRole("button", { name: "Install 1.2.0" });
    const consent = await screen.findByRole("checkbox", {
      name: "I understand that 1.2.0 is deprecated in the registry (use 2.0), and install this version anyway.",
    });
    expect(consent).not.toBeChecked();
    await waitFor(() => expect(button).toBeDisabled());
    await fireEvent.click(consent);
    await waitFor(() => expect(button).toBeEnabled());
    await fireEvent.click(button);
    await waitFor(() => expect(installs).toHaveLength(1));
    expect(installs[0]?.options.allow_deprecated).toBe(true);

    status = "deleted";
    await install.vet("1.2.0");
    await screen.findByText("This version was deleted from the registry; it cannot be installed.");
    expect(screen.queryByRole("checkbox", { name: /install this version anyway/ })).toBeNull();
    expect(screen.getByRole("button", { name: "Install 1.2.0" })).toBeDisabled();
  });

  it("installs with progress, then offers to connect clients", async () => {
    let release: (() => void) | null = null;
    const installs: unknown[] = [];
    mockIPC(
      async (cmd, args) => {
        if (cmd === "registry_versions") return [entry("io.github.acme/weather", "1.2.0")];
        if (cmd === "registry_vet") return report({}, "mismatch");
        if (cmd === "registry_install") {
          installs.push(args);
          await emit("install_progress", { name: "io.github.acme/weather", phase: "hashing" });
          await new Promise<void>((r) => (release = r));
          return {
            server: {
              name: "weather",
              transport: "stdio",
              command: "node",
              args: [],
              env: {},
              secrets: ["WEATHER_KEY"],
              created_at: "",
            },
            package: report().packages[0]?.spec,
            tree_hash: "ab".repeat(32),
            path: "/cache/weather",
          };
        }
        return null;
      },
      { shouldMockEvents: true },
    );
    const install = new InstallStore(tauriBackend);
    render(Install, { install });
    await install.choose("io.github.acme/weather");
    const button = await screen.findByRole("button", { name: "Install 1.2.0" });
    expect(button).toBeDisabled();
    const secret = screen
      .getByRole("region", { name: "Secrets and settings" })
      .querySelector('input[type="password"]') as HTMLInputElement;
    await fireEvent.input(secret, { target: { value: "s3cret" } });
    // Still disabled: the ownership mismatch is not confirmed.
    expect(button).toBeDisabled();
    await fireEvent.click(screen.getByRole("checkbox", { name: /ownership did not check out/ }));
    await waitFor(() => expect(button).toBeEnabled());

    await fireEvent.click(button);
    const progress = await screen.findByRole("status", { name: "Install progress" });
    await waitFor(() =>
      expect(progress.querySelector('[aria-current="step"]')?.textContent).toContain("Hashing"),
    );
    await vi.waitFor(() => expect(release).not.toBeNull());
    release!();
    const connect = await screen.findByRole("link", { name: "Connect to clients" });
    expect(connect.getAttribute("href")).toBe("#/clients");
    expect(screen.getByText("gatehouse run weather")).toBeInTheDocument();
    expect(installs).toHaveLength(1);
    expect(
      (installs[0] as { options: { confirm_mismatch: boolean } }).options.confirm_mismatch,
    ).toBe(true);
  });

  it("shows an install error with its code", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "registry_versions") return [entry("io.github.acme/weather", "1.2.0")];
        if (cmd === "registry_vet") return report();
        if (cmd === "registry_install")
          throw { code: "registry", message: "GET http://127.0.0.1:9/x: unreachable" };
        return null;
      },
      { shouldMockEvents: true },
    );
    const install = new InstallStore(tauriBackend);
    render(Install, { install });
    await install.choose("io.github.acme/weather");
    install.values.WEATHER_KEY = "k";
    await fireEvent.click(await screen.findByRole("button", { name: "Install 1.2.0" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("unreachable");
    expect(alert.getAttribute("data-code")).toBe("registry");
    expect(screen.queryByRole("link", { name: "Connect to clients" })).toBeNull();
  });
});
