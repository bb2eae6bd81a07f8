import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { GatehouseError, tauriBackend, toGatehouseError } from "./ipc";

afterEach(() => clearMocks());

describe("tauriBackend", () => {
  it("sends the command with its arguments and returns the result", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return null;
    });
    await tauriBackend.invoke("server_remove", { name: "demo" });
    expect(calls).toEqual([["server_remove", { name: "demo" }]]);
  });

  it("turns an engine error into a GatehouseError with its code", async () => {
    mockIPC(() => {
      throw { code: "server_exists", message: "a server named 'demo' already exists" };
    });
    const error = await tauriBackend.invoke("server_list", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseError);
    expect(error).toMatchObject({
      code: "server_exists",
      message: expect.stringContaining("demo"),
    });
  });
});

describe("toGatehouseError", () => {
  it("wraps anything that is not an engine error", () => {
    expect(toGatehouseError("boom")).toMatchObject({ code: "ipc", message: "boom" });
  });
});
