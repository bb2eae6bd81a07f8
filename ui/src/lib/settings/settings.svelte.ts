// The Settings page's state: the saved settings, a draft the form edits,
// the audit log's size, and the result of the last chain check or prune.
// The draft is kept apart from what is saved, so leaving a field half typed
// changes nothing until Save, and Save sends every value at once (the
// engine checks them all and saves all or none).
import type { AuditStatus } from "../bindings/AuditStatus";
import type { ChainReport } from "../bindings/ChainReport";
import type { PruneReport } from "../bindings/PruneReport";
import type { Settings } from "../bindings/Settings";
import { type Backend, type GatehouseError, toGatehouseError } from "../ipc";

/** The form's fields, as typed: empty text means "no limit". */
export interface Draft {
  retentionDays: string;
  maxMb: string;
  previewBytes: string;
  approvalTimeout: string;
}

export function toDraft(s: Settings): Draft {
  return {
    retentionDays: s.retention.days === null ? "" : String(s.retention.days),
    maxMb: s.retention.max_mb === null ? "" : String(s.retention.max_mb),
    previewBytes: String(s.retention.preview_bytes),
    approvalTimeout: String(s.approval_timeout_secs),
  };
}

/** A whole number typed in a field, or why it is not one. */
function whole(text: string, what: string): number | string {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return `${what} must be a whole number`;
  return Number(t);
}

/** Reads the draft back: settings, or the first field's problem. */
export function fromDraft(d: Draft): Settings | string {
  const optional = (text: string, what: string) => (text.trim() === "" ? null : whole(text, what));
  const days = optional(d.retentionDays, "Days to keep");
  const maxMb = optional(d.maxMb, "The size cap");
  const preview = whole(d.previewBytes, "The preview length");
  const timeout = whole(d.approvalTimeout, "The approval timeout");
  for (const v of [days, maxMb, preview, timeout]) if (typeof v === "string") return v;
  return {
    retention: {
      days: days as number | null,
      max_mb: maxMb as number | null,
      preview_bytes: preview as number,
    },
    approval_timeout_secs: timeout as number,
  };
}

export class SettingsStore {
  saved = $state<Settings | null>(null);
  draft = $state<Draft>({ retentionDays: "", maxMb: "", previewBytes: "", approvalTimeout: "" });
  status = $state<AuditStatus | null>(null);
  chain = $state<ChainReport | null>(null);
  pruned = $state<PruneReport | null>(null);
  error = $state<GatehouseError | null>(null);
  /** A problem with the draft, found before anything was sent. */
  invalid = $state<string | null>(null);
  busy = $state(false);
  /** Set after a save, until the draft changes again. */
  savedNotice = $state(false);

  /** Whether the draft differs from what is saved. */
  readonly dirty = $derived(
    this.saved !== null && JSON.stringify(toDraft(this.saved)) !== JSON.stringify(this.draft),
  );

  #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Loads everything and follows audit changes; returns the unsubscribe. */
  async start(): Promise<() => void> {
    const stop = await this.#backend.listen("store_changed", (topic) => {
      if (topic === "audit") void this.#status();
    });
    await this.load();
    return stop;
  }

  async load(): Promise<void> {
    await this.#run(async () => {
      this.saved = await this.#backend.invoke("settings_show", {});
      this.draft = toDraft(this.saved);
      await this.#status();
    });
  }

  edit(patch: Partial<Draft>): void {
    this.draft = { ...this.draft, ...patch };
    this.invalid = null;
    this.savedNotice = false;
  }

  async save(): Promise<void> {
    const settings = fromDraft(this.draft);
    if (typeof settings === "string") {
      this.invalid = settings;
      return;
    }
    await this.#run(async () => {
      await this.#backend.invoke("settings_save", { settings });
      this.saved = await this.#backend.invoke("settings_show", {});
      this.draft = toDraft(this.saved);
      this.savedNotice = true;
    });
  }

  async verify(): Promise<void> {
    await this.#run(async () => {
      this.chain = await this.#backend.invoke("audit_verify", {});
    });
  }

  async pruneNow(): Promise<void> {
    await this.#run(async () => {
      this.pruned = await this.#backend.invoke("audit_prune", {});
      await this.#status();
    });
  }

  async #status(): Promise<void> {
    try {
      this.status = await this.#backend.invoke("audit_status", {});
    } catch (e) {
      this.error = toGatehouseError(e);
    }
  }

  async #run(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await work();
      this.error = null;
    } catch (e) {
      this.error = toGatehouseError(e);
    } finally {
      this.busy = false;
    }
  }
}
