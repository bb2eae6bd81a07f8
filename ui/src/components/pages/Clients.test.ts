import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { ClientSummary } from "../../lib/bindings/ClientSummary";
import { ClientsStore } from "../../lib/clients/clients.svelte";
import { tauriBackend } from "../../lib/ipc";
import Clients from "./Clients.svelte";

afterEach(() => clearMocks());

const cursor: ClientSummary = {
  client: "cursor",
  display_name: "Cursor",
  path: "/home/me/.cursor/mcp.json",
  error: null,
  servers: [
    {
      name: "github",
      scope: null,
      routed: false,
      transport: "stdio",
      disabled: false,
      target: "npx -y @modelcontextprotocol/server-github",
      env_keys: ["GITHUB_TOKEN"],
      findings: [
        {
          rule: "plaintext-secret",
          severity: "high",
          field: "env.GITHUB_TOKEN",
          message: "GITHUB_TOKEN holds a GitHub token in plain text",
        },
        { rule: "unpinned-package", severity: "medium", field: "args.1", message: "unpinned" },
      ],
    },
    {
      name: "notes",
      scope: null,
      routed: true,
      transport: "stdio",
      disabled: false,
      target: "/usr/local/bin/gatehouse run notes",
      env_keys: [],
      findings: [],
    },
  ],
};

const broken: ClientSummary = {
  client: "zed",
  display_name: "Zed",
  path: "/home/me/.config/zed/settings.json",
  error: "cannot parse /home/me/.config/zed/settings.json: line 3 column 1",
  servers: [],
};

function mount(lists: ClientSummary[][]) {
  let calls = 0;
  mockIPC((cmd) => {
    if (cmd === "clients_list") return lists[Math.min(calls++, lists.length - 1)];
  });
  render(Clients, { clients: new ClientsStore(tauriBackend) });
  return () => calls;
}

describe("Clients page", () => {
  it("shows each client's servers, their route and findings, and files it could not read", async () => {
    mount([[cursor, broken]]);
    const section = await screen.findByRole("region", { name: "Cursor" });
    expect(section).toHaveTextContent("/home/me/.cursor/mcp.json");
    const rows = within(section).getAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(rows[1]).toHaveTextContent("github");
    expect(rows[1]).toHaveTextContent("direct");
    expect(rows[1]).toHaveTextContent("plain-text secret");
    expect(rows[1]).toHaveTextContent("unpinned");
    expect(rows[2]).toHaveTextContent("via Gatehouse");
    expect(rows[2]).toHaveTextContent("none");
    expect(screen.getByRole("region", { name: "Zed" })).toHaveTextContent("cannot parse");
  });

  it("re-reads the files on Refresh", async () => {
    const calls = mount([[], [cursor]]);
    await screen.findByRole("region", { name: "No client configs found" });
    await fireEvent.click(screen.getByRole("button", { name: "Refresh" }));
    await waitFor(() => expect(screen.getByRole("region", { name: "Cursor" })).toBeTruthy());
    expect(calls()).toBe(2);
  });
});

describe("Connecting a client", () => {
  it("shows the diff first and changes the file only once confirmed", async () => {
    const calls: [string, unknown][] = [];
    const change = {
      client: "cursor",
      path: "/home/me/.cursor/mcp.json",
      changes: true,
      diff: '-      "command": "npx",\n+      "command": "/usr/bin/gatehouse",\n',
      not_imported: ["local-server"],
      warnings: [],
    };
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "clients_list") return [cursor];
      if (cmd === "clients_preview" || cmd === "clients_apply") return [change];
    });
    render(Clients, { clients: new ClientsStore(tauriBackend) });
    const section = await screen.findByRole("region", { name: "Cursor" });
    await fireEvent.click(within(section).getByRole("button", { name: "Connect…" }));

    const diff = await screen.findByLabelText("Changes to /home/me/.cursor/mcp.json");
    expect(diff).toHaveTextContent("/usr/bin/gatehouse");
    expect(screen.getByText(/not imported into Gatehouse: local-server/)).toBeTruthy();
    expect(calls.map(([cmd]) => cmd)).not.toContain("clients_apply");

    await fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    await waitFor(() =>
      expect(calls).toContainEqual(["clients_apply", { client: "cursor", kind: "connect" }]),
    );
  });
});

describe("Importing a client's servers", () => {
  it("says what was added, what moved to the keychain and what was not imported", async () => {
    mockIPC((cmd) => {
      if (cmd === "clients_list") return [cursor];
      if (cmd === "clients_import")
        return [
          {
            server: "github",
            outcome: "added",
            sources: [],
            secrets_moved: ["GITHUB_TOKEN"],
            secrets_needed: [],
          },
          {
            server: "db",
            outcome: "skipped",
            reason: "a secret in args.2",
            sources: [],
            secrets_moved: [],
            secrets_needed: [],
          },
        ];
    });
    render(Clients, { clients: new ClientsStore(tauriBackend) });
    const section = await screen.findByRole("region", { name: "Cursor" });
    await fireEvent.click(within(section).getByRole("button", { name: "Import" }));
    const report = await screen.findByRole("region", { name: "Import from Cursor" });
    expect(report).toHaveTextContent("github: added; moved to the keychain: GITHUB_TOKEN");
    expect(report).toHaveTextContent("db: not imported: a secret in args.2");
  });
});

describe("Connecting every client", () => {
  it("previews every client it can rewrite, then applies those that change", async () => {
    const goose: ClientSummary = {
      ...cursor,
      client: "goose",
      display_name: "Goose",
      path: "/home/me/.config/goose/config.yaml",
    };
    const claude: ClientSummary = {
      ...cursor,
      client: "claude-desktop",
      display_name: "Claude Desktop",
      path: "/home/me/.config/Claude/claude_desktop_config.json",
    };
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "clients_list") return [cursor, claude, goose, broken];
      const client = (args as { client: string }).client;
      const changes = client === "cursor";
      if (cmd === "clients_preview" || cmd === "clients_apply")
        return [
          {
            client,
            path: `/home/me/${client}.json`,
            changes,
            diff: changes ? "+gatehouse run github\n" : "",
            not_imported: [],
            warnings: [],
          },
        ];
    });
    render(Clients, { clients: new ClientsStore(tauriBackend) });
    await screen.findByRole("region", { name: "Cursor" });
    await fireEvent.click(screen.getByRole("button", { name: "Connect all…" }));
    await screen.findByLabelText("Changes to /home/me/cursor.json");
    const unchanged = screen.getAllByText(/Nothing to change in/).map((p) => p.textContent);
    expect(unchanged).toEqual([
      "Nothing to change in /home/me/claude-desktop.json.",
      "Nothing to change in /home/me/goose.json.",
    ]);
    const previewed = calls.filter(([c]) => c === "clients_preview").map(([, a]) => a);
    expect(previewed).toEqual([
      { client: "cursor", kind: "connect" },
      { client: "claude-desktop", kind: "connect" },
      { client: "goose", kind: "connect" },
    ]);

    await fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    await waitFor(() =>
      expect(calls.filter(([c]) => c === "clients_apply").map(([, a]) => a)).toEqual([
        { client: "cursor", kind: "connect" },
      ]),
    );
  });
});
