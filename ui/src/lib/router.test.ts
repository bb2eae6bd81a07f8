import { describe, expect, it } from "vitest";
import { parseRoute, routeHash, serverHref } from "./router.svelte";

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
  ])("%j", (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it("writes the hash it reads", () => {
    for (const server of ["office", "my files", "a/b"]) {
      expect(parseRoute(serverHref(server))).toEqual({ page: "servers", server });
    }
    expect(routeHash({ page: "history", server: null })).toBe("/history");
  });
});
