import { describe, expect, it } from "vitest";
import { formatRate, parseOptionalRate, parseRate } from "./rate";

describe("parseRate", () => {
  it.each([
    ["10/hour", 10, 3600],
    [" 5 / min ", 5, 60],
    ["100/day", 100, 86_400],
    ["3/30s", 3, 30],
    ["2/second", 2, 1],
    ["7/2H", 7, 7200],
  ])("%s", (text, max, windowSecs) => {
    expect(parseRate(text)).toEqual({ max, window_secs: windowSecs });
  });

  it.each(["", "often", "10", "10/", "0/hour", "10/0s", "10/fortnight", "-1/hour", "1.5/hour"])(
    "refuses %j",
    (text) => {
      expect(() => parseRate(text)).toThrow(/CALLS\/WINDOW/);
    },
  );

  it("refuses a window longer than the engine can count", () => {
    expect(() => parseRate("1/50000d")).toThrow(/not a rate limit/);
  });
});

describe("formatRate", () => {
  it("prints what the engine prints, and reads back the same", () => {
    for (const text of [
      "10/hour",
      "5/min",
      "100/day",
      "2/second",
      "3/30s",
      "4/2h",
      "6/3d",
      "8/5m",
    ]) {
      expect(formatRate(parseRate(text))).toBe(text);
    }
  });
});

describe("parseOptionalRate", () => {
  it("reads an empty box as no limit", () => {
    expect(parseOptionalRate("  ")).toBeNull();
    expect(parseOptionalRate("1/min")).toEqual({ max: 1, window_secs: 60 });
  });
});
