"""What the audit log keeps of a tool's result: the result itself, redacted,
searchable, and for a long one only a preview with the whole result's hash.
Through `gatehouse run` with the official Python SDK client, against a real
server that leaks its own secret in its answers."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

LEAKY = str(Path(__file__).parent / "servers" / "leaky.py")
CANARY = "sk-result-canary-3b9e1d7a5c"


async def _calls(params: StdioServerParameters):
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            small = await session.call_tool("whoami", {})
            large = await session.call_tool("report", {"words": 2000})
            return small, large


def test_results_are_recorded_redacted_and_long_ones_as_a_preview(cli, env):
    cli.run("server", "add", "leaky", "--secret", "API_TOKEN", "--", sys.executable, LEAKY)
    cli.run("secret", "set", "leaky", "API_TOKEN", input=CANARY)
    cli.run("audit", "retention", "--preview-bytes", "1024")
    cli.run("policy", "set", "leaky", "report", "allow")  # it "writes" a report: asked by default
    params = StdioServerParameters(command=str(cli.path), args=["run", "leaky"], env=env)
    small, large = asyncio.run(_calls(params))
    # The client got the server's answers untouched, secret and all.
    assert CANARY in small.content[0].text
    assert "paragraph1999" in large.content[0].text

    calls = {r["tool"]: r for r in cli.json("audit", "list", "--server", "leaky") if r["method"] == "tools/call"}
    whoami = calls["whoami"]["result"]
    text = whoami["content"][0]["text"]
    assert "alice" in text and CANARY not in text and "[REDACTED]" in text
    assert calls["whoami"]["result_hash"] is None

    report = calls["report"]
    assert isinstance(report["result"], str), "a long result is kept as a preview string"
    assert report["result"].startswith('{"content"') and len(report["result"].encode()) <= 1024
    assert "paragraph1999" not in report["result"]
    assert len(report["result_hash"]) == 64 and report["result_size"] > 2000 * 10

    # Full text reaches results.
    found = cli.json("audit", "list", "--search", "alice")
    assert [r["tool"] for r in found] == ["whoami"]

    # The canary reached no file in the data directory (database, WAL, spools).
    data = Path(env["GATEHOUSE_HOME"])
    for path in data.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), f"the secret is in {path}"
