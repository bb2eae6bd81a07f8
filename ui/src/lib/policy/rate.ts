// Rate limits as the person writes them: `CALLS/WINDOW`, e.g. `10/hour`,
// `5/min`, `100/day` or `3/30s`. The same grammar as the engine's
// `RateLimit::from_str` and `gatehouse policy limit --rate`, so the page
// can say what is wrong before asking Rust.
import type { RateLimit } from "../bindings/RateLimit";

const UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
  hours: 3600,
  d: 86_400,
  day: 86_400,
  days: 86_400,
};

const U32_MAX = 0xffff_ffff;

export const RATE_HINT = "write CALLS/WINDOW, e.g. 10/hour, 5/min, 100/day or 3/30s";

/** Reads `10/hour`; throws a message the person can act on. */
export function parseRate(text: string): RateLimit {
  const bad = () => new Error(`"${text.trim()}" is not a rate limit: ${RATE_HINT}`);
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*([a-z]+)\s*$/i.exec(text);
  if (!match) throw bad();
  const [, maxText = "", countText = "", unitText = ""] = match;
  const max = Number(maxText);
  const count = countText === "" ? 1 : Number(countText);
  const unit = UNITS[unitText.toLowerCase()];
  if (unit === undefined) throw bad();
  const windowSecs = count * unit;
  if (max === 0 || max > U32_MAX || windowSecs === 0 || windowSecs > U32_MAX) throw bad();
  return { max, window_secs: windowSecs };
}

/** `10/hour`, as the engine and the CLI print it. */
export function formatRate({ max, window_secs: w }: RateLimit): string {
  if (w === 86_400) return `${max}/day`;
  if (w === 3600) return `${max}/hour`;
  if (w === 60) return `${max}/min`;
  if (w === 1) return `${max}/second`;
  if (w % 86_400 === 0) return `${max}/${w / 86_400}d`;
  if (w % 3600 === 0) return `${max}/${w / 3600}h`;
  if (w % 60 === 0) return `${max}/${w / 60}m`;
  return `${max}/${w}s`;
}

/** An empty text clears the limit: `null`. */
export function parseOptionalRate(text: string): RateLimit | null {
  return text.trim() === "" ? null : parseRate(text);
}
