import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Server } from "../bindings/Server";
import { tauriBackend } from "../ipc";
import { ServersStore } from "./servers.svelte";

afterEach(() => clearMocks());

const demo: Server = {
  name: "demo",
  transport: "stdio",
  command: "python3",
  args: ["server.py"],
  env: {},
  secrets: [],
  created_at: "2026-11-21T10:00:00.000000Z",
};

describe("ServersStore", () => {
  it("re-reads the list when Rust pushes a servers change", async () => {
    let servers: Server[] = [];
    mockIPC(
      (cmd) => {
        if (cmd === "server_list") return servers;
      },
      { shouldMockEvents: true },
    );
    const store = new ServersStore(tauriBackend);
    const stop = await store.start();
    expect(store.list).toEqual([]);

    servers = [demo];
    await emit("store_changed", "servers");
    await vi.waitFor(() => expect(store.list.map((s) => s.name)).toEqual(["demo"]));
    stop();
  });

  it("keeps the engine's error for the page to show", async () => {
    mockIPC(() => {
      throw { code: "database", message: "database error: disk I/O error" };
    });
    const store = new ServersStore(tauriBackend);
    await store.refresh();
    expect(store.loaded).toBe(true);
    expect(store.error?.code).toBe("database");
  });
});
