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
  source: { kind: "user" },
  error: null,
  findings: [],
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
  source: { kind: "user" },
  error: "cannot parse /home/me/.config/zed/settings.json: line 3 column 1",
  findings: [],
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

describe("Where a file comes from", () => {
  it("names a project file's folder, and offers no change to a system-wide file", async () => {
    const project: ClientSummary = {
      ...cursor,
      path: "/home/me/src/shop/.cursor/mcp.json",
      source: { kind: "project", dir: "/home/me/src/shop" },
    };
    const system: ClientSummary = {
      ...cursor,
      client: "gemini-cli",
      display_name: "Gemini CLI",
      path: "/etc/gemini-cli/settings.json",
      source: { kind: "system" },
    };
    const goose: ClientSummary = {
      ...cursor,
      client: "goose",
      display_name: "Goose",
      path: "/home/me/.config/goose/config.yaml",
      servers: [],
      findings: [
        {
          rule: "plaintext-secret",
          severity: "high",
          field: "secrets.yaml:GITHUB_TOKEN",
          message: "GITHUB_TOKEN is stored in plain text in secrets.yaml",
        },
      ],
    };
    mount([[cursor, project, system, goose]]);

    const user = await screen.findByRole("region", { name: "Cursor" });
    expect(user).not.toHaveTextContent("project");
    const shop = screen.getByRole("region", { name: "Cursor (project /home/me/src/shop)" });
    expect(shop).toHaveTextContent("project /home/me/src/shop");
    expect(within(shop).getByRole("button", { name: "Connect…" })).toBeTruthy();

    const managed = screen.getByRole("region", { name: "Gemini CLI (system-wide)" });
    expect(managed).toHaveTextContent("system-wide, read-only");
    expect(within(managed).getByRole("button", { name: "Import" })).toBeTruthy();
    expect(within(managed).queryByRole("button", { name: "Connect…" })).toBeNull();
    expect(within(managed).queryByRole("button", { name: "Restore…" })).toBeNull();

    const gooseSection = screen.getByRole("region", { name: "Goose" });
    expect(gooseSection).toHaveTextContent("GITHUB_TOKEN is stored in plain text");
  });

  it("previews each client once for all its files, and never a system-wide one", async () => {
    const project: ClientSummary = {
      ...cursor,
      path: "/home/me/src/shop/.cursor/mcp.json",
      source: { kind: "project", dir: "/home/me/src/shop" },
    };
    const system: ClientSummary = {
      ...cursor,
      client: "zed",
      display_name: "Zed",
      path: "/etc/zed/settings.json",
      source: { kind: "system" },
    };
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "clients_list") return [cursor, project, system];
      if (cmd === "clients_preview") return [];
    });
    render(Clients, { clients: new ClientsStore(tauriBackend) });
    await screen.findByRole("region", { name: "Cursor" });
    await fireEvent.click(screen.getByRole("button", { name: "Restore all…" }));
    await waitFor(() => expect(calls.some(([c]) => c === "clients_preview")).toBe(true));
    const previewed = calls
      .filter(([c]) => c === "clients_preview")
      .map(([, a]) => (a as { client: string }).client);
    expect(previewed).toEqual(["cursor"]);
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
      secrets: [],
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
      expect(calls).toContainEqual([
        "clients_apply",
        { client: "cursor", kind: "connect", with_secrets: false, via: "stdio" },
      ]),
    );
  });
});

describe("Connecting through the gateway", () => {
  it("previews again with the gateway's URL, names where the token goes, and applies that", async () => {
    const calls: [string, unknown][] = [];
    const change = (via: string) => ({
      client: "cursor",
      path: "/home/me/.cursor/mcp.json",
      changes: true,
      diff:
        via === "gateway"
          ? '+      "url": "http://127.0.0.1:47100/mcp/github",\n+      "headers": { "Authorization": "Bearer [REDACTED]" }\n'
          : '+      "command": "/usr/bin/gatehouse",\n',
      not_imported: [],
      warnings: [],
      secrets: via === "gateway" ? [{ entry: "github", field: "headers.Authorization" }] : [],
    });
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "clients_list") return [cursor];
      if (cmd === "clients_preview" || cmd === "clients_apply")
        return [change((args as { via: string }).via)];
    });
    render(Clients, { clients: new ClientsStore(tauriBackend) });
    const section = await screen.findByRole("region", { name: "Cursor" });
    await fireEvent.click(within(section).getByRole("button", { name: "Connect…" }));
    const route = await screen.findByRole("combobox", { name: "Route through" });
    expect(route).toHaveValue("stdio");
    expect(screen.queryByText(/gateway token/)).toBeNull();

    await fireEvent.change(route, { target: { value: "gateway" } });
    const diff = await screen.findByText(/127\.0\.0\.1:47100\/mcp\/github/);
    expect(diff).toHaveTextContent("[REDACTED]");
    expect(screen.getByText(/gateway token, a secret hidden in the diff/)).toHaveTextContent(
      "into: github headers.Authorization",
    );
    expect(calls).toContainEqual([
      "clients_preview",
      { client: "cursor", kind: "connect", with_secrets: false, via: "gateway" },
    ]);

    await fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    await waitFor(() =>
      expect(calls).toContainEqual([
        "clients_apply",
        { client: "cursor", kind: "connect", with_secrets: false, via: "gateway" },
      ]),
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
            secrets: [],
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
      { client: "cursor", kind: "connect", with_secrets: false, via: "stdio" },
      { client: "claude-desktop", kind: "connect", with_secrets: false, via: "stdio" },
      { client: "goose", kind: "connect", with_secrets: false, via: "stdio" },
    ]);

    await fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    await waitFor(() =>
      expect(calls.filter(([c]) => c === "clients_apply").map(([, a]) => a)).toEqual([
        { client: "cursor", kind: "connect", with_secrets: false, via: "stdio" },
      ]),
    );
  });
});

describe("Restoring a client", () => {
  it("asks before putting plain-text secrets back, and leaves them out unless ticked", async () => {
    const calls: [string, { with_secrets?: boolean }][] = [];
    mockIPC((cmd, args) => {
      const a = args as { with_secrets?: boolean };
      calls.push([cmd, a]);
      if (cmd === "clients_list") return [cursor];
      if (cmd === "clients_preview" || cmd === "clients_apply")
        return [
          {
            client: "cursor",
            path: "/home/me/.cursor/mcp.json",
            changes: true,
            diff: a.with_secrets
              ? '+      "env": { "GITHUB_TOKEN": "•••" }\n'
              : '+      "env": { "GITHUB_TOKEN": "" }\n',
            not_imported: [],
            warnings: a.with_secrets ? [] : ["left empty, the values stay in the keychain"],
            secrets: [{ entry: "github", field: "env.GITHUB_TOKEN" }],
          },
        ];
    });
    render(Clients, { clients: new ClientsStore(tauriBackend) });
    const section = await screen.findByRole("region", { name: "Cursor" });
    await fireEvent.click(within(section).getByRole("button", { name: "Restore…" }));

    const choice = await screen.findByRole("checkbox", { name: /Put 1 plain-text secret back/ });
    expect(choice).not.toBeChecked();
    expect(choice.closest("label")).toHaveTextContent("github env.GITHUB_TOKEN");
    expect(screen.getByLabelText("Changes to /home/me/.cursor/mcp.json")).toHaveTextContent(
      '"GITHUB_TOKEN": ""',
    );

    // Ticking it previews again, so the diff shows what will be written.
    await fireEvent.click(choice);
    await waitFor(() =>
      expect(screen.getByLabelText("Changes to /home/me/.cursor/mcp.json")).toHaveTextContent(
        "•••",
      ),
    );
    expect(calls.filter(([c]) => c === "clients_preview").map(([, a]) => a.with_secrets)).toEqual([
      false,
      true,
    ]);
    await fireEvent.click(screen.getByRole("button", { name: "Restore" }));
    await waitFor(() =>
      expect(calls).toContainEqual([
        "clients_apply",
        { client: "cursor", kind: "restore", with_secrets: true, via: "stdio" },
      ]),
    );
  });
});

describe("Moving plain-text secrets to the keychain", () => {
  it("imports the client's servers, then previews the connect that takes them out of the file", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
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
        ];
      if (cmd === "clients_preview" || cmd === "clients_apply")
        return [
          {
            client: "cursor",
            path: "/home/me/.cursor/mcp.json",
            changes: true,
            diff: '-      "env": { "GITHUB_TOKEN": "•••" }\n+      "args": ["run", "github"]\n',
            not_imported: [],
            warnings: [],
            secrets: [],
          },
        ];
    });
    render(Clients, { clients: new ClientsStore(tauriBackend) });
    const section = await screen.findByRole("region", { name: "Cursor" });
    const note = within(section).getByRole("note");
    expect(note).toHaveTextContent("1 server has a secret written in this file.");
    await fireEvent.click(within(note).getByRole("button", { name: "Move to the keychain…" }));

    const diff = await screen.findByLabelText("Changes to /home/me/.cursor/mcp.json");
    expect(diff).toHaveTextContent('"run", "github"');
    expect(calls.map(([c]) => c)).toEqual(
      expect.arrayContaining(["clients_import", "clients_preview"]),
    );
    expect(calls.map(([c]) => c)).not.toContain("clients_apply");
    await fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    await waitFor(() =>
      expect(calls).toContainEqual([
        "clients_apply",
        { client: "cursor", kind: "connect", with_secrets: false, via: "stdio" },
      ]),
    );
  });
});
