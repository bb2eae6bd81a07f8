import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import { AlertsStore } from "../../lib/alerts/alerts.svelte";
import type { Alert } from "../../lib/bindings/Alert";
import type { AlertAck } from "../../lib/bindings/AlertAck";
import type { AlertRule } from "../../lib/bindings/AlertRule";
import type { AlertRuleInfo } from "../../lib/bindings/AlertRuleInfo";
import { tauriBackend } from "../../lib/ipc";
import App from "../../App.svelte";
import Alerts from "./Alerts.svelte";

afterEach(() => {
  cleanup();
  clearMocks();
});

const deletes: Alert = {
  id: 2,
  rule: "destructive-streak",
  raised_at: "2026-11-20T12:00:05Z",
  time: "2026-11-20T12:00:04Z",
  server: "files",
  session: "0123456789abcdef",
  tool: "delete_file",
  summary: "3 destructive calls in a row: delete_file ×3",
  records: [
    { id: 10, kept: false },
    { id: 11, kept: true },
    { id: 12, kept: true },
  ],
  acked_at: null,
};

const domain: Alert = {
  ...deletes,
  id: 1,
  rule: "new-domain",
  tool: "fetch",
  summary: "'fetch' targeted evil.example for the first time (before, only api.github.com)",
  records: [{ id: 7, kept: true }],
};

const rules = (muted: AlertRule[]): AlertRuleInfo[] =>
  (["destructive-streak", "new-domain", "quiet-hours"] as AlertRule[]).map((rule) => ({
    rule,
    title:
      {
        "destructive-streak": "Destructive calls in a row",
        "new-domain": "Request to a new domain",
        "quiet-hours": "Call during quiet hours",
      }[rule as string] ?? rule,
    description: `watches for ${rule}`,
    muted: muted.includes(rule),
    setting: rule === "quiet-hours" ? "off" : null,
  }));

/** A fake engine: open alerts, acknowledging and muting. */
function engine() {
  const state = {
    alerts: [deletes, domain],
    muted: [] as AlertRule[],
    acks: [] as AlertAck[],
    lists: [] as boolean[],
    settings: [] as [AlertRule, string | null][],
    quiet: "off",
  };
  mockIPC(
    (cmd, args) => {
      const a = args as Record<string, unknown>;
      if (cmd === "alerts_list") {
        state.lists.push(a.all as boolean);
        return a.all ? state.alerts : state.alerts.filter((x) => x.acked_at === null);
      }
      if (cmd === "alerts_rules")
        return rules(state.muted).map((r) =>
          r.rule === "quiet-hours" ? { ...r, setting: state.quiet } : r,
        );
      if (cmd === "server_list") return [];
      if (cmd === "alerts_configure") {
        const { rule, setting } = a as { rule: AlertRule; setting: string | null };
        if (setting !== null && !/^\d\d:\d\d-\d\d:\d\d$|^off$/.test(setting)) {
          throw { code: "invalid_spec", message: `quiet hours "${setting}" are not HH:MM-HH:MM` };
        }
        state.settings.push([rule, setting]);
        state.quiet = setting ?? "off";
        return null;
      }
      if (cmd === "alerts_ack") {
        const which = a.which as AlertAck;
        state.acks.push(which);
        state.alerts = state.alerts.map((x) =>
          which === "all" || which.ids.includes(x.id)
            ? { ...x, acked_at: "2026-11-20T13:00:00Z" }
            : x,
        );
        return 1;
      }
      if (cmd === "alerts_mute") {
        const { rule, muted } = a as { rule: AlertRule; muted: boolean };
        state.muted = muted ? [...state.muted, rule] : state.muted.filter((r) => r !== rule);
        return null;
      }
    },
    { shouldMockEvents: true },
  );
  return state;
}

describe("Alerts page", () => {
  it("lists open alerts with their rule, place, summary and records", async () => {
    engine();
    const store = new AlertsStore(tauriBackend);
    render(Alerts, { alerts: store });
    await store.start();
    const item = await screen.findByText(/3 destructive calls in a row/);
    const card = item.closest("li")!;
    expect(card).toHaveTextContent("Destructive calls in a row");
    expect(card).toHaveTextContent("server files");
    expect(card).toHaveTextContent("tool delete_file");
    expect(card).toHaveTextContent("session 01234567");
    // Records link to the History page; a deleted one says so.
    const links = within(card).getAllByRole("link");
    expect(links.map((l) => l.getAttribute("href"))).toEqual([
      "#/history?id=11",
      "#/history?id=12",
    ]);
    expect(card).toHaveTextContent("#10 (record no longer kept)");
    expect(store.open).toBe(2);
  });

  it("acknowledges one alert, then all, and can show acknowledged ones", async () => {
    const state = engine();
    const store = new AlertsStore(tauriBackend);
    render(Alerts, { alerts: store });
    await store.start();
    await fireEvent.click(await screen.findByRole("button", { name: "Acknowledge alert 2" }));
    await waitFor(() => expect(screen.queryByText(/3 destructive calls/)).toBeNull());
    expect(state.acks).toEqual([{ ids: [2] }]);
    expect(store.open).toBe(1);

    await fireEvent.click(screen.getByRole("button", { name: "Acknowledge all" }));
    await screen.findByText("No open alerts");
    expect(state.acks.at(-1)).toBe("all");
    expect(screen.getByRole("button", { name: "Acknowledge all" })).toBeDisabled();

    await fireEvent.click(screen.getByRole("switch", { name: "Show acknowledged alerts" }));
    await screen.findByText(/3 destructive calls/);
    expect(state.lists.at(-1)).toBe(true);
    expect(screen.getAllByText(/^acknowledged /)).toHaveLength(2);
  });

  it("mutes and unmutes a rule, showing its state", async () => {
    const state = engine();
    const store = new AlertsStore(tauriBackend);
    render(Alerts, { alerts: store });
    await store.start();
    const toggle = await screen.findByRole("switch", { name: "Alert on Request to a new domain" });
    expect(toggle).toHaveAttribute("aria-checked", "true");
    await fireEvent.click(toggle);
    await waitFor(() => expect(state.muted).toEqual(["new-domain"]));
    const rule = screen
      .getByRole("region", { name: "Rules" })
      .querySelector('[data-rule="new-domain"]')!;
    await waitFor(() => expect(rule).toHaveTextContent("muted"));
    await fireEvent.click(screen.getByRole("switch", { name: "Alert on Request to a new domain" }));
    await waitFor(() => expect(state.muted).toEqual([]));
    expect(screen.getByRole("textbox", { name: "Call during quiet hours: setting" })).toHaveValue(
      "off",
    );
  });

  it("re-reads when the alerts topic changes", async () => {
    const state = engine();
    const store = new AlertsStore(tauriBackend);
    render(Alerts, { alerts: store });
    const stop = await store.start();
    await screen.findByText(/3 destructive calls/);
    state.alerts = [];
    await emit("store_changed", "audit");
    expect(store.open).toBe(2);
    await emit("store_changed", "alerts");
    await screen.findByText("No open alerts");
    expect(store.open).toBe(0);
    stop();
  });

  it("shows the open-alert count in the menu, on every page", async () => {
    const state = engine();
    location.hash = "#/servers";
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    render(App, { backend: tauriBackend });
    const badge = await screen.findByTestId("badge-alerts");
    expect(badge).toHaveTextContent("2");
    expect(badge.closest("a")).toHaveAttribute("href", "#/alerts");
    state.alerts = [];
    await emit("store_changed", "alerts");
    await waitFor(() => expect(screen.queryByTestId("badge-alerts")).toBeNull());
  });

  it("sets the quiet hours, and shows why a value is refused", async () => {
    const state = engine();
    const store = new AlertsStore(tauriBackend);
    render(Alerts, { alerts: store });
    await store.start();
    const input = await screen.findByRole("textbox", { name: "Call during quiet hours: setting" });
    expect(input).toHaveValue("off");
    // Rules without a setting have no field.
    expect(screen.queryByRole("textbox", { name: "Request to a new domain: setting" })).toBeNull();
    const form = input.closest("form")!;
    await fireEvent.input(input, { target: { value: "late" } });
    await fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await screen.findByText(/are not HH:MM-HH:MM/);
    expect(state.settings).toEqual([]);
    await fireEvent.input(input, { target: { value: " 22:00-07:00 " } });
    await fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(state.settings).toEqual([["quiet-hours", "22:00-07:00"]]));
    await waitFor(() => expect(input).toHaveValue("22:00-07:00"));
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
