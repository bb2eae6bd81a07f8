// The Alerts page's state: the alerts the rules raised (open ones, or all),
// the rules with their mute state, and the open count for the menu's badge.
// Re-read when the store's `alerts` topic moves (an alert raised or
// acknowledged, a rule muted, in this app or from a terminal); bursts of
// changes are coalesced into one read at a time.
import type { Alert } from "../bindings/Alert";
import type { AlertRule } from "../bindings/AlertRule";
import type { AlertRuleInfo } from "../bindings/AlertRuleInfo";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

export class AlertsStore {
  /** The alerts shown, newest first: open ones, or all with `showAll`. */
  alerts = $state<Alert[]>([]);
  rules = $state<AlertRuleInfo[]>([]);
  /** Whether acknowledged alerts are listed too. */
  showAll = $state(false);
  loaded = $state(false);
  error = $state<GatehouseError | null>(null);
  /** Alerts or rules being changed, so their buttons wait. */
  busy = $state(false);

  /** How many alerts are open (the badge). */
  readonly open = $derived(this.alerts.filter((a) => a.acked_at === null).length);

  #backend: Backend;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Loads the alerts and follows changes; returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const stop = await this.#backend.listen("store_changed", (topic) => {
      if (topic === "alerts") void this.refresh();
    });
    await this.refresh();
    return stop;
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
          const [alerts, rules] = await Promise.all([
            this.#backend.invoke("alerts_list", { all: this.showAll }),
            this.#backend.invoke("alerts_rules", {}),
          ]);
          // An engine without the alert commands answers nothing: no alerts.
          this.alerts = alerts ?? [];
          this.rules = rules ?? [];
          this.error = null;
        } catch (e) {
          this.error = toGatehouseError(e);
        }
        this.loaded = true;
      } while (this.#again);
    })().finally(() => (this.#running = null));
    return this.#running;
  }

  /** The short title of `rule`, as the engine names it. */
  title(rule: AlertRule): string {
    return this.rules.find((r) => r.rule === rule)?.title ?? rule;
  }

  async setShowAll(all: boolean): Promise<void> {
    this.showAll = all;
    await this.refresh();
  }

  /** Acknowledges one alert. */
  ack(id: number): Promise<void> {
    return this.#change(() => this.#backend.invoke("alerts_ack", { which: { ids: [id] } }));
  }

  /** Acknowledges every open alert. */
  ackAll(): Promise<void> {
    return this.#change(() => this.#backend.invoke("alerts_ack", { which: "all" }));
  }

  /** Mutes or unmutes a rule. */
  setMuted(rule: AlertRule, muted: boolean): Promise<void> {
    return this.#change(() => this.#backend.invoke("alerts_mute", { rule, muted }));
  }

  /**
   * Sets a rule's setting (quiet hours `HH:MM-HH:MM` or `off`, the denial
   * burst `COUNT/SECONDS`); empty or null restores the default. A value the
   * engine refuses shows as the store's error.
   */
  configure(rule: AlertRule, setting: string | null): Promise<void> {
    const value = setting?.trim() ? setting.trim() : null;
    return this.#change(() => this.#backend.invoke("alerts_configure", { rule, setting: value }));
  }

  async #change(run: () => Promise<unknown>): Promise<void> {
    this.busy = true;
    try {
      await run();
      this.error = null;
    } catch (e) {
      this.error = toGatehouseError(e);
    } finally {
      this.busy = false;
    }
    // The store's change event follows too; reading now shows it at once.
    await this.refresh();
  }
}
