// One server's policy, as its detail page shows it. Rust is the source of
// truth: the store re-reads the policy whenever Rust pushes `store_changed`
// for policies, tools or servers, whichever process made the change (the
// CLI, a proxy that learnt new tools, an approval's "Always allow").
import type { ArgumentRules } from "../bindings/ArgumentRules";
import type { ArgVerdict } from "../bindings/ArgVerdict";
import type { PolicyChange } from "../bindings/PolicyChange";
import type { ServerPolicy } from "../bindings/ServerPolicy";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

/** The `store_changed` topics a server's policy depends on. */
const TOPICS: ReadonlySet<string> = new Set(["policies", "tools", "servers"]);

export class PolicyStore {
  readonly server: string;
  policy = $state<ServerPolicy | null>(null);
  loaded = $state(false);
  error = $state<GatehouseError | null>(null);

  #backend: Backend;

  constructor(backend: Backend, server: string) {
    this.#backend = backend;
    this.server = server;
  }

  /** Loads the policy and follows changes; returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const unlisten = await this.#backend.listen("store_changed", (topic) => {
      if (TOPICS.has(topic)) void this.refresh();
    });
    await this.refresh();
    return unlisten;
  }

  async refresh(): Promise<void> {
    try {
      this.policy = await this.#backend.invoke("policy_show", { server: this.server });
      this.error = null;
    } catch (e) {
      this.error = toGatehouseError(e);
    } finally {
      this.loaded = true;
    }
  }

  /** Makes one change, then re-reads. A refusal (such as
   * `needs_confirmation`) is thrown as a `GatehouseError`. */
  async change(change: PolicyChange): Promise<void> {
    await this.#backend.invoke("policy_change", { server: this.server, change });
    await this.refresh();
  }

  /** What `rules` would make of a call of `tool` with `args` (JSON text). */
  preview(tool: string, rules: ArgumentRules, args: string): Promise<ArgVerdict> {
    return this.#backend.invoke("policy_preview", {
      server: this.server,
      tool,
      rules,
      arguments: args,
    });
  }
}
