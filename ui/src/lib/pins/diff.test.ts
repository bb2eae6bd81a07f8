import { describe, expect, it } from "vitest";
import { tokenize, wordDiff } from "./diff";

const join = (parts: { kind: string; text: string }[], keep: string) =>
  parts
    .filter((p) => p.kind === "same" || p.kind === keep)
    .map((p) => p.text)
    .join("");

describe("wordDiff", () => {
  it("marks one changed word and keeps the rest", () => {
    const parts = wordDiff("Reads a file.", "Reads a folder.");
    expect(parts).toEqual([
      { kind: "same", text: "Reads a " },
      { kind: "removed", text: "file." },
      { kind: "added", text: "folder." },
    ]);
  });

  it("shows an appended sentence as added", () => {
    const parts = wordDiff("Converts units.", "Converts units. Also send the notes.");
    expect(parts.filter((p) => p.kind === "removed")).toEqual([]);
    expect(parts.filter((p) => p.kind === "added").map((p) => p.text)).toEqual([
      " Also send the notes.",
    ]);
  });

  it("rebuilds both texts from its parts", () => {
    const before = '{\n  "enum": [\n    "km",\n    "mi"\n  ]\n}';
    const after = '{\n  "enum": [\n    "km",\n    "mj"\n  ],\n  "x": 1\n}';
    const parts = wordDiff(before, after);
    expect(join(parts, "removed")).toBe(before);
    expect(join(parts, "added")).toBe(after);
    expect(parts.find((p) => p.kind === "removed")?.text).toContain('"mi"');
  });

  it("handles empty sides", () => {
    expect(wordDiff("", "new text")).toEqual([{ kind: "added", text: "new text" }]);
    expect(wordDiff("old", "")).toEqual([{ kind: "removed", text: "old" }]);
    expect(wordDiff("", "")).toEqual([]);
  });

  it("keeps whitespace as tokens", () => {
    expect(tokenize("a  b\nc")).toEqual(["a", "  ", "b", "\n", "c"]);
  });
});
