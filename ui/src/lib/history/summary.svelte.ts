// The Overview's last 24 hours: calls, denials, errors, the top tools and
// the calls waiting for approval (`audit_summary`), and the open alerts
// (`alerts_list`). Re-read when new audit records are committed, alerts
// change or the approval queue changes; bursts of changes are coalesced
// into one read at a time.
import type { AuditSummary } from "../bindings/AuditSummary";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

export class SummaryStore {
  summary = $state<AuditSummary | null>(null);
  /** Open (unacknowledged) alerts, or null until read. */
  openAlerts = $state<number | null>(null);
  error = $state<GatehouseError | null>(null);

  #backend: Backend;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Loads the summary and follows changes; returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const stops = await Promise.all([
      this.#backend.listen("store_changed", (topic) => {
        if (topic === "audit" || topic === "alerts") void this.refresh();
      }),
      this.#backend.listen("approvals_changed", () => void this.refresh()),
    ]);
    await this.refresh();
    return () => stops.forEach((stop) => stop());
  }

  async refresh(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          const [summary, alerts] = await Promise.all([
            this.#backend.invoke("audit_summary", {}),
            this.#backend.invoke("alerts_list", { all: false }),
          ]);
          this.summary = summary;
          this.openAlerts = alerts.length;
          this.error = null;
        } catch (e) {
          this.error = toGatehouseError(e);
        }
      } while (this.#again);
    })().finally(() => (this.#running = null));
    return this.#running;
  }
}
