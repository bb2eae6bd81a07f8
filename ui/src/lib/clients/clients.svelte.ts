// The AI clients' MCP configs, as Rust reads them from the home directory.
// The files belong to the clients and change without Gatehouse knowing, so
// the page re-reads them when it is opened and on request.
import type { ChangeKind } from "../bindings/ChangeKind";
import type { Client } from "../bindings/Client";
import type { ClientChange } from "../bindings/ClientChange";
import type { ClientSummary } from "../bindings/ClientSummary";
import type { Imported } from "../bindings/Imported";
import type { Via } from "../bindings/Via";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

export class ClientsStore {
  list = $state<ClientSummary[]>([]);
  loaded = $state(false);
  error = $state<GatehouseError | null>(null);

  #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  async refresh(): Promise<void> {
    try {
      this.list = await this.#backend.invoke("clients_list", {});
      this.error = null;
    } catch (e) {
      this.error = toGatehouseError(e);
    } finally {
      this.loaded = true;
    }
  }

  /** Registers `client`'s servers in Gatehouse, secrets into the keychain. */
  async import(client: Client): Promise<Imported[]> {
    const report = await this.#backend.invoke("clients_import", { client });
    await this.refresh();
    return report;
  }

  /** What connecting or restoring `client` would change: shown before.
   * `withSecrets`: a restore puts plain-text secrets back (else leaves
   * their values empty; they stay in the keychain). `via`: a connect
   * launches `gatehouse run`, or names the gateway's URL with the client's
   * token where the client takes URLs. */
  preview(
    client: Client,
    kind: ChangeKind,
    withSecrets = false,
    via: Via = "stdio",
  ): Promise<ClientChange[]> {
    return this.#backend.invoke("clients_preview", {
      client,
      kind,
      with_secrets: withSecrets,
      via,
    });
  }

  /** Makes the change, then re-reads the configs. */
  async apply(
    client: Client,
    kind: ChangeKind,
    withSecrets = false,
    via: Via = "stdio",
  ): Promise<ClientChange[]> {
    const done = await this.#backend.invoke("clients_apply", {
      client,
      kind,
      with_secrets: withSecrets,
      via,
    });
    await this.refresh();
    return done;
  }

  /** How many entries still launch their server directly. */
  get unrouted(): number {
    return this.list.reduce((n, c) => n + c.servers.filter((s) => !s.routed).length, 0);
  }
}
