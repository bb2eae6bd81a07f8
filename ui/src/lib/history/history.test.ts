import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeAudit, T0 } from "./fake";
import {
  HOUR_US,
  chips,
  noFilters,
  tableFilter,
  timelineFilter,
  withoutChip,
  type Filters,
} from "./filters";
import { HistoryStore, MAX_CACHED_PAGES, SEARCH_DELAY_MS } from "./history.svelte";
import { OVERSCAN, PAGE_SIZE, ROW_HEIGHT, pagesOf, visibleRows } from "./virtual";

/** "Now" for the store: the fake log's records are one a minute from T0. */
const NOW = T0 + 48 * HOUR_US;

afterEach(() => vi.useRealTimers());

describe("virtual window", () => {
  it("renders the rows in view plus the overscan, clamped to the table", () => {
    expect(visibleRows(0, 10 * ROW_HEIGHT, 1000)).toEqual({ start: 0, end: 10 + OVERSCAN });
    expect(visibleRows(100 * ROW_HEIGHT, 10 * ROW_HEIGHT, 1000)).toEqual({
      start: 100 - OVERSCAN,
      end: 110 + OVERSCAN,
    });
    // Half a row scrolled: the partly visible row at each edge counts.
    expect(visibleRows(ROW_HEIGHT / 2, 2 * ROW_HEIGHT, 1000, 0)).toEqual({ start: 0, end: 3 });
    expect(visibleRows(995 * ROW_HEIGHT, 10 * ROW_HEIGHT, 1000)).toEqual({
      start: 995 - OVERSCAN,
      end: 1000,
    });
    expect(visibleRows(0, 500, 0)).toEqual({ start: 0, end: 0 });
    // However far a million rows are scrolled, a window stays small.
    const deep = visibleRows(999_000 * ROW_HEIGHT, 600, 1_000_000);
    expect(deep.end - deep.start).toBeLessThanOrEqual(Math.ceil(600 / ROW_HEIGHT) + 2 * OVERSCAN);
  });

  it("maps a row range to the pages holding it", () => {
    expect(pagesOf({ start: 0, end: 30 })).toEqual([0]);
    expect(pagesOf({ start: PAGE_SIZE - 5, end: PAGE_SIZE + 5 })).toEqual([0, 1]);
    expect(pagesOf({ start: 3 * PAGE_SIZE, end: 4 * PAGE_SIZE })).toEqual([3]);
    expect(pagesOf({ start: 10, end: 10 })).toEqual([]);
  });
});

describe("filters", () => {
  it("turns chips and search into the engine's filter", () => {
    const filters: Filters = {
      ...noFilters,
      server: "office",
      decision: "denied",
      range: "24h",
      search: "  invoice ",
    };
    expect(tableFilter(filters, NOW)).toEqual({
      server: "office",
      tool: null,
      client: null,
      decision: "denied",
      since: NOW - 24 * HOUR_US,
      until: null,
      search: "invoice",
      before: null,
      limit: 0,
    });
    expect(chips(filters).map((c) => c.label)).toEqual([
      "Server: office",
      "Decision: Denied",
      "Time: Last 24 hours",
    ]);
    expect(withoutChip(filters, "range").range).toBe("all");
    expect(withoutChip(filters, "server").server).toBeNull();
  });

  it("narrows the table to a picked hour, and the timeline keeps its window", () => {
    const hour = T0 + 5 * HOUR_US;
    const filters = { ...noFilters, range: "7d" as const, hour };
    const table = tableFilter(filters, NOW);
    expect([table.since, table.until]).toEqual([hour, hour + HOUR_US]);
    const timeline = timelineFilter(filters, NOW);
    expect(timeline.until).toBe(NOW + HOUR_US);
    expect(timeline.since).toBe(NOW + HOUR_US - 7 * 24 * HOUR_US);
    expect(timelineFilter(noFilters, NOW).since).toBe(NOW + HOUR_US - 24 * HOUR_US);
  });
});

async function started(count: number) {
  const fake = new FakeAudit(count);
  const store = new HistoryStore(fake, () => NOW);
  await store.start();
  return { fake, store };
}

describe("HistoryStore", () => {
  it("reads the first page newest first and knows more follow", async () => {
    const { fake, store } = await started(1000);
    expect(store.row(0)?.id).toBe(1000);
    expect(store.row(PAGE_SIZE - 1)?.id).toBe(1000 - PAGE_SIZE + 1);
    expect(store.row(PAGE_SIZE)).toBeUndefined();
    expect(store.complete).toBe(false);
    expect(store.rowCount).toBe(2 * PAGE_SIZE);
    expect(fake.searches()[0]).toMatchObject({ before: null, limit: PAGE_SIZE });
    expect(store.timeline?.buckets).toHaveLength(24);
  });

  it("reads the next page by keyset cursor as the view scrolls down", async () => {
    const { fake, store } = await started(1000);
    await store.show({ start: PAGE_SIZE - 10, end: PAGE_SIZE + 20 }, false);
    const second = fake.searches().at(-1)!;
    expect(second.before).toBe(1000 - PAGE_SIZE + 1);
    expect(store.row(PAGE_SIZE)?.id).toBe(1000 - PAGE_SIZE);
    // Reading to the end makes the count exact.
    for (let page = 2; page * PAGE_SIZE < 1000; page++) {
      await store.show({ start: page * PAGE_SIZE, end: page * PAGE_SIZE + 30 }, false);
    }
    expect(store.complete).toBe(true);
    expect(store.rowCount).toBe(1000);
    expect(store.row(999)?.id).toBe(1);
    // Pages in memory are not read again.
    const reads = fake.searches().length;
    await store.show({ start: 0, end: 50 }, false);
    expect(fake.searches().length).toBe(reads);
  });

  it("keeps a bounded page cache and re-reads an evicted page at the same cursor", async () => {
    const total = (MAX_CACHED_PAGES + 5) * PAGE_SIZE;
    const { fake, store } = await started(total);
    for (let page = 1; page < MAX_CACHED_PAGES + 5; page++) {
      await store.show({ start: page * PAGE_SIZE, end: page * PAGE_SIZE + 30 }, false);
    }
    expect(store.cachedPages).toBe(MAX_CACHED_PAGES);
    expect(store.row(0)).toBeUndefined();
    await store.show({ start: 0, end: 30 }, false);
    const reread = fake.searches().at(-1)!;
    // Page 0 is read below its anchor, not from the newest record.
    expect(reread.before).toBe(total + 1);
    expect(store.row(0)?.id).toBe(total);
  });

  it("passes chips and search to every read, and starts over when they change", async () => {
    vi.useFakeTimers();
    const { fake, store } = await started(600);
    await store.addChip("server", "office");
    expect(fake.searches().at(-1)).toMatchObject({ server: "office", before: null });
    expect(store.row(0)?.server).toBe("office");
    await store.addChip("decision", "allowed");
    expect(chips(store.filters).map((c) => c.kind)).toEqual(["server", "decision"]);

    store.typeSearch("w59");
    store.typeSearch("w599");
    expect(fake.searches().at(-1)?.search).toBeNull();
    await vi.advanceTimersByTimeAsync(SEARCH_DELAY_MS);
    // One search, for the text typed last.
    expect(fake.searches().filter((f) => f.search !== null)).toHaveLength(1);
    expect(fake.searches().at(-1)).toMatchObject({ search: "w599", server: "office" });

    await store.removeChip("server");
    expect(fake.searches().at(-1)).toMatchObject({ server: null, decision: "allowed" });
  });

  it("filters to a timeline bar's hour, and clears it on a second click", async () => {
    const { fake, store } = await started(600);
    const hour = T0 + 2 * HOUR_US;
    await store.pickHour(hour);
    expect(store.filters.hour).toBe(hour);
    expect(fake.searches().at(-1)).toMatchObject({ since: hour, until: hour + HOUR_US });
    expect(chips(store.filters).map((c) => c.kind)).toEqual(["hour"]);
    // Every row is in that hour: records 120 to 179 of the fake log.
    expect(store.row(0)?.id).toBe(179);
    await store.pickHour(hour);
    expect(store.filters.hour).toBeNull();
    expect(fake.searches().at(-1)).toMatchObject({ since: null, until: null });
  });

  it("shows new records at once at the top, and counts them when scrolled away", async () => {
    const { fake, store } = await started(500);
    fake.add(3);
    fake.emit("store_changed", "audit");
    await store.recordsArrived();
    expect(store.row(0)?.id).toBe(503);

    await store.show({ start: 300, end: 340 }, false);
    const row300 = store.row(300)?.id;
    fake.add(7);
    fake.emit("store_changed", "audit");
    await store.recordsArrived();
    expect(store.newRecords).toBe(7);
    // The rows in view did not move.
    expect(store.row(300)?.id).toBe(row300);
    expect(store.row(0)?.id).toBe(503);

    // Back at the top, the new records join.
    await store.show({ start: 0, end: 30 }, true);
    expect(store.newRecords).toBe(0);
    expect(store.row(0)?.id).toBe(510);
  });

  it("opens one record by id, and says when there is none", async () => {
    const { fake, store } = await started(50);
    await store.open(7);
    expect(store.selected?.id).toBe(7);
    expect(fake.calls.at(-1)).toEqual({ command: "audit_get", args: { id: 7 } });
    await store.open(9999);
    expect(store.selected).toBeNull();
    expect(store.selectedMissing).toBe(true);
    store.close();
    expect(store.selectedId).toBeNull();
  });

  it("exports the whole current filter and reports the file, a cancel or a failure", async () => {
    const { fake, store } = await started(50);
    await store.addChip("server", "files");
    store.filters.search = "w1";
    fake.on("audit_export", () => ({ path: "/tmp/out.jsonl", records: 12 }));
    await store.export("jsonl");
    expect(store.exporting).toEqual({
      state: "saved",
      saved: { path: "/tmp/out.jsonl", records: 12 },
    });
    expect(fake.calls.at(-1)?.args).toMatchObject({
      format: "jsonl",
      filter: { server: "files", search: "w1", before: null, limit: 0 },
    });
    fake.on("audit_export", () => null);
    await store.export("csv");
    expect(store.exporting.state).toBe("cancelled");
    fake.on("audit_export", () => {
      throw { code: "export_failed", message: "disk full" };
    });
    await store.export("csv");
    expect(store.exporting).toMatchObject({ state: "failed", error: { message: "disk full" } });
  });
});
