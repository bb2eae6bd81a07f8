// Splitting a field's text around a scanner span. Spans count UTF-8 bytes
// (as the engine does); JavaScript strings count UTF-16 units, so the text
// is encoded, cut at the byte offsets and decoded again.
import type { ScanFinding } from "../bindings/ScanFinding";

export interface Highlighted {
  /** Text before the span (clipped to `context` characters, with "…"). */
  before: string;
  /** The offending text as shown: escaped if it holds invisible characters. */
  inside: string;
  /** Text after the span (clipped likewise). */
  after: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Characters a reader cannot see: zero-width, bidi controls, tags, controls. */
const INVISIBLE =
  // eslint-disable-next-line no-control-regex, no-misleading-character-class
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/u;

/**
 * Splits `text` around the finding's span. If the field's text is unknown or
 * the span does not fit it, the span's own text stands alone.
 */
export function highlight(
  text: string | undefined,
  finding: ScanFinding,
  context = 80,
): Highlighted {
  const { start, end } = finding.span;
  if (text === undefined) return { before: "", inside: finding.span.text, after: "" };
  const bytes = encoder.encode(text);
  if (start > end || end > bytes.length)
    return { before: "", inside: finding.span.text, after: "" };
  const raw = decoder.decode(bytes.subarray(start, end));
  return {
    before: clipStart(decoder.decode(bytes.subarray(0, start)), context),
    inside: INVISIBLE.test(raw) ? finding.span.text : raw,
    after: clipEnd(decoder.decode(bytes.subarray(end)), context),
  };
}

function clipStart(s: string, n: number): string {
  const chars = Array.from(s);
  return chars.length <= n ? s : "…" + chars.slice(chars.length - n).join("");
}

function clipEnd(s: string, n: number): string {
  const chars = Array.from(s);
  return chars.length <= n ? s : chars.slice(0, n).join("") + "…";
}
