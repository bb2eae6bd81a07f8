// The servers the engine knows. Rust is the source of truth: this store
// caches the list and re-reads it whenever Rust pushes `store_changed` for
// servers, whichever process made the change (the CLI, a proxy, this UI).
import type { NewServer } from "../bindings/NewServer";
import type { Server } from "../bindings/Server";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

export class ServersStore {
  list = $state<Server[]>([]);
  loaded = $state(false);
  error = $state<GatehouseError | null>(null);

  #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Loads the list and follows changes; returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const unlisten = await this.#backend.listen("store_changed", (topic) => {
      if (topic === "servers") void this.refresh();
    });
    await this.refresh();
    return unlisten;
  }

  async refresh(): Promise<void> {
    try {
      this.list = await this.#backend.invoke("server_list", {});
      this.error = null;
    } catch (e) {
      this.error = toGatehouseError(e);
    } finally {
      this.loaded = true;
    }
  }

  async add(server: NewServer): Promise<Server> {
    const added = await this.#backend.invoke("server_add", { server });
    await this.refresh();
    return added;
  }

  async remove(name: string): Promise<void> {
    await this.#backend.invoke("server_remove", { name });
    await this.refresh();
  }
}
