// Test support: an audit log in memory that answers the History page's
// commands the way the engine does (keyset pages newest first, filters,
// search over arguments, hour buckets), and records what it was asked.
import type { AuditDecision } from "../bindings/AuditDecision";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditPage } from "../bindings/AuditPage";
import type { Timeline } from "../bindings/Timeline";
import type { Args, Backend, Commands, Events, Result } from "../ipc";
import { HOUR_US } from "./filters";

/** 2026-11-21 10:00:00 UTC in microseconds. */
export const T0 = 1_763_719_200_000_000;

const decisionsCycle: AuditDecision[] = [
  "allowed",
  "allowed",
  "allowed",
  "denied",
  "asked",
  "error",
];

/** Record `id` of the fake log: one a minute from T0, servers and tools in turn. */
export function fakeEntry(id: number): AuditEntry {
  const time = T0 + id * 60_000_000;
  const decision = decisionsCycle[id % decisionsCycle.length]!;
  // Asserted, not annotated: records may carry more optional fields than these.
  return {
    id,
    time: new Date(time / 1000).toISOString(),
    session: "s1",
    client: id % 2 === 0 ? "claude-desktop" : "cursor",
    server: id % 3 === 0 ? "office" : "files",
    method: "tools/call",
    tool: id % 3 === 0 ? "send_mail" : "read_file",
    arguments: { path: `/home/user/note-${id}.txt`, word: `w${id}` },
    decision,
    reason: id % decisionsCycle.length === 3 ? "the tool is switched off" : null,
    result_size: 120,
    is_error: false,
    rpc_error: null,
    latency_us: 1500,
    arguments_size: null,
    arguments_hash: null,
    result: decision === "allowed" ? { content: [{ type: "text", text: `done ${id}` }] } : null,
    result_hash: null,
  } as AuditEntry;
}

const micros = (e: AuditEntry) => Date.parse(e.time) * 1000;

function matches(e: AuditEntry, f: AuditFilter): boolean {
  return (
    (f.server === null || e.server === f.server) &&
    (f.tool === null || e.tool === f.tool) &&
    (f.client === null || e.client === f.client) &&
    (f.decision === null || e.decision === f.decision) &&
    (f.since === null || micros(e) >= f.since) &&
    (f.until === null || micros(e) < f.until) &&
    (f.search === null || JSON.stringify(e.arguments).includes(f.search))
  );
}

type Handler = (args: never) => unknown;

export class FakeAudit implements Backend {
  entries: AuditEntry[];
  /** Every command invoked, with its arguments, in order. */
  calls: { command: keyof Commands; args: unknown }[] = [];
  #listeners = new Map<string, ((payload: unknown) => void)[]>();
  #handlers: Partial<Record<keyof Commands, Handler>> = {};

  constructor(count: number) {
    this.entries = Array.from({ length: count }, (_, i) => fakeEntry(i + 1));
  }

  /** Answers `command` with `handler` instead of the built-in behaviour. */
  on<K extends keyof Commands>(command: K, handler: (args: Args<K>) => Result<K>) {
    this.#handlers[command] = handler as Handler;
  }

  /** Appends `n` newer records. */
  add(n: number) {
    const last = this.entries.at(-1)?.id ?? 0;
    for (let i = 1; i <= n; i++) this.entries.push(fakeEntry(last + i));
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]) {
    for (const handler of this.#listeners.get(event) ?? []) handler(payload);
  }

  searches(): AuditFilter[] {
    return this.calls
      .filter((c) => c.command === "audit_search")
      .map((c) => (c.args as { filter: AuditFilter }).filter);
  }

  async listen<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void) {
    const list = this.#listeners.get(event) ?? [];
    list.push(handler as (payload: unknown) => void);
    this.#listeners.set(event, list);
    return () => {
      const left = (this.#listeners.get(event) ?? []).filter((h) => h !== handler);
      this.#listeners.set(event, left);
    };
  }

  async invoke<K extends keyof Commands>(command: K, args: Args<K>): Promise<Result<K>> {
    this.calls.push({ command, args });
    const handler = this.#handlers[command];
    if (handler) return handler(args as never) as Result<K>;
    switch (command) {
      case "audit_search":
        return this.#search((args as Args<"audit_search">).filter) as Result<K>;
      case "audit_timeline":
        return this.#timeline((args as Args<"audit_timeline">).filter) as Result<K>;
      case "audit_get": {
        const id = (args as Args<"audit_get">).id;
        return (this.entries.find((e) => e.id === id) ?? null) as Result<K>;
      }
      default:
        throw new Error(`the fake does not answer ${command}`);
    }
  }

  #search(filter: AuditFilter): AuditPage {
    const hits: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && hits.length <= filter.limit; i--) {
      const e = this.entries[i]!;
      if (filter.before !== null && e.id >= filter.before) continue;
      if (matches(e, filter)) hits.push(e);
    }
    const more = hits.length > filter.limit;
    const entries = hits.slice(0, filter.limit);
    return { entries, next: more ? entries.at(-1)!.id : null };
  }

  #timeline(filter: AuditFilter): Timeline {
    const since = filter.since!;
    const until = filter.until!;
    const buckets = Array.from({ length: (until - since) / HOUR_US }, (_, h) => ({
      start: since + h * HOUR_US,
      allowed: 0,
      asked: 0,
      denied: 0,
      error: 0,
    }));
    for (const e of this.entries) {
      if (!matches(e, filter)) continue;
      const bucket = buckets[Math.floor((micros(e) - since) / HOUR_US)];
      if (bucket) bucket[e.decision] += 1;
    }
    return { since, until, buckets };
  }
}
