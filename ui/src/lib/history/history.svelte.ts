// The History page's state: the filters, a cache of keyset pages behind the
// virtual table, the timeline, the open record and live updates.
//
// Pages are read newest first by keyset cursor, never by offset: page i
// starts below the id that ended page i - 1 (its `before`), and page 0
// below an anchor fixed when it was first read. Records that arrive later
// have larger ids, so once read, every page keeps its rows and row i is
// always row i % PAGE_SIZE of page ⌊i / PAGE_SIZE⌋, whatever comes in. New
// records join the table only when the person is at its top (or jumps
// there): then the cache starts over from the newest record.
import { SvelteMap } from "svelte/reactivity";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { AuditExported } from "../bindings/AuditExported";
import type { ExportFormat } from "../bindings/ExportFormat";
import type { Timeline } from "../bindings/Timeline";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";
import {
  type ChipKind,
  type Filters,
  noFilters,
  tableFilter,
  timelineFilter,
  withoutChip,
} from "./filters";
import { PAGE_SIZE, pagesOf, type RowRange } from "./virtual";

/** Pages kept in memory (8,000 rows); the farthest from view go first. */
export const MAX_CACHED_PAGES = 40;
/** How long the search box waits after the last key before searching. */
export const SEARCH_DELAY_MS = 250;

/** What an export ended with, for the page to show. */
export type ExportState =
  | { state: "idle" }
  | { state: "running"; format: ExportFormat }
  | { state: "saved"; saved: AuditExported }
  | { state: "cancelled" }
  | { state: "failed"; error: GatehouseError };

/** Microseconds since the epoch, now. */
const nowUs = () => Date.now() * 1000;

export class HistoryStore {
  filters = $state<Filters>({ ...noFilters });
  /** The search box's text as typed; `filters.search` follows it after a pause. */
  searchText = $state("");
  /** Rows known to exist: every page read so far (and its successor, if any, not yet read). */
  rowCount = $state(0);
  /** Whether the last page has been read (`rowCount` is exact). */
  complete = $state(false);
  /** Whether the first page has arrived since the filters last changed. */
  loaded = $state(false);
  timeline = $state<Timeline | null>(null);
  error = $state<GatehouseError | null>(null);
  /** Records that arrived since the table was read, while scrolled away from the top. */
  newRecords = $state(0);
  /** The record open in the drawer, its id while it loads, and why it failed. */
  selected = $state<AuditEntry | null>(null);
  selectedId = $state<number | null>(null);
  selectedMissing = $state(false);
  exporting = $state<ExportState>({ state: "idle" });

  #backend: Backend;
  #now: () => number;
  #pages = new SvelteMap<number, AuditEntry[]>();
  /** `before` of each page discovered so far; page 0's is the anchor. */
  #cursors: (number | null)[] = [null];
  // Bookkeeping, not state: nothing renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #inflight = new Set<number>();
  /** Bumped whenever the cache starts over, so late answers are dropped. */
  #generation = 0;
  #view: RowRange = { start: 0, end: 0 };
  #atTop = true;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;

  constructor(backend: Backend, now: () => number = nowUs) {
    this.#backend = backend;
    this.#now = now;
  }

  /** Reads the first page and the timeline, then follows new records; returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const unlisten = await this.#backend.listen("store_changed", (topic) => {
      if (topic === "audit") void this.recordsArrived();
    });
    await this.reload();
    return () => {
      clearTimeout(this.#searchTimer);
      unlisten();
    };
  }

  /** Row `index` of the table, if its page is in memory. */
  row(index: number): AuditEntry | undefined {
    return this.#pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /**
   * The servers, tools or clients among the records in memory, sorted: the
   * choices of the filter menus (tools of the chosen server only).
   */
  seen(kind: "server" | "tool" | "client"): string[] {
    // A local collection, returned sorted as a plain array.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const values = new Set<string>();
    for (const entries of this.#pages.values()) {
      for (const e of entries) {
        if (kind === "tool" && this.filters.server !== null && e.server !== this.filters.server) {
          continue;
        }
        const value = kind === "server" ? e.server : kind === "tool" ? e.tool : e.client;
        if (value !== null) values.add(value);
      }
    }
    return [...values].sort((a, b) => a.localeCompare(b));
  }

  /** How many pages are in memory (for tests and diagnostics). */
  get cachedPages(): number {
    return this.#pages.size;
  }

  /**
   * The table shows rows `range`: read the pages that hold them. The rows
   * after the last page read stand for the next page until it arrives, so
   * scrolling into them reads it. `atTop` says whether the view is
   * scrolled to the very top (new records then join).
   */
  async show(range: RowRange, atTop: boolean): Promise<void> {
    this.#view = range;
    const wasAtTop = this.#atTop;
    this.#atTop = atTop;
    if (atTop && !wasAtTop && this.newRecords > 0) {
      await this.reload();
      return;
    }
    const wanted = pagesOf(range);
    const reads = wanted
      .filter((page) => page < this.#cursors.length && !this.#pages.has(page))
      .map((page) => this.#read(page));
    await Promise.all(reads);
  }

  /** Starts over from the newest record: the cache, the timeline and the counts. */
  async reload(): Promise<void> {
    const generation = ++this.#generation;
    this.#inflight.clear();
    const filter = { ...tableFilter(this.filters, this.#now()), limit: PAGE_SIZE };
    const [page] = await Promise.all([
      this.#backend.invoke("audit_search", { filter }).catch((e: unknown) => {
        if (generation === this.#generation) this.error = toGatehouseError(e);
        return null;
      }),
      this.refreshTimeline(),
    ]);
    if (generation !== this.#generation) return;
    this.#pages.clear();
    this.newRecords = 0;
    this.loaded = true;
    if (page === null) {
      this.#cursors = [null];
      this.rowCount = 0;
      this.complete = true;
      return;
    }
    this.error = null;
    // Later reads of page 0 start below the newest record read now.
    const anchor = page.entries[0] ? page.entries[0].id + 1 : null;
    this.#cursors = [anchor];
    this.#store(0, page.entries, page.next);
  }

  /** Re-reads the timeline for the current filters. */
  async refreshTimeline(): Promise<void> {
    const generation = this.#generation;
    try {
      const timeline = await this.#backend.invoke("audit_timeline", {
        filter: timelineFilter(this.filters, this.#now()),
      });
      if (generation === this.#generation) this.timeline = timeline;
    } catch (e) {
      if (generation === this.#generation) this.error = toGatehouseError(e);
    }
  }

  /**
   * New records were committed. At the top of the table they appear at
   * once; elsewhere the view stays put and `newRecords` counts them.
   * Bursts are coalesced: one refresh at a time, and one more after it.
   */
  async recordsArrived(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        if (this.#atTop) await this.reload();
        else await Promise.all([this.#countNew(), this.refreshTimeline()]);
      } while (this.#refreshAgain);
    })().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #countNew(): Promise<void> {
    const generation = this.#generation;
    const newest = this.row(0)?.id ?? this.#cursors[0];
    if (newest === null || newest === undefined) {
      // Nothing was shown before: there is nothing to keep in place.
      await this.reload();
      return;
    }
    const filter = { ...tableFilter(this.filters, this.#now()), limit: PAGE_SIZE };
    try {
      const page = await this.#backend.invoke("audit_search", { filter });
      if (generation !== this.#generation) return;
      this.newRecords = page.entries.filter((e) => e.id > newest).length;
    } catch (e) {
      if (generation === this.#generation) this.error = toGatehouseError(e);
    }
  }

  async #read(page: number): Promise<void> {
    if (this.#inflight.has(page)) return;
    const before = this.#cursors[page];
    if (before === undefined) return;
    const generation = this.#generation;
    this.#inflight.add(page);
    try {
      const filter = { ...tableFilter(this.filters, this.#now()), before, limit: PAGE_SIZE };
      const result = await this.#backend.invoke("audit_search", { filter });
      if (generation !== this.#generation) return;
      this.#store(page, result.entries, result.next);
    } catch (e) {
      if (generation === this.#generation) this.error = toGatehouseError(e);
    } finally {
      if (generation === this.#generation) this.#inflight.delete(page);
    }
  }

  /** Keeps page `index`, learns where the next one starts, and evicts far pages. */
  #store(index: number, entries: AuditEntry[], next: number | null) {
    this.#pages.set(index, entries);
    if (index === this.#cursors.length - 1) {
      if (next !== null) this.#cursors.push(next);
      this.complete = next === null;
      this.rowCount = index * PAGE_SIZE + (next === null ? entries.length : PAGE_SIZE * 2);
    }
    // Rows past a known page's end that turned out not to exist.
    if (this.complete) {
      const last = this.#cursors.length - 1;
      const lastRows = this.#pages.get(last)?.length;
      if (lastRows !== undefined) this.rowCount = last * PAGE_SIZE + lastRows;
    }
    if (this.#pages.size > MAX_CACHED_PAGES) {
      const centre = Math.floor((this.#view.start + this.#view.end) / 2 / PAGE_SIZE);
      const far = [...this.#pages.keys()].sort(
        (a, b) => Math.abs(b - centre) - Math.abs(a - centre),
      );
      for (const page of far.slice(0, this.#pages.size - MAX_CACHED_PAGES)) {
        this.#pages.delete(page);
      }
    }
  }

  /** Replaces the filters and starts over. */
  async setFilters(filters: Filters): Promise<void> {
    this.filters = filters;
    await this.reload();
  }

  /** Sets one chip's value (server, tool, client, decision or range). */
  async addChip<K extends ChipKind>(kind: K, value: Filters[K]): Promise<void> {
    await this.setFilters({ ...this.filters, [kind]: value });
  }

  async removeChip(kind: ChipKind): Promise<void> {
    await this.setFilters(withoutChip(this.filters, kind));
  }

  /** A click on the timeline's bar for the hour starting at `start`: filter to it, or, if it is the picked hour, stop. */
  async pickHour(start: number): Promise<void> {
    await this.setFilters({ ...this.filters, hour: this.filters.hour === start ? null : start });
  }

  /** The search box changed: search once typing pauses. */
  typeSearch(text: string) {
    this.searchText = text;
    clearTimeout(this.#searchTimer);
    this.#searchTimer = setTimeout(() => void this.search(text), SEARCH_DELAY_MS);
  }

  /** Searches for `text` now. */
  async search(text: string): Promise<void> {
    clearTimeout(this.#searchTimer);
    this.searchText = text;
    if (text.trim() === this.filters.search.trim()) return;
    await this.setFilters({ ...this.filters, search: text });
  }

  /** Opens record `id` in the drawer. */
  async open(id: number): Promise<void> {
    if (this.selectedId === id && (this.selected !== null || this.selectedMissing)) return;
    this.selectedId = id;
    this.selectedMissing = false;
    this.selected = this.#cached(id) ?? null;
    try {
      const entry = await this.#backend.invoke("audit_get", { id });
      if (this.selectedId !== id) return;
      this.selected = entry;
      this.selectedMissing = entry === null;
    } catch (e) {
      if (this.selectedId === id) this.error = toGatehouseError(e);
    }
  }

  close() {
    this.selectedId = null;
    this.selected = null;
    this.selectedMissing = false;
  }

  #cached(id: number): AuditEntry | undefined {
    for (const entries of this.#pages.values()) {
      const hit = entries.find((e) => e.id === id);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Exports every record the filters match, after the app's save dialog. */
  async export(format: ExportFormat): Promise<void> {
    this.exporting = { state: "running", format };
    try {
      const saved = await this.#backend.invoke("audit_export", {
        filter: tableFilter(this.filters, this.#now()),
        format,
      });
      this.exporting = saved === null ? { state: "cancelled" } : { state: "saved", saved };
    } catch (e) {
      this.exporting = { state: "failed", error: toGatehouseError(e) };
    }
  }
}
