import { describe, expect, it } from "vitest";
import { historyHref, parseRoute, routeHash, serverHref } from "./router.svelte";

describe("routes", () => {
  it.each([
    ["", { page: "overview", server: null }],
    ["#/clients", { page: "clients", server: null }],
    ["#/servers", { page: "servers", server: null }],
    ["#/servers/", { page: "servers", server: null }],
    ["#/servers/office", { page: "servers", server: "office" }],
    ["#/servers/my%20files", { page: "servers", server: "my files" }],
    ["#/servers/%E0%A4%A", { page: "servers", server: null }],
    ["#/clients/office", { page: "clients", server: null }],
    ["#/nowhere", { page: "overview", server: null }],
    ["#/history?id=42", { page: "history", server: null, query: { id: "42" } }],
    ["#/history?", { page: "history", server: null }],
    ["#/servers/office?tab=rules", { page: "servers", server: "office", query: { tab: "rules" } }],
  ])("%j", (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it("writes the hash it reads", () => {
    for (const server of ["office", "my files", "a/b"]) {
      expect(parseRoute(serverHref(server))).toEqual({ page: "servers", server });
    }
    expect(routeHash({ page: "history", server: null })).toBe("/history");
    expect(historyHref(7)).toBe("#/history?id=7");
    expect(parseRoute(historyHref(7))).toEqual({
      page: "history",
      server: null,
      query: { id: "7" },
    });
  });
});
