// The Install page's state: a search of the MCP Registry (pages followed by
// their cursor), the chosen server's versions, the vetting report of the
// chosen version, and the secrets the person enters for it. Every answer
// that arrives after the person moved on (a newer search, another server or
// version) is dropped, so the page never shows a stale report. Installing
// follows the engine's `install_progress` events for the server installed.
import type { InstallPhase } from "../bindings/InstallPhase";
import type { KeyValueInput } from "../bindings/KeyValueInput";
import type { PackageReport } from "../bindings/PackageReport";
import type { RegistryEntry } from "../bindings/RegistryEntry";
import type { RegistryInstalled } from "../bindings/RegistryInstalled";
import type { VettingReport } from "../bindings/VettingReport";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

/** A secret or required environment variable of a package, to ask for. */
export interface EnvInput {
  /** The variable. */
  input: KeyValueInput;
  /** The package that reads it (`registry_type:identifier`). */
  package: string;
}

export class InstallStore {
  /** The search as last run. */
  query = $state("");
  /** The search results so far (all pages read). */
  results = $state<RegistryEntry[]>([]);
  /** The cursor of the next page; null on the last. */
  nextCursor = $state<string | null>(null);
  /** Whether a search has answered. */
  searched = $state(false);
  /** The server whose versions are shown. */
  server = $state<string | null>(null);
  /** Its versions, as the registry lists them. */
  versions = $state<RegistryEntry[]>([]);
  /** The version vetted. */
  version = $state<string | null>(null);
  /** The vetting report of `server` at `version`. */
  report = $state<VettingReport | null>(null);
  /** The values typed for the report's environment variables, by name. */
  values = $state<Record<string, string>>({});
  /** The person confirmed installing despite an ownership problem. */
  confirmMismatch = $state(false);
  /**
   * The person agreed to install a version the registry lists as
   * deprecated (or with a status Gatehouse does not know). A deleted
   * version is never installed, agreed or not.
   */
  allowDeprecated = $state(false);
  /** The name to register the server under (`gatehouse run NAME`). */
  localName = $state("");
  /** A request is running: which one. */
  busy = $state<"search" | "more" | "versions" | "vet" | "install" | null>(null);
  /** Where the running install is, as the engine reports it. */
  phase = $state<InstallPhase | null>(null);
  /** The install that finished, for the "Connect to clients" step. */
  installed = $state<RegistryInstalled | null>(null);
  error = $state<GatehouseError | null>(null);

  #backend: Backend;
  /** Bumped by every new request of a kind; older answers are dropped. */
  #searchSeq = 0;
  #serverSeq = 0;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Searches the registry (first page). */
  async search(query: string): Promise<void> {
    const seq = ++this.#searchSeq;
    this.query = query;
    this.busy = "search";
    try {
      const page = await this.#backend.invoke("registry_search", { query, cursor: null });
      if (seq !== this.#searchSeq) return;
      this.results = page.servers;
      this.nextCursor = page.nextCursor;
      this.searched = true;
      this.error = null;
    } catch (e) {
      if (seq === this.#searchSeq) this.error = toGatehouseError(e);
    } finally {
      if (seq === this.#searchSeq) this.busy = null;
    }
  }

  /** Reads the next page of the current search, if there is one. */
  async loadMore(): Promise<void> {
    const cursor = this.nextCursor;
    if (cursor === null) return;
    const seq = this.#searchSeq;
    this.busy = "more";
    try {
      const page = await this.#backend.invoke("registry_search", { query: this.query, cursor });
      if (seq !== this.#searchSeq) return;
      // A server listed on both pages (the registry changed in between) shows once.
      // A local lookup, not state: a plain Set.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      const seen = new Set(this.results.map((e) => e.server.name));
      this.results = [...this.results, ...page.servers.filter((e) => !seen.has(e.server.name))];
      this.nextCursor = page.nextCursor;
      this.error = null;
    } catch (e) {
      if (seq === this.#searchSeq) this.error = toGatehouseError(e);
    } finally {
      if (seq === this.#searchSeq) this.busy = null;
    }
  }

  /** Shows a server's versions and vets its latest one. */
  async choose(name: string): Promise<void> {
    const seq = ++this.#serverSeq;
    this.server = name;
    this.versions = [];
    this.installed = null;
    this.localName = defaultLocalName(name);
    this.#clearReport();
    this.busy = "versions";
    try {
      const versions = await this.#backend.invoke("registry_versions", { name });
      if (seq !== this.#serverSeq) return;
      this.versions = versions;
      this.error = null;
    } catch (e) {
      if (seq === this.#serverSeq) this.error = toGatehouseError(e);
      return;
    } finally {
      if (seq === this.#serverSeq) this.busy = null;
    }
    const latest = this.versions.find((v) => v.isLatest) ?? this.versions[0];
    if (latest) await this.vet(latest.server.version);
  }

  /** Vets one version of the chosen server. */
  async vet(version: string): Promise<void> {
    const name = this.server;
    if (name === null) return;
    const seq = ++this.#serverSeq;
    this.#clearReport();
    this.version = version;
    this.busy = "vet";
    try {
      const report = await this.#backend.invoke("registry_vet", { name, version });
      if (seq !== this.#serverSeq) return;
      this.report = report;
      this.values = Object.fromEntries(
        this.envInputs.map(({ input }) => [
          input.name,
          input.isSecret ? "" : (input.default ?? ""),
        ]),
      );
      this.error = null;
    } catch (e) {
      if (seq === this.#serverSeq) this.error = toGatehouseError(e);
    } finally {
      if (seq === this.#serverSeq) this.busy = null;
    }
  }

  /** Follows install progress; returns the unsubscribe function. */
  start(): Promise<() => void> {
    return this.#backend.listen("install_progress", (progress) => {
      if (this.busy === "install" && progress.name === this.server) this.phase = progress.phase;
    });
  }

  /**
   * Installs the vetted version: the values typed go to the keychain (a
   * plain value left at its default is not sent: it stays the default).
   */
  async install(): Promise<void> {
    const name = this.server;
    const version = this.version;
    if (name === null || version === null || this.blocker !== null) return;
    const secrets: [string, string][] = [];
    for (const { input } of this.envInputs) {
      const value = this.values[input.name] ?? "";
      if (value !== "" && (input.isSecret || value !== (input.default ?? "")))
        secrets.push([input.name, value]);
    }
    const seq = this.#serverSeq;
    this.busy = "install";
    this.phase = "vetting";
    try {
      const installed = await this.#backend.invoke("registry_install", {
        name,
        version,
        options: {
          local_name: this.localName.trim() || null,
          confirm_mismatch: this.confirmMismatch,
          allow_deprecated: this.statusNeedsConsent && this.allowDeprecated,
          secrets,
        },
      });
      if (seq !== this.#serverSeq) return;
      this.installed = installed;
      this.values = {};
      this.error = null;
    } catch (e) {
      if (seq === this.#serverSeq) this.error = toGatehouseError(e);
    } finally {
      if (seq === this.#serverSeq) {
        this.busy = null;
        this.phase = null;
      }
    }
  }

  /** Back to the search results. */
  back(): void {
    ++this.#serverSeq;
    this.server = null;
    this.versions = [];
    this.installed = null;
    this.#clearReport();
    this.busy = null;
  }

  #clearReport(): void {
    this.version = null;
    this.report = null;
    this.values = {};
    this.confirmMismatch = false;
    this.allowDeprecated = false;
  }

  /** The package that would be installed: the first one with a vetted spec. */
  get package(): PackageReport | null {
    return this.report?.packages.find((p) => p.spec !== null) ?? null;
  }

  /** The environment variables the installed package reads, secrets first. */
  get envInputs(): EnvInput[] {
    const pkg = this.package;
    if (!pkg) return [];
    const label = `${pkg.registry_type}:${pkg.identifier}`;
    return pkg.environment_variables
      .filter((input) => input.value === null)
      .map((input) => ({ input, package: label }))
      .sort((a, b) => Number(b.input.isSecret) - Number(a.input.isSecret));
  }

  /** Required variables still empty. */
  get missing(): string[] {
    return this.envInputs
      .filter(({ input }) => input.isRequired && !(this.values[input.name] ?? "").trim())
      .map(({ input }) => input.name);
  }

  /** Whether the package's ownership did not check out: install needs confirmation. */
  get ownershipProblem(): boolean {
    const pkg = this.package;
    return pkg !== null && pkg.ownership.outcome.kind !== "ok";
  }

  /**
   * Whether the vetted version is installable only with the person's
   * explicit say-so: deprecated, or of a status Gatehouse does not know.
   */
  get statusNeedsConsent(): boolean {
    const status = this.report?.status;
    return status === "deprecated" || status === "unknown";
  }

  /** Why Install is not possible yet, or null when it is. */
  get blocker(): string | null {
    const report = this.report;
    if (!report) return "Choose a version first.";
    if (this.installed) return "Installed.";
    if (report.status === "deleted")
      return "This version was deleted from the registry; it cannot be installed.";
    if (this.statusNeedsConsent && !this.allowDeprecated)
      return `This version is ${report.status}: confirm that you install it anyway.`;
    if (!this.package)
      return "No package of this version has an exact version and a checksum to pin.";
    if (!this.localName.trim()) return "Choose the name to register it under.";
    if (this.missing.length) return `Fill in ${this.missing.join(", ")}.`;
    if (this.ownershipProblem && !this.confirmMismatch)
      return "Confirm that you install a package whose ownership did not check out.";
    return null;
  }
}

/** The engine's default local name: the registry name after `/`, made a valid server name. */
export function defaultLocalName(name: string): string {
  const last = name.slice(name.lastIndexOf("/") + 1);
  const clean = last
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .replace(/^[._-]+/, "")
    .slice(0, 64);
  return clean || "server";
}
