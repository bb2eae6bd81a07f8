import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { VettingReport } from "../bindings/VettingReport";
import { tauriBackend } from "../ipc";
import { entry, report } from "./fixtures";
import { InstallStore, defaultLocalName } from "./install.svelte";

afterEach(() => clearMocks());

describe("InstallStore", () => {
  it("follows the search cursor and lists a server once", async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== "registry_search") return null;
      calls.push(args);
      const a = args as { cursor: string | null };
      return a.cursor === null
        ? { servers: [entry("a/one"), entry("a/two")], nextCursor: "c1" }
        : { servers: [entry("a/two"), entry("a/three")], nextCursor: null };
    });
    const store = new InstallStore(tauriBackend);
    await store.search("a");
    expect(store.results.map((e) => e.server.name)).toEqual(["a/one", "a/two"]);
    expect(store.nextCursor).toBe("c1");
    await store.loadMore();
    expect(store.results.map((e) => e.server.name)).toEqual(["a/one", "a/two", "a/three"]);
    expect(store.nextCursor).toBeNull();
    expect(calls).toEqual([
      { query: "a", cursor: null },
      { query: "a", cursor: "c1" },
    ]);
  });

  it("vets the latest version and asks for the required secret", async () => {
    const vetted: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "registry_versions")
        return [
          entry("io.github.acme/weather", "1.1.0", { isLatest: false, status: "deprecated" }),
          entry("io.github.acme/weather", "1.2.0"),
        ];
      if (cmd === "registry_vet") {
        vetted.push(args);
        return report();
      }
      return null;
    });
    const store = new InstallStore(tauriBackend);
    await store.choose("io.github.acme/weather");
    expect(vetted).toEqual([{ name: "io.github.acme/weather", version: "1.2.0" }]);
    expect(store.version).toBe("1.2.0");
    expect(store.envInputs.map((e) => e.input.name)).toEqual(["WEATHER_KEY", "UNITS"]);
    expect(store.values).toEqual({ WEATHER_KEY: "", UNITS: "metric" });
    expect(store.missing).toEqual(["WEATHER_KEY"]);
    expect(store.blocker).toBe("Fill in WEATHER_KEY.");
    store.values.WEATHER_KEY = "s3cret";
    expect(store.blocker).toBeNull();
  });

  it("needs confirmation of an ownership mismatch and refuses a deprecated version", async () => {
    let which: "ok" | "mismatch" = "mismatch";
    let status: VettingReport["status"] = "active";
    mockIPC((cmd) => {
      if (cmd === "registry_versions") return [entry("io.github.acme/weather", "1.2.0")];
      if (cmd === "registry_vet") return report({ status }, which);
      return null;
    });
    const store = new InstallStore(tauriBackend);
    await store.choose("io.github.acme/weather");
    store.values.WEATHER_KEY = "s3cret";
    expect(store.ownershipProblem).toBe(true);
    expect(store.blocker).toMatch(/ownership did not check out/);
    store.confirmMismatch = true;
    expect(store.blocker).toBeNull();

    which = "ok";
    status = "deprecated";
    await store.vet("1.2.0");
    expect(store.confirmMismatch).toBe(false);
    expect(store.blocker).toBe("This version is deprecated: confirm that you install it anyway.");
  });

  it("installs a deprecated version only with explicit consent, and never a deleted one", async () => {
    let status: VettingReport["status"] = "deprecated";
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
    const store = new InstallStore(tauriBackend);
    await store.choose("io.github.acme/weather");
    store.values.WEATHER_KEY = "s3cret";
    expect(store.statusNeedsConsent).toBe(true);
    expect(store.blocker).toBe("This version is deprecated: confirm that you install it anyway.");
    await store.install();
    expect(installs).toEqual([]);

    store.allowDeprecated = true;
    expect(store.blocker).toBeNull();
    await store.install();
    expect(installs.map((i) => i.options.allow_deprecated)).toEqual([true]);

    // Consent is per version: vetting again asks again; a deleted version
    // stays refused whatever was agreed.
    status = "deleted";
    await store.vet("1.2.0");
    expect(store.allowDeprecated).toBe(false);
    store.allowDeprecated = true;
    expect(store.statusNeedsConsent).toBe(false);
    expect(store.blocker).toBe(
      "This version was deleted from the registry; it cannot be installed.",
    );
    await store.install();
    expect(installs).toHaveLength(1);
  });

  it("shows the engine's error and keeps no stale report", async () => {
    mockIPC((cmd) => {
      if (cmd === "registry_versions") return [entry("x/y")];
      if (cmd === "registry_vet")
        throw { code: "registry", message: "GET http://127.0.0.1:1/v0.1/servers: unreachable" };
      return null;
    });
    const store = new InstallStore(tauriBackend);
    await store.choose("x/y");
    expect(store.report).toBeNull();
    expect(store.error?.code).toBe("registry");
    expect(store.blocker).toBe("Choose a version first.");
  });

  it("installs with the typed secrets, following progress, and keeps the engine's error code", async () => {
    const installs: unknown[] = [];
    let fail = true;
    let release: (() => void) | null = null;
    mockIPC(
      async (cmd, args) => {
        if (cmd === "registry_versions") return [entry("io.github.acme/weather", "1.2.0")];
        if (cmd === "registry_vet") return report({}, "mismatch");
        if (cmd === "registry_install") {
          installs.push(args);
          if (fail) throw { code: "ownership_unverified", message: "did not check out" };
          await emit("install_progress", { name: "io.github.acme/weather", phase: "verifying" });
          await emit("install_progress", { name: "io.github.other/x", phase: "hashing" });
          await new Promise<void>((r) => (release = r));
          return {
            server: {
              name: "weather",
              transport: "stdio",
              command: "node",
              args: [],
              env: {},
              secrets: [],
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
    const store = new InstallStore(tauriBackend);
    const stop = await store.start();
    await store.choose("io.github.acme/weather");
    expect(store.localName).toBe("weather");
    store.values.WEATHER_KEY = "s3cret";
    store.confirmMismatch = true;

    await store.install();
    expect(store.error?.code).toBe("ownership_unverified");
    expect(store.installed).toBeNull();
    expect(installs[0]).toEqual({
      name: "io.github.acme/weather",
      version: "1.2.0",
      // UNITS left at its default is not sent.
      options: {
        local_name: "weather",
        confirm_mismatch: true,
        allow_deprecated: false,
        secrets: [["WEATHER_KEY", "s3cret"]],
      },
    });

    fail = false;
    const running = store.install();
    await vi.waitFor(() => expect(store.phase).toBe("verifying"));
    expect(store.busy).toBe("install");
    await vi.waitFor(() => expect(release).not.toBeNull());
    release!();
    await running;
    expect(store.installed?.server.name).toBe("weather");
    expect(store.error).toBeNull();
    expect(store.busy).toBeNull();
    expect(store.blocker).toBe("Installed.");
    stop();
  });

  it("derives the local name as the engine does", () => {
    expect(defaultLocalName("io.github.acme/weather")).toBe("weather");
    expect(defaultLocalName("com.example/my tools!")).toBe("my-tools-");
    expect(defaultLocalName("x/_hidden")).toBe("hidden");
    expect(defaultLocalName("x/@@@")).toBe("server");
  });
});
