"""`gatehouse run` between the official MCP Python SDK client and a real
server (mcp-server-time from PyPI): transparent where it should be,
refusing where the policy says so, and auditing every call."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
CALLS = [
    ("get_current_time", {"timezone": "UTC"}),
    ("convert_time", {"source_timezone": "UTC", "time": "10:00", "target_timezone": "Asia/Tokyo"}),
    ("convert_time", {"source_timezone": "Nowhere/Void", "time": "10:00", "target_timezone": "UTC"}),
]


async def _session(params: StdioServerParameters, calls):
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            results = []
            for name, args in calls:
                result = await session.call_tool(name, args)
                results.append(result)
            return tools, results


def _comparable(result) -> tuple:
    # get_current_time's clock moves between runs; compare everything else.
    texts = []
    for block in result.content:
        try:
            data = json.loads(block.text)
            data.pop("datetime", None)
            texts.append(data)
        except (ValueError, AttributeError):
            texts.append(getattr(block, "text", None))
    return bool(result.is_error), texts


def test_tools_and_results_through_the_proxy_equal_the_direct_ones(cli, env):
    cli.run("server", "add", "time", "--", TIME_SERVER, "--local-timezone", "UTC")
    direct = asyncio.run(
        _session(StdioServerParameters(command=TIME_SERVER, args=["--local-timezone", "UTC"], env=env), CALLS)
    )
    proxied = asyncio.run(
        _session(StdioServerParameters(command=str(cli.path), args=["run", "time"], env=env), CALLS)
    )
    assert [t.model_dump() for t in proxied[0]] == [t.model_dump() for t in direct[0]]
    assert [_comparable(r) for r in proxied[1]] == [_comparable(r) for r in direct[1]]

    records = cli.json("audit", "list", "--server", "time")
    calls = [r for r in records if r["method"] == "tools/call"]
    assert [r["tool"] for r in reversed(calls)] == [name for name, _ in CALLS]
    assert all(r["decision"] == "allowed" and r["client"] for r in calls)
    assert {r["method"] for r in records} >= {"initialize", "tools/list", "tools/call"}


def test_a_denied_tool_is_hidden_refused_and_never_reaches_the_server(cli, env):
    cli.run("server", "add", "time", "--", TIME_SERVER, "--local-timezone", "UTC")
    cli.run("policy", "set", "time", "convert_time", "deny")
    tools, results = asyncio.run(
        _session(StdioServerParameters(command=str(cli.path), args=["run", "time"], env=env), CALLS[:2])
    )
    assert [t.name for t in tools] == ["get_current_time"]
    allowed, denied = results
    assert not allowed.is_error
    assert denied.is_error
    text = denied.content[0].text
    assert "refused" in text and "convert_time" in text and "gatehouse policy set time convert_time allow" in text

    denials = cli.json("audit", "list", "--decision", "denied")
    assert [(r["tool"], r["decision"]) for r in denials] == [("convert_time", "denied")]
    assert denials[0]["arguments"]["target_timezone"] == "Asia/Tokyo"


def test_a_server_that_cannot_start_gets_a_clear_error_not_a_hang(cli, env):
    cli.run("server", "add", "broken", "--", "/nonexistent/mcp-server")
    proc = cli.run(
        "run",
        "broken",
        input='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n',
    )
    reply = json.loads(proc.stdout.splitlines()[0])
    assert reply["id"] == 1
    assert "could not start" in reply["error"]["message"]
    assert "/nonexistent/mcp-server" in reply["error"]["message"]
    [record] = cli.json("audit", "list", "--server", "broken")
    assert record["decision"] == "error"
