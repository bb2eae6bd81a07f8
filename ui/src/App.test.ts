import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import type { ServerPolicy } from "./lib/bindings/ServerPolicy";
import { tauriBackend } from "./lib/ipc";

afterEach(() => {
  cleanup();
  clearMocks();
  location.hash = "";
});

const empty = (server: string): ServerPolicy => ({
  server,
  default: null,
  global_default: null,
  rate: null,
  tools: [],
  allow_rules: [],
});

async function go(hash: string) {
  location.hash = hash;
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

describe("App routes", () => {
  it("opens a server's detail page from its link, under the Servers menu entry", async () => {
    const shown: string[] = [];
    mockIPC(
      (cmd, args) => {
        if (cmd === "server_list") return [];
        if (cmd === "policy_show") {
          const { server } = args as { server: string };
          shown.push(server);
          return empty(server);
        }
      },
      { shouldMockEvents: true },
    );
    render(App, { backend: tauriBackend });
    await go("#/servers/office");
    expect(await screen.findByRole("heading", { level: 1, name: "office" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Servers", current: "page" })).toBeInTheDocument();
    expect(await screen.findByText("No tools recorded yet")).toBeInTheDocument();

    await go("#/servers/time");
    await screen.findByRole("heading", { level: 1, name: "time" });
    await waitFor(() => expect(shown).toEqual(["office", "time"]));

    await go("#/servers");
    await waitFor(() =>
      expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Servers"),
    );
  });
});
