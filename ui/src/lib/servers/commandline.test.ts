import { describe, expect, it } from "vitest";
import { parseEnvLines, splitCommandLine } from "./commandline";

describe("splitCommandLine", () => {
  it.each([
    ["python3 server.py", ["python3", "server.py"]],
    ["  npx   -y  pkg@1.2.3 ", ["npx", "-y", "pkg@1.2.3"]],
    [`node "my server.js" --name 'a b'`, ["node", "my server.js", "--name", "a b"]],
    [String.raw`run a\ b "x\"y" ''`, ["run", "a b", 'x"y', ""]],
    [`echo '$HOME'`, ["echo", "$HOME"]],
  ])("%s", (line, words) => {
    expect(splitCommandLine(line)).toEqual(words);
  });

  it("refuses an unclosed quote", () => {
    expect(() => splitCommandLine(`node "oops`)).toThrow(/unclosed/);
  });
});

describe("parseEnvLines", () => {
  it("reads KEY=VALUE lines and keeps '=' in values", () => {
    expect(parseEnvLines("A=1\n\n B=x=y \n")).toEqual({ A: "1", B: "x=y" });
  });
  it("refuses a line without a key", () => {
    expect(() => parseEnvLines("=1")).toThrow(/KEY=VALUE/);
  });
});
