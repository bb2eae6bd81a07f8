import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { Settings as SettingsValue } from "../../lib/bindings/Settings";
import { tauriBackend } from "../../lib/ipc";
import { SettingsStore, fromDraft, toDraft } from "../../lib/settings/settings.svelte";
import Settings from "./Settings.svelte";

afterEach(() => {
  cleanup();
  clearMocks();
});

const defaults: SettingsValue = {
  retention: { days: 90, max_mb: null, preview_bytes: 4096 },
  approval_timeout_secs: 45,
};

/** A fake engine keeping settings, refusing what the real one refuses. */
function engine(broken: boolean) {
  const state = { settings: structuredClone(defaults), saves: [] as SettingsValue[] };
  mockIPC(
    (cmd, args) => {
      switch (cmd) {
        case "settings_show":
          return structuredClone(state.settings);
        case "settings_save": {
          const s = (args as { settings: SettingsValue }).settings;
          if (s.retention.preview_bytes < 64) {
            throw {
              code: "invalid_spec",
              message: "the preview must keep at least 64 bytes, not 10",
            };
          }
          state.saves.push(s);
          state.settings = s;
          return null;
        }
        case "audit_status":
          return {
            records: 1234,
            oldest: "2026-11-01T00:00:00Z",
            database_bytes: 2097152,
            pruned: 5,
            pruned_at: null,
          };
        case "audit_verify":
          return broken
            ? {
                records: 6,
                first_id: 1,
                last_id: 6,
                anchor_id: null,
                pruned: 0,
                broken: { problem: "edited", id: 7 },
              }
            : {
                records: 1234,
                first_id: 1,
                last_id: 1234,
                anchor_id: null,
                pruned: 0,
                broken: null,
              };
        case "audit_prune":
          return { deleted: 3, anchor_id: 3 };
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  return state;
}

describe("the settings draft", () => {
  it("reads empty fields as no limit and rejects what is not a whole number", () => {
    const d = toDraft(defaults);
    expect(d).toEqual({
      retentionDays: "90",
      maxMb: "",
      previewBytes: "4096",
      approvalTimeout: "45",
    });
    expect(fromDraft({ ...d, retentionDays: " " })).toEqual({
      ...defaults,
      retention: { ...defaults.retention, days: null },
    });
    expect(fromDraft({ ...d, maxMb: "1.5" })).toBe("The size cap must be a whole number");
    expect(fromDraft({ ...d, approvalTimeout: "-3" })).toBe(
      "The approval timeout must be a whole number",
    );
  });
});

describe("Settings page", () => {
  it("saves the edited values and says so", async () => {
    const state = engine(false);
    render(Settings, { settings: new SettingsStore(tauriBackend) });
    const days = (await screen.findByLabelText(/Days to keep/)) as HTMLInputElement;
    await waitFor(() => expect(days.value).toBe("90"));
    const save = screen.getByRole("button", { name: "Save" });
    expect(save).toBeDisabled();
    await fireEvent.input(days, { target: { value: "30" } });
    await fireEvent.input(screen.getByLabelText(/Size cap/), { target: { value: "500" } });
    expect(save).toBeEnabled();
    await fireEvent.click(save);
    await screen.findByText("Saved.");
    expect(state.saves).toEqual([
      { ...defaults, retention: { days: 30, max_mb: 500, preview_bytes: 4096 } },
    ]);
    expect(screen.getByTestId("audit-records")).toHaveTextContent("1,234");
  });

  it("shows the engine's refusal and keeps the draft", async () => {
    const state = engine(false);
    render(Settings, { settings: new SettingsStore(tauriBackend) });
    const preview = (await screen.findByLabelText(/Preview length/)) as HTMLInputElement;
    await waitFor(() => expect(preview.value).toBe("4096"));
    await fireEvent.input(preview, { target: { value: "10" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("at least 64 bytes");
    expect(preview.value).toBe("10");
    expect(state.saves).toEqual([]);
  });

  it("catches a malformed value before sending anything", async () => {
    const state = engine(false);
    render(Settings, { settings: new SettingsStore(tauriBackend) });
    const timeout = (await screen.findByLabelText(/Wait for an answer/)) as HTMLInputElement;
    await waitFor(() => expect(timeout.value).toBe("45"));
    await fireEvent.input(timeout, { target: { value: "soon" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "approval timeout must be a whole number",
    );
    expect(state.saves).toEqual([]);
  });

  it("reports a broken chain with the record that broke it", async () => {
    engine(true);
    render(Settings, { settings: new SettingsStore(tauriBackend) });
    await fireEvent.click(await screen.findByRole("button", { name: "Verify the chain" }));
    const report = await screen.findByTestId("chain-report");
    expect(report).toHaveTextContent("broken");
    expect(report).toHaveTextContent("Record 7 was edited");
  });

  it("applies retention on request and reports how many records went", async () => {
    engine(false);
    render(Settings, { settings: new SettingsStore(tauriBackend) });
    await fireEvent.click(await screen.findByRole("button", { name: "Apply retention now" }));
    expect(await screen.findByText("Deleted 3 records.")).toBeInTheDocument();
  });
});
