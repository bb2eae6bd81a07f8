// The Overview's last 24 hours: calls, denials, errors, the top tools and
// the calls waiting for approval (`audit_summary`), and the open alerts.
// Re-read when new audit records are committed or the approval queue
// changes; bursts of changes are coalesced into one read at a time.
import type { AuditSummary } from "../bindings/AuditSummary";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

export class SummaryStore {
  summary = $state<AuditSummary | null>(null);
  /** Open (unacknowledged) alerts, or null while the count is not available. */
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
        if (topic === "audit") void this.refresh();
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
            this.#loadOpenAlerts(),
          ]);
          this.summary = summary;
          this.openAlerts = alerts;
          this.error = null;
        } catch (e) {
          this.error = toGatehouseError(e);
        }
      } while (this.#again);
    })().finally(() => (this.#running = null));
    return this.#running;
  }

  /**
   * The number of open alerts. Alerts are not served to the UI yet (no
   * `alerts_list` command): until they are, the count is unknown (null)
   * and the card says so.
   */
  async #loadOpenAlerts(): Promise<number | null> {
    return null;
  }
}
