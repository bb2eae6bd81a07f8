// The calls waiting for the person's approval. The engine's broker holds
// the queue; Rust pushes `approvals_changed` with the whole queue whenever
// it changes (a call arrives, is answered, times out or is withdrawn).
import type { Answer } from "../bindings/Answer";
import type { ApprovalRequest } from "../bindings/ApprovalRequest";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

export class ApprovalsStore {
  pending = $state<ApprovalRequest[]>([]);
  error = $state<GatehouseError | null>(null);
  /** The request shown; the oldest unless the person picked another. */
  selectedId = $state<string | null>(null);

  #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  get current(): ApprovalRequest | null {
    return this.pending.find((r) => r.id === this.selectedId) ?? this.pending[0] ?? null;
  }

  /** Loads the queue and follows changes; returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const unlisten = await this.#backend.listen("approvals_changed", (queue) => {
      this.pending = queue;
    });
    try {
      this.pending = await this.#backend.invoke("approvals_pending", {});
    } catch (e) {
      this.error = toGatehouseError(e);
    }
    return unlisten;
  }

  /** Answers `id`; the queue update arrives as an event. */
  async decide(id: string, answer: Answer): Promise<void> {
    try {
      await this.#backend.invoke("approvals_decide", { id, answer });
      this.error = null;
      this.pending = this.pending.filter((r) => r.id !== id);
      if (this.selectedId === id) this.selectedId = null;
    } catch (e) {
      this.error = toGatehouseError(e);
    }
  }
}
