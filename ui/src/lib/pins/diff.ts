// A word-level diff of two texts (a tool's approved definition and the one
// the server offers now), by longest common subsequence over words and the
// whitespace between them. Small inputs only: definitions are short; past
// `LIMIT` tokens a side, the whole old text is shown removed and the new
// one added.

/** A run of text that both sides share, or only one has. */
export interface DiffPart {
  kind: "same" | "added" | "removed";
  text: string;
}

const LIMIT = 3000;

/** Words and the whitespace runs between them, in order. */
export function tokenize(text: string): string[] {
  return text.split(/(\s+)/).filter((t) => t.length > 0);
}

/** The parts that turn `before` into `after`, adjacent parts of a kind joined. */
export function wordDiff(before: string, after: string): DiffPart[] {
  const a = tokenize(before);
  const b = tokenize(after);
  const parts: DiffPart[] = [];
  const push = (kind: DiffPart["kind"], text: string) => {
    const last = parts[parts.length - 1];
    if (last && last.kind === kind) last.text += text;
    else parts.push({ kind, text });
  };
  if (a.length > LIMIT || b.length > LIMIT) {
    if (before) push("removed", before);
    if (after) push("added", after);
    return parts;
  }
  // lengths[i * (m + 1) + j]: the LCS of a[i..] and b[j..].
  const n = a.length;
  const m = b.length;
  const lengths = new Uint32Array((n + 1) * (m + 1));
  const lcs = (i: number, j: number) => lengths[i * (m + 1) + j] ?? 0;
  const word = (tokens: string[], k: number) => tokens[k] ?? "";
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * (m + 1) + j] =
        word(a, i) === word(b, j) ? lcs(i + 1, j + 1) + 1 : Math.max(lcs(i + 1, j), lcs(i, j + 1));
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (word(a, i) === word(b, j)) {
      push("same", word(a, i));
      i++;
      j++;
    } else if (lcs(i + 1, j) >= lcs(i, j + 1)) {
      push("removed", word(a, i++));
    } else {
      push("added", word(b, j++));
    }
  }
  while (i < n) push("removed", word(a, i++));
  while (j < m) push("added", word(b, j++));
  return parts;
}
