"""`gatehouse run NAME` bridging a stdio client to a remote server on
loopback: the reference server (@modelcontextprotocol/server-everything) in
its Streamable HTTP mode, and a Python SDK server over Streamable HTTP and
over the older HTTP+SSE transport (tests/e2e/servers/remote.py).

What the client sees through the bridge must equal what it sees talking
HTTP to the server itself; the policy and the audit apply as to a stdio
server; a secret header never reaches a file; and the faults (a server that
dies mid-stream, a session lost with a restart, a slow server) end in clear
errors or a transparent recovery.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "tests" / "node_modules" / ".bin"
REMOTE = Path(__file__).resolve().parent / "servers" / "remote.py"
CANARY = "gatehouse-remote-canary-5f2c9e"
# Hang guards only: nothing asserts on how long anything takes.
SESSION_TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} did not listen on {port}")


class Remote:
    """A server process on a port of its own, restartable on the same port."""

    def __init__(self, argv_for_port, env=None, what="server"):
        self.port = _free_port()
        self.argv_for_port = argv_for_port
        self.env = env
        self.what = what
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv_for_port(self.port),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.proc, self.what)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def python_http():
    server = Remote(lambda port: [sys.executable, str(REMOTE), str(port), "http"], what="remote.py http")
    yield server
    server.stop()


@pytest.fixture
def python_sse():
    server = Remote(lambda port: [sys.executable, str(REMOTE), str(port), "sse"], what="remote.py sse")
    yield server
    server.stop()


@pytest.fixture
def everything_http():
    command = NODE_BIN / "mcp-server-everything"
    if not command.exists():
        pytest.fail(f"{command} is missing: run `npm ci` in tests/ (scripts/setup.sh does)")

    def argv(port):
        return [str(command), "streamableHttp"]

    port_env = dict(os.environ)
    server = Remote.__new__(Remote)
    server.port = _free_port()
    port_env["PORT"] = str(server.port)
    server.argv_for_port, server.env, server.what, server.proc = argv, port_env, "server-everything", None
    server.start()
    yield server
    server.stop()


async def _over(transport, script, **callbacks):
    async with transport as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write, **callbacks) as session:
            await session.initialize()
            return await script(session)


def _drive(transport, script, **callbacks):
    return asyncio.run(asyncio.wait_for(_over(transport, script, **callbacks), SESSION_TIMEOUT))


def _proxied(cli, name: str):
    return stdio_client(StdioServerParameters(command=str(cli.path), args=["run", name], env=cli.env))


def _dump(result) -> dict:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


# ---------------------------------------------------------------------------
# server-everything over Streamable HTTP

EVERYTHING_CALLS = [
    ("echo", {"message": "across the wire"}),
    ("get-sum", {"a": 2, "b": 40}),
    ("get-sum", {"a": "two", "b": 40}),
    ("no-such-tool", {}),
    ("get-structured-content", {"location": "Chicago"}),
]


async def _everything_script(session: ClientSession):
    tools = (await session.list_tools()).tools
    results = [await session.call_tool(name, args) for name, args in EVERYTHING_CALLS]
    progress = []

    async def on_progress(done, total, message):
        progress.append((done, total))

    long_running = await session.call_tool(
        "trigger-long-running-operation", {"duration": 0.4, "steps": 4}, progress_callback=on_progress
    )
    return tools, results, long_running, progress


def test_server_everything_over_streamable_http_looks_the_same_through_the_bridge(cli, everything_http):
    url = f"http://127.0.0.1:{everything_http.port}/mcp"
    cli.run("server", "add", "everything", "--url", url)
    cli.run("policy", "set", "everything", "trigger-long-running-operation", "allow", "--confirm")

    direct = _drive(streamable_http_client(url), _everything_script)
    proxied = _drive(_proxied(cli, "everything"), _everything_script)
    d_tools, d_results, d_long, d_progress = direct
    p_tools, p_results, p_long, p_progress = proxied

    assert d_results[0].content[0].text == "Echo: across the wire"
    assert [bool(r.is_error) for r in d_results[:4]] == [False, False, True, True]
    assert d_progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [t.name for t in p_tools] == [t.name for t in d_tools]
    assert [_dump(r) for r in p_results] == [_dump(r) for r in d_results]
    assert _dump(p_long) == _dump(d_long)
    assert p_progress == d_progress

    records = cli.json("audit", "list", "--server", "everything")
    calls = [r for r in records if r.get("method") == "tools/call"]
    assert {r["tool"] for r in calls} >= {"echo", "get-sum", "trigger-long-running-operation"}


# ---------------------------------------------------------------------------
# A Python SDK server over Streamable HTTP and HTTP+SSE


async def _echo_script(session: ClientSession):
    tools = sorted(t.name for t in (await session.list_tools()).tools)
    echoed = await session.call_tool("echo", {"text": "hello"})
    return tools, echoed.content[0].text


def test_python_sdk_server_over_streamable_http(cli, python_http):
    url = f"http://127.0.0.1:{python_http.port}/mcp"
    cli.run("server", "add", "py", "--url", url)
    direct = _drive(streamable_http_client(url), _echo_script)
    proxied = _drive(_proxied(cli, "py"), _echo_script)
    assert direct == (["echo", "pid", "progress", "slow"], "hello")
    assert proxied == direct


def test_python_sdk_server_over_http_sse(cli, python_sse):
    url = f"http://127.0.0.1:{python_sse.port}/sse"
    cli.run("server", "add", "old", "--url", url)
    direct = _drive(sse_client(url), _echo_script)
    proxied = _drive(_proxied(cli, "old"), _echo_script)
    assert direct == (["echo", "pid", "progress", "slow"], "hello")
    assert proxied == direct


def test_the_policy_applies_to_a_remote_server_as_to_a_local_one(cli, python_http):
    cli.run("server", "add", "py", "--url", f"http://127.0.0.1:{python_http.port}/mcp")
    cli.run("policy", "set", "py", "pid", "deny")

    async def script(session):
        tools = sorted(t.name for t in (await session.list_tools()).tools)
        refused = await session.call_tool("pid", {})
        return tools, refused

    tools, refused = _drive(_proxied(cli, "py"), script)
    assert "pid" not in tools
    assert refused.is_error and "set to deny" in refused.content[0].text
    denied = [r for r in cli.json("audit", "list", "--server", "py") if r.get("tool") == "pid"]
    assert denied and denied[0]["decision"] == "denied"


def test_a_secret_header_comes_from_the_keychain_and_reaches_no_file(cli, env):
    server = Remote(
        lambda port: [sys.executable, str(REMOTE), str(port), "http", "--require-header", f"X-Api-Key={CANARY}"],
        what="remote.py with a key",
    )
    try:
        url = f"http://127.0.0.1:{server.port}/mcp"
        cli.run("server", "add", "keyed", "--url", url, "--secret-header", "X-Api-Key")

        async def echo_canary(session):
            result = await session.call_tool("echo", {"text": f"key is {CANARY}"})
            return result.content[0].text

        # Without the value, the bridge refuses to start and says why.
        async def first_call(session):
            return await session.list_tools()

        with pytest.raises(Exception) as refused:
            _drive(_proxied(cli, "keyed"), first_call)
        assert "X-Api-Key of server 'keyed' is not in the OS keychain" in repr(refused.value)

        cli.run("secret", "set", "keyed", "X-Api-Key", input=CANARY)
        assert _drive(_proxied(cli, "keyed"), echo_canary) == f"key is {CANARY}"
    finally:
        server.stop()

    home = Path(env["GATEHOUSE_HOME"])
    leaks = [p for p in home.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert leaks == [], f"the secret reached {leaks}"
    records = cli.json("audit", "list", "--server", "keyed")
    assert any(r.get("tool") == "echo" for r in records)


# ---------------------------------------------------------------------------
# Faults


def test_a_server_that_dies_mid_stream_gives_a_clear_error_and_a_restart_is_recovered(cli, python_http):
    cli.run("server", "add", "py", "--url", f"http://127.0.0.1:{python_http.port}/mcp")

    async def script(session):
        before = (await session.call_tool("pid", {})).content[0].text
        seen = asyncio.Event()

        async def on_progress(done, total, message):
            seen.set()

        call = asyncio.create_task(session.call_tool("progress", {"steps": 30}, progress_callback=on_progress))
        await asyncio.wait_for(seen.wait(), 30)
        python_http.stop()
        try:
            await call
            broken = "answered"
        except Exception as e:  # the SDK raises McpError for a JSON-RPC error
            broken = str(e)
        # The same port, a new process: the old session is unknown there
        # (404), and the bridge starts a new one by itself.
        python_http.start()
        after = (await session.call_tool("pid", {})).content[0].text
        return before, broken, after

    before, broken, after = _drive(_proxied(cli, "py"), script)
    assert "'py'" in broken and "before the answer" in broken, broken
    assert before != after, "the second answer comes from the restarted server"


def test_a_slow_server_times_out_with_a_clear_error(cli, env, python_http):
    cli.run("server", "add", "py", "--url", f"http://127.0.0.1:{python_http.port}/mcp")
    db = Path(env["GATEHOUSE_HOME"]) / "gatehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('remote.timeout_secs', '1')")

    async def script(session):
        try:
            await session.call_tool("slow", {"seconds": 5})
        except Exception as e:  # the SDK raises McpError for a JSON-RPC error
            return str(e)
        return "answered"

    message = _drive(_proxied(cli, "py"), script)
    assert "py" in message and "no answer within 1 s" in message, message
