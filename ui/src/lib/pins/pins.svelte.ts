// One server's pins, as its detail page shows them: each tool's pin state
// and what awaits review. Re-read when Rust pushes `store_changed` for pins
// (a proxy quarantined something, or the CLI approved it), tools or servers.
import type { PinItem } from "../bindings/PinItem";
import type { PinMode } from "../bindings/PinMode";
import type { ServerPins } from "../bindings/ServerPins";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

const TOPICS: ReadonlySet<string> = new Set(["pins", "tools", "servers"]);

export class PinsStore {
  readonly server: string;
  pins = $state<ServerPins | null>(null);
  error = $state<GatehouseError | null>(null);

  #backend: Backend;

  constructor(backend: Backend, server: string) {
    this.#backend = backend;
    this.server = server;
  }

  /** What awaits the person: changed, new and rejected definitions. */
  get waiting(): PinItem[] {
    return this.pins?.items.filter((i) => i.state !== "pinned") ?? [];
  }

  /** Loads the pins and follows changes; returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const unlisten = await this.#backend.listen("store_changed", (topic) => {
      if (TOPICS.has(topic)) void this.refresh();
    });
    await this.refresh();
    return unlisten;
  }

  async refresh(): Promise<void> {
    try {
      this.pins = await this.#backend.invoke("pins_show", { server: this.server });
      this.error = null;
    } catch (e) {
      this.error = toGatehouseError(e);
    }
  }

  /** Pins the offered definition: clients see it at their next listing. */
  async approve(item: PinItem): Promise<void> {
    await this.#backend.invoke("pins_approve", {
      server: this.server,
      kind: item.kind,
      name: item.name,
    });
    await this.refresh();
  }

  /** Sets the server's pin mode; `null` follows the global default. */
  async setMode(mode: PinMode | null): Promise<void> {
    await this.#backend.invoke("pins_set_mode", { server: this.server, mode });
    await this.refresh();
  }

  /** Keeps it hidden until the server offers another definition. */
  async reject(item: PinItem): Promise<void> {
    await this.#backend.invoke("pins_reject", {
      server: this.server,
      kind: item.kind,
      name: item.name,
    });
    await this.refresh();
  }
}
