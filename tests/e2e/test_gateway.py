"""`gatehouse gateway`: registered servers over Streamable HTTP at
http://127.0.0.1:PORT/mcp/NAME, with real clients.

- The official MCP Python SDK client, against server-everything (stdio)
  behind the gateway: tools, results, errors, progress and the server's own
  requests (sampling, elicitation, roots) must look exactly as they do to a
  stdio client of the server itself; and, in the stateless 2026-07-28
  revision, against a Python SDK server that speaks it.
- The MCP Inspector CLI with `--transport http` and a bearer header.
- Plain HTTP for what the gateway refuses: no token, a foreign Origin or
  Host (DNS rebinding), a rotated token.

The audit names the client whose token was used, not what the client says
it is.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp import ClientSession
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from test_proxy_everything import (
    CALLS,
    LONG_RUNNING,
    SERVER_REQUESTS,
    Peer,
    _as_sent,
    _direct,
    _drive,
    _dump,
    _node_bin,
    _server_requests,
    _tools_and_calls,
    everything,  # noqa: F401 (a fixture)
)

ROOT = Path(__file__).resolve().parents[2]
MODERN = str(Path(__file__).parent / "servers" / "modern.py")
INSPECTOR_CLI = ROOT / "tests" / "node_modules" / "@modelcontextprotocol" / "inspector-cli" / "build"

# Hang guards only: nothing asserts on how long anything takes.
SESSION_TIMEOUT = 180
START_TIMEOUT = 60


class Gateway:
    """A running `gatehouse gateway --port 0`."""

    def __init__(self, cli):
        self.proc = subprocess.Popen(
            [str(cli.path), "--json", "gateway", "--port", "0"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=START_TIMEOUT)
            pytest.fail(f"gatehouse gateway exited {self.proc.returncode}: {self.proc.stderr.read()}")
        serving = json.loads(line)
        self.port: int = serving["port"]
        self.base: str = serving["url"]
        self.servers: dict[str, str] = {s["name"]: s["url"] for s in serving["servers"]}

    def url(self, name: str) -> str:
        return self.base + name

    def stop(self) -> str:
        """Stops it as a service manager would; its stderr."""
        self.proc.terminate()
        _, stderr = self.proc.communicate(timeout=START_TIMEOUT)
        assert self.proc.returncode == 0, f"gatehouse gateway exited {self.proc.returncode}: {stderr}"
        return stderr


@pytest.fixture
def gateway(cli, everything):  # noqa: F811 (the imported fixture)
    g = Gateway(cli)
    yield g
    g.stop()


def _token(cli, client: str) -> str:
    return cli.run("gateway", "token", client).stdout.strip()


def _http(token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx2.Timeout(30, read=300),
    )


async def _http_session(url: str, token: str, script, **callbacks):
    async with streamable_http_client(url, http_client=_http(token)) as (read, write):
        async with ClientSession(read, write, **callbacks) as session:
            await session.initialize()
            return await script(session)


def _drive_http(url: str, token: str, script, **callbacks):
    return asyncio.run(asyncio.wait_for(_http_session(url, token, script, **callbacks), SESSION_TIMEOUT))


def _tool_calls(cli, client: str, count: int) -> list[dict]:
    """The client's tool calls in the audit log, oldest first, once `count`
    of them are there. A gateway session's records reach the database from
    its writer thread in batches (each is in the session's spool before its
    answer goes out), so they may arrive a moment after the answer; the wait
    is a hang guard, nothing asserts on how long it takes."""
    deadline = time.monotonic() + 30
    while True:
        records = cli.json("audit", "list", "--client", client)
        calls = list(reversed([r for r in records if r["method"] == "tools/call"]))
        if len(calls) >= count or time.monotonic() > deadline:
            return calls
        time.sleep(0.1)


# ---------------------------------------------------------------------------
# The Python SDK client, session style (2025-11-25)


def test_the_python_sdk_client_sees_through_the_gateway_what_a_stdio_client_sees(cli, env, everything, gateway):  # noqa: F811
    token = _token(cli, "cursor")
    direct = _drive(_direct(everything, env), _tools_and_calls)
    through = _drive_http(gateway.url("everything"), token, _tools_and_calls)
    d_tools, d_results, d_long, d_progress = direct
    g_tools, g_results, g_long, g_progress = through

    assert gateway.servers == {"everything": gateway.url("everything")}
    assert d_results[0].content[0].text == "Echo: through the gate"
    assert d_progress == [(1, 4, None), (2, 4, None), (3, 4, None), (4, 4, None)]
    assert _as_sent(g_tools) == _as_sent(d_tools)
    assert [_dump(r) for r in g_results] == [_dump(r) for r in d_results]
    assert _dump(g_long) == _dump(d_long)
    # Progress came on the request's own event stream, in order.
    assert g_progress == d_progress

    # The audit names the token's client, whatever the client calls itself.
    calls = _tool_calls(cli, "cursor", len(CALLS) + 1)
    assert [r["tool"] for r in calls] == [name for name, _ in CALLS] + [LONG_RUNNING[0]]
    assert {(r["server"], r["client"]) for r in calls} == {("everything", "cursor")}


def test_the_servers_requests_reach_an_http_client_through_the_gateway(cli, env, everything, gateway):  # noqa: F811
    token = _token(cli, "vscode")
    d_peer = Peer()
    d_tools, d_results = _drive(_direct(everything, env), _server_requests, **d_peer.callbacks())
    g_peer = Peer()
    g_tools, g_results = _drive_http(gateway.url("everything"), token, _server_requests, **g_peer.callbacks())

    assert _as_sent(g_tools) == _as_sent(d_tools)
    kinds = [kind for kind, _ in g_peer.asked]
    assert kinds.count("sampling") == 1 and kinds.count("elicitation") == 1
    assert kinds.count("roots") >= 1
    sampled, elicited, roots = (" ".join(c.text for c in r.content) for r in g_results)
    assert "Gatehouse relayed this sample" in sampled
    assert "- Name: Ada Lovelace" in elicited
    assert "file:///srv/gatehouse-project" in roots
    assert [_dump(r) for r in g_results] == [_dump(r) for r in d_results]
    # List changes and logs came on the GET stream.
    assert g_peer.notifications == d_peer.notifications
    assert "Roots updated: 1 root(s) received from client" in g_peer.logs
    assert [(r["tool"], r["decision"]) for r in _tool_calls(cli, "vscode", len(SERVER_REQUESTS))] == [
        (name, "allowed") for name, _ in SERVER_REQUESTS
    ]


def test_a_call_the_policy_denies_is_denied_through_the_gateway(cli, gateway):
    cli.run("policy", "set", "everything", "get-sum", "deny")
    token = _token(cli, "cursor")

    async def call(session: ClientSession):
        return await session.call_tool("get-sum", {"a": 1, "b": 2})

    result = _drive_http(gateway.url("everything"), token, call)
    assert result.is_error
    assert "Gatehouse refused this call" in result.content[0].text
    denied = _tool_calls(cli, "cursor", 1)
    assert [(r["tool"], r["decision"], r["client"]) for r in denied] == [("get-sum", "denied", "cursor")]


# ---------------------------------------------------------------------------
# The stateless revision (2026-07-28)


def test_a_modern_client_and_server_talk_statelessly_through_the_gateway(cli, gateway):
    cli.run("server", "add", "modern", "--", sys.executable, MODERN)
    cli.run("policy", "set", "modern", "shout", "allow")
    token = _token(cli, "claude-code")

    async def talk(mode: str):
        async with Client(streamable_http_client(gateway.url("modern"), http_client=_http(token)), mode=mode) as c:
            tools = await c.list_tools()
            shouted = await c.call_tool("shout", {"text": "through the gate"})
            return [t.name for t in tools.tools], shouted.content[0].text, c.protocol_version

    # Pinned to the stateless revision, and negotiated by the SDK's probe.
    for mode in ("2026-07-28", "auto"):
        names, shouted, version = asyncio.run(asyncio.wait_for(talk(mode), SESSION_TIMEOUT))
        assert names == ["shout"]
        assert shouted == "THROUGH THE GATE"
        assert version == "2026-07-28"
    calls = _tool_calls(cli, "claude-code", 2)
    assert [(r["tool"], r["server"], r["decision"]) for r in calls] == [("shout", "modern", "allowed")] * 2


# ---------------------------------------------------------------------------
# The MCP Inspector CLI


def _inspector(env: dict[str, str], url: str, token: str, *method: str) -> dict:
    # The CLI finds its own package.json relative to the working directory.
    proc = subprocess.run(
        ["node", "index.js", url, "--transport", "http", "--header", f"Authorization: Bearer {token}", *method],
        env=env,
        cwd=INSPECTOR_CLI,
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT,
    )
    assert proc.returncode == 0, f"inspector {method} exited {proc.returncode}: {proc.stderr}"
    return json.loads(proc.stdout)


def test_the_inspector_cli_uses_the_gateway(cli, env, gateway):
    if not (INSPECTOR_CLI / "index.js").exists():
        pytest.fail(f"{INSPECTOR_CLI} is missing: run `npm ci` in tests/ (scripts/setup.sh does)")
    _node_bin("mcp-inspector")
    token = _token(cli, "inspector")
    url = gateway.url("everything")
    listed = _inspector(env, url, token, "--method", "tools/list")
    assert "echo" in {t["name"] for t in listed["tools"]}
    echoed = _inspector(env, url, token, "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=hi")
    assert echoed["content"][0]["text"] == "Echo: hi"
    # Each run was its own session, ended with DELETE.
    calls = _tool_calls(cli, "inspector", 1)
    assert [(r["tool"], r["client"]) for r in calls] == [("echo", "inspector")]


# ---------------------------------------------------------------------------
# What the gateway refuses


def _raw(port: int, method: str, headers: dict[str, str], body: str | None = None) -> tuple[int, dict, str]:
    """One request with exactly these headers (Host included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, "/mcp/everything", skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        data = body.encode() if body is not None else None
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
    }
)


def test_the_gateway_refuses_requests_without_a_token_or_from_elsewhere(cli, gateway):
    token = _token(cli, "cursor")
    host = f"127.0.0.1:{gateway.port}"
    post = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    status, headers, body = _raw(gateway.port, "POST", {"Host": host, **post}, INITIALIZE)
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer")
    assert "token" in json.loads(body)["error"]["message"]

    authorized = {"Host": host, "Authorization": f"Bearer {token}", **post}
    # A page elsewhere, even with the token, and a rebound host name.
    status, _, _ = _raw(gateway.port, "POST", {**authorized, "Origin": "https://evil.example.com"}, INITIALIZE)
    assert status == 403
    status, _, _ = _raw(gateway.port, "POST", {**authorized, "Host": f"evil.example.com:{gateway.port}"}, INITIALIZE)
    assert status == 403

    status, headers, body = _raw(gateway.port, "POST", authorized, INITIALIZE)
    assert status == 200
    session = headers["mcp-session-id"]
    assert json.loads(body)["result"]["serverInfo"]["name"] == "mcp-servers/everything"
    status, _, _ = _raw(gateway.port, "DELETE", {**authorized, "Mcp-Session-Id": session})
    assert status == 200
    status, _, _ = _raw(gateway.port, "DELETE", {**authorized, "Mcp-Session-Id": session})
    assert status == 404


def test_a_rotated_token_stops_working_and_tokens_are_listed_without_values(cli, gateway):
    old = _token(cli, "cursor")
    assert _token(cli, "cursor") == old
    new = cli.run("gateway", "token", "cursor", "--rotate").stdout.strip()
    assert new != old
    host = f"127.0.0.1:{gateway.port}"
    post = {"Host": host, "Content-Type": "application/json"}

    # The running gateway hears of the rotation from the store.
    deadline = time.monotonic() + START_TIMEOUT
    while _raw(gateway.port, "POST", {**post, "Authorization": f"Bearer {old}"}, INITIALIZE)[0] != 401:
        assert time.monotonic() < deadline, "the rotated token still works"
        time.sleep(0.05)
    status, headers, _ = _raw(gateway.port, "POST", {**post, "Authorization": f"Bearer {new}"}, INITIALIZE)
    assert status == 200
    _raw(gateway.port, "DELETE", {**post, "Authorization": f"Bearer {new}", "Mcp-Session-Id": headers["mcp-session-id"]})

    listed = cli.json("gateway", "tokens")
    assert [c["client"] for c in listed] == ["cursor"]
    assert new not in json.dumps(listed) and new not in cli.run("gateway", "tokens").stdout
    assert "Revoked" in cli.run("gateway", "token", "cursor", "--revoke").stdout
    assert cli.json("gateway", "tokens") == []
