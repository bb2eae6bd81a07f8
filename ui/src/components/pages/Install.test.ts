import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
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
});
