// The History page's filters as the person sets them (chips and the search
// box), and their translation into the engine's `AuditFilter`. Pure: the
// store and its tests share it.
import type { AuditDecision } from "../bindings/AuditDecision";
import type { AuditFilter } from "../bindings/AuditFilter";

/** One hour in microseconds, the timeline's bucket. */
export const HOUR_US = 3_600_000_000;

/** How far back the table reaches: everything, or the last hour, day, week. */
export type Range = "all" | "1h" | "24h" | "7d";

export const ranges: { value: Exclude<Range, "all">; label: string; us: number }[] = [
  { value: "1h", label: "Last hour", us: HOUR_US },
  { value: "24h", label: "Last 24 hours", us: 24 * HOUR_US },
  { value: "7d", label: "Last 7 days", us: 7 * 24 * HOUR_US },
];

export const decisions: { value: AuditDecision; label: string }[] = [
  { value: "allowed", label: "Allowed" },
  { value: "asked", label: "Asked" },
  { value: "denied", label: "Denied" },
  { value: "error", label: "Error" },
];

export interface Filters {
  server: string | null;
  tool: string | null;
  client: string | null;
  decision: AuditDecision | null;
  range: Range;
  /** The start of one hour picked on the timeline (microseconds), or null. */
  hour: number | null;
  /** The search box's text (full text over arguments, reasons, errors). */
  search: string;
}

export const noFilters: Filters = {
  server: null,
  tool: null,
  client: null,
  decision: null,
  range: "all",
  hour: null,
  search: "",
};

export type ChipKind = "server" | "tool" | "client" | "decision" | "range" | "hour";

export interface Chip {
  kind: ChipKind;
  /** What the chip says, e.g. "Server: office". */
  label: string;
}

/** "14:00" in local time, for an hour's start in microseconds. */
export function hourLabel(startUs: number): string {
  const d = new Date(startUs / 1000);
  return `${String(d.getHours()).padStart(2, "0")}:00`;
}

/** "21 Nov 14:00–15:00", an hour picked on the timeline. */
export function hourSpan(startUs: number): string {
  const d = new Date(startUs / 1000);
  const day = d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
  return `${day} ${hourLabel(startUs)}–${hourLabel(startUs + HOUR_US)}`;
}

/** The chips for `filters`, in a stable order (the search box is not one). */
export function chips(filters: Filters): Chip[] {
  const out: Chip[] = [];
  if (filters.server !== null) out.push({ kind: "server", label: `Server: ${filters.server}` });
  if (filters.tool !== null) out.push({ kind: "tool", label: `Tool: ${filters.tool}` });
  if (filters.client !== null) out.push({ kind: "client", label: `Client: ${filters.client}` });
  if (filters.decision !== null) {
    const label = decisions.find((d) => d.value === filters.decision)?.label;
    out.push({ kind: "decision", label: `Decision: ${label}` });
  }
  if (filters.range !== "all") {
    const label = ranges.find((r) => r.value === filters.range)?.label;
    out.push({ kind: "range", label: `Time: ${label}` });
  }
  if (filters.hour !== null) out.push({ kind: "hour", label: `Hour: ${hourSpan(filters.hour)}` });
  return out;
}

/** `filters` without the chip of `kind`. */
export function withoutChip(filters: Filters, kind: ChipKind): Filters {
  return { ...filters, [kind]: kind === "range" ? "all" : null };
}

/** Whether any filter (a chip or search text) is set. */
export function filtering(filters: Filters): boolean {
  return chips(filters).length > 0 || filters.search.trim() !== "";
}

function base(filters: Filters): AuditFilter {
  const search = filters.search.trim();
  return {
    server: filters.server,
    tool: filters.tool,
    client: filters.client,
    decision: filters.decision,
    since: null,
    until: null,
    search: search === "" ? null : search,
    before: null,
    limit: 0,
  };
}

/**
 * The engine's filter for the table: the chips, the search text, and the
 * time window: the picked hour if there is one, else the range up to `now`
 * (microseconds).
 */
export function tableFilter(filters: Filters, now: number): AuditFilter {
  const filter = base(filters);
  if (filters.hour !== null) {
    filter.since = filters.hour;
    filter.until = filters.hour + HOUR_US;
  } else if (filters.range !== "all") {
    filter.since = now - (ranges.find((r) => r.value === filters.range)?.us ?? 0);
  }
  return filter;
}

/**
 * The engine's filter for the timeline: the same chips and search, over the
 * last 7 days when that range is chosen, else the last 24 hours (the picked
 * hour stays visible among them, highlighted).
 */
export function timelineFilter(filters: Filters, now: number): AuditFilter {
  const filter = base(filters);
  const span = filters.range === "7d" ? 7 * 24 * HOUR_US : 24 * HOUR_US;
  // Up to the end of the current hour, so the newest bar is this hour.
  const until = Math.floor(now / HOUR_US) * HOUR_US + HOUR_US;
  filter.until = until;
  filter.since = until - span;
  return filter;
}

/** A short one-line preview of a call's arguments. */
export function argumentPreview(args: unknown, max = 120): string {
  if (args === null || args === undefined) return "";
  const text = typeof args === "string" ? args : JSON.stringify(args);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
