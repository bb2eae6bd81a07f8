import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { Server } from "../../lib/bindings/Server";
import { tauriBackend } from "../../lib/ipc";
import { ServersStore } from "../../lib/servers/servers.svelte";
import Servers from "./Servers.svelte";

afterEach(() => clearMocks());

function server(name: string, secrets: string[] = []): Server {
  return {
    name,
    transport: "stdio",
    command: "python3",
    args: ["server.py"],
    env: {},
    secrets,
    created_at: "2026-11-21T10:00:00.000000Z",
  };
}

async function renderWith(list: Server[]) {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === "server_list") return list;
    if (cmd === "server_add") {
      const added = { ...(args as { server: Server }).server, created_at: "now" };
      list = [...list, added];
      return added;
    }
  });
  const store = new ServersStore(tauriBackend);
  await store.refresh();
  render(Servers, { servers: store });
  return calls;
}

describe("Servers page", () => {
  it("lists each server with its command and secret names", async () => {
    await renderWith([server("demo", ["API_KEY"]), server("time")]);
    const table = screen.getByRole("table", { name: "Servers" });
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(rows[1]).toHaveTextContent("demo");
    expect(rows[1]).toHaveTextContent("python3 server.py");
    expect(rows[1]).toHaveTextContent("API_KEY");
    expect(rows[2]).toHaveTextContent("none");
  });

  it("links each server to its detail page", async () => {
    await renderWith([server("my files")]);
    expect(screen.getByRole("link", { name: "Open my files" })).toHaveAttribute(
      "href",
      "#/servers/my%20files",
    );
  });

  it("shows an empty state with the CLI hint when there are none", async () => {
    await renderWith([]);
    expect(screen.getByRole("region", { name: "No servers yet" })).toHaveTextContent(
      "gatehouse server add",
    );
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("adds a server from the dialog with the command line split into words", async () => {
    const calls = await renderWith([]);
    await fireEvent.click(screen.getAllByRole("button", { name: "Add server" })[0]!);
    await fireEvent.input(screen.getByPlaceholderText("github"), { target: { value: "files" } });
    await fireEvent.input(screen.getByPlaceholderText(/npx -y/), {
      target: { value: `node "my server.js" --root /data` },
    });
    await fireEvent.input(screen.getByPlaceholderText("GITHUB_TOKEN"), {
      target: { value: "TOKEN_A, TOKEN_B" },
    });
    await fireEvent.submit(document.getElementById("add-server")!);
    await waitFor(() => expect(calls.some(([cmd]) => cmd === "server_add")).toBe(true));
    const [, args] = calls.find(([cmd]) => cmd === "server_add")!;
    expect(args).toEqual({
      server: {
        name: "files",
        transport: "stdio",
        command: "node",
        args: ["my server.js", "--root", "/data"],
        env: {},
        secrets: ["TOKEN_A", "TOKEN_B"],
      },
    });
    await waitFor(() => expect(screen.getByRole("table")).toHaveTextContent("files"));
  });

  it("adds a remote server with the names of its secret headers", async () => {
    const calls = await renderWith([]);
    await fireEvent.click(screen.getAllByRole("button", { name: "Add server" })[0]!);
    await fireEvent.input(screen.getByPlaceholderText("github"), { target: { value: "weather" } });
    await fireEvent.click(screen.getByLabelText("A remote URL"));
    await fireEvent.input(screen.getByPlaceholderText("https://example.com/mcp"), {
      target: { value: "https://mcp.example.com/mcp " },
    });
    await fireEvent.input(screen.getByPlaceholderText("X-Api-Key"), {
      target: { value: "X-Api-Key, X-Org" },
    });
    await fireEvent.submit(document.getElementById("add-server")!);
    await waitFor(() => expect(calls.some(([cmd]) => cmd === "server_add")).toBe(true));
    const [, args] = calls.find(([cmd]) => cmd === "server_add")!;
    expect(args).toEqual({
      server: {
        name: "weather",
        transport: "http",
        url: "https://mcp.example.com/mcp",
        headers: {},
        secrets: ["X-Api-Key", "X-Org"],
      },
    });
  });

  it("shows the engine's refusal in the dialog and keeps what was typed", async () => {
    mockIPC((cmd) => {
      if (cmd === "server_list") return [];
      if (cmd === "server_add") throw { code: "invalid_name", message: "server name is not valid" };
    });
    const store = new ServersStore(tauriBackend);
    await store.refresh();
    render(Servers, { servers: store });
    await fireEvent.click(screen.getAllByRole("button", { name: "Add server" })[0]!);
    await fireEvent.input(screen.getByPlaceholderText("github"), { target: { value: "bad name" } });
    await fireEvent.input(screen.getByPlaceholderText(/npx -y/), { target: { value: "x" } });
    await fireEvent.submit(document.getElementById("add-server")!);
    expect(await screen.findByRole("alert")).toHaveTextContent("server name is not valid");
    expect(screen.getByPlaceholderText("github")).toHaveValue("bad name");
  });
});
