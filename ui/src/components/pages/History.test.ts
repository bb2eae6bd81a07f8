import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import { FakeAudit, T0 } from "../../lib/history/fake";
import { HOUR_US } from "../../lib/history/filters";
import { HistoryStore } from "../../lib/history/history.svelte";
import { router } from "../../lib/router.svelte";
import History from "./History.svelte";

const NOW = T0 + 12 * HOUR_US;

afterEach(() => router.go("overview"));

async function renderPage(count: number) {
  const fake = new FakeAudit(count);
  const history = new HistoryStore(fake, () => NOW);
  router.go("history");
  render(History, { history, servers: ["files", "office", "unused"] });
  const table = await screen.findByRole("table", { name: "Audit records" });
  await waitFor(() => expect(within(table).getAllByRole("row").length).toBeGreaterThan(1));
  return { fake, history, table };
}

const records = (table: HTMLElement) =>
  within(table)
    .getAllByRole("row")
    .filter((row) => row.dataset.id !== undefined);

describe("History page", () => {
  it("renders only a window of rows, newest first, with decision and argument preview", async () => {
    const { table } = await renderPage(5000);
    const rows = records(table);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(100);
    expect(rows[0]).toHaveAttribute("data-id", "5000");
    expect(rows[0]).toHaveTextContent("read_file");
    expect(rows[0]).toHaveTextContent("/home/user/note-5000.txt");
    expect(rows[5]).toHaveAttribute("data-id", "4995");
    expect(rows[5]).toHaveTextContent("denied");
  });

  it("opens a record's drawer with pretty-printed arguments and the reason", async () => {
    const { table } = await renderPage(50);
    const row = records(table).find((r) => r.dataset.id === "45")!;
    await fireEvent.click(row);
    expect(router.query).toEqual({ id: "45" });
    const drawer = await screen.findByRole("dialog");
    await waitFor(() => expect(drawer).toHaveTextContent("the tool is switched off"));
    const args = within(drawer).getByTestId("record-arguments");
    expect(args.textContent).toBe(
      JSON.stringify({ path: "/home/user/note-45.txt", word: "w45" }, null, 2),
    );
    expect(within(drawer).queryByTestId("record-result")).toBeNull();

    // An allowed call's drawer shows its (redacted) result.
    await fireEvent.click(records(table).find((r) => r.dataset.id === "44")!);
    await waitFor(() => expect(router.query).toEqual({ id: "44" }));
    const result = await within(screen.getByRole("dialog")).findByTestId("record-result");
    expect(result.textContent).toBe(
      JSON.stringify({ content: [{ type: "text", text: "done 44" }] }, null, 2),
    );
    await fireEvent.click(within(drawer).getByRole("button", { name: "Close the record" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(router.query).toEqual({});
  });

  it("opens the drawer from the location, as the alerts page links", async () => {
    const fake = new FakeAudit(20);
    router.go("history", null, { id: "12" });
    render(History, { history: new HistoryStore(fake, () => NOW) });
    const drawer = await screen.findByRole("dialog");
    await waitFor(() => expect(drawer).toHaveTextContent("send_mail on office"));
  });

  it("adds a chip from a menu of servers, narrows the rows, and removes it", async () => {
    const { fake, table } = await renderPage(300);
    await fireEvent.click(screen.getByRole("button", { name: /^Server/ }));
    const menu = screen.getByRole("menu", { name: "Server" });
    expect(
      within(menu)
        .getAllByRole("menuitem")
        .map((i) => i.textContent),
    ).toEqual(["files", "office", "unused"]);
    await fireEvent.click(within(menu).getByRole("menuitem", { name: "office" }));
    await waitFor(() => expect(fake.searches().at(-1)?.server).toBe("office"));
    await waitFor(() =>
      expect(records(table).every((r) => r.textContent?.includes("office"))).toBe(true),
    );
    const chip = screen.getByRole("button", { name: "Remove filter Server: office" });
    await fireEvent.click(chip);
    await waitFor(() => expect(fake.searches().at(-1)?.server).toBeNull());
    expect(screen.queryByRole("button", { name: /Remove filter/ })).toBeNull();
  });

  it("filters to the hour of a clicked timeline bar", async () => {
    const { fake } = await renderPage(600);
    // The fake log has one record a minute: a full hour has 60.
    const [bar] = await screen.findAllByRole("button", { name: /: 60 calls/ });
    if (!bar) throw new Error("no full hour on the timeline");
    await fireEvent.click(bar);
    await waitFor(() => expect(screen.getByText(/^Hour: /)).toBeInTheDocument());
    const start = Number(bar.getAttribute("data-start"));
    expect(fake.searches().at(-1)).toMatchObject({ since: start, until: start + HOUR_US });
    expect(bar).toHaveAttribute("aria-pressed", "true");
  });

  it("searches once typing pauses", async () => {
    const { fake } = await renderPage(100);
    const box = screen.getByRole("searchbox");
    await fireEvent.input(box, { target: { value: "note-42" } });
    await waitFor(() => expect(fake.searches().at(-1)?.search).toBe("note-42"));
  });

  it("shows where an export was saved", async () => {
    const { fake } = await renderPage(10);
    fake.on("audit_export", () => ({ path: "/home/me/audit.jsonl", records: 10 }));
    await fireEvent.click(screen.getByRole("button", { name: "Export JSONL" }));
    expect(await screen.findByTestId("export-status")).toHaveTextContent(
      "Saved 10 records to /home/me/audit.jsonl",
    );
  });
});
