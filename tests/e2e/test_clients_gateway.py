"""`gatehouse clients connect --via gateway`: a Cursor config connected to the
local gateway, used as Cursor would use it.

The entry `clients connect` writes (the gateway's URL and the client's bearer
token in Cursor's `url` + `headers` schema) is read back from the file and
handed, as it is, to the official MCP Python SDK's Streamable HTTP client,
which reaches the server through `gatehouse gateway`; the audit names the
client the token belongs to. The dry run hides the token; restore puts the
file back byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
# Hang guards only: nothing asserts on how long anything takes.
SESSION_TIMEOUT = 120
START_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _call_time(url: str, headers: dict[str, str]):
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120))
    async with streamable_http_client(url, http_client=http) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            result = await session.call_tool("get_current_time", {"timezone": "UTC"})
            return tools, result


def test_a_cursor_config_connected_to_the_gateway_reaches_the_server_as_cursor(cli, env):
    config = Path(env["HOME"]) / ".cursor" / "mcp.json"
    config.parent.mkdir(parents=True)
    original = json.dumps(
        {"mcpServers": {"time": {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"]}}},
        indent=2,
    ).encode() + b"\n"
    config.write_bytes(original)
    cli.run("clients", "import", "cursor")
    port = _free_port()

    dry = cli.run("clients", "connect", "cursor", "--via", "gateway", "--port", str(port), "--dry-run")
    token = cli.run("gateway", "token", "cursor").stdout.strip()
    assert len(token) == 43
    assert token not in dry.stdout
    assert f"http://127.0.0.1:{port}/mcp/time" in dry.stdout
    assert '"Authorization": "Bearer [REDACTED]"' in dry.stdout
    assert "gateway token" in dry.stdout and "time headers.Authorization" in dry.stdout
    assert config.read_bytes() == original

    cli.run("clients", "connect", "cursor", "--via", "gateway", "--port", str(port))
    entry = json.loads(config.read_text())["mcpServers"]["time"]
    assert entry == {
        "url": f"http://127.0.0.1:{port}/mcp/time",
        "headers": {"Authorization": f"Bearer {token}"},
    }
    listed = cli.json("clients", "list")
    cursor = next(c for c in listed if c["client"] == "cursor")
    (server,) = cursor["servers"]
    assert server["routed"] and server["routed_to"] == "time"
    assert server["findings"] == [], "the token is Gatehouse's own, not a finding"

    gateway = subprocess.Popen(
        [str(cli.path), "--json", "gateway", "--port", str(port)],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert gateway.stdout.readline(), gateway.stderr.read()
        tools, result = asyncio.run(
            asyncio.wait_for(_call_time(entry["url"], entry["headers"]), SESSION_TIMEOUT)
        )
    finally:
        gateway.terminate()
        _, stderr = gateway.communicate(timeout=START_TIMEOUT)
    assert gateway.returncode == 0, stderr

    assert tools == ["convert_time", "get_current_time"]
    assert not result.is_error
    assert json.loads(result.content[0].text)["timezone"] == "UTC"
    calls = [r for r in cli.json("audit", "list", "--server", "time") if r["method"] == "tools/call"]
    assert [(r["tool"], r["client"], r["decision"]) for r in calls] == [("get_current_time", "cursor", "allowed")]

    cli.run("clients", "restore", "cursor")
    assert config.read_bytes() == original
