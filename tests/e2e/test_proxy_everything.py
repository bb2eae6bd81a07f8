"""`gatehouse run` with the reference MCP server from npm
(@modelcontextprotocol/server-everything) and two real clients: the official
MCP Python SDK and the MCP Inspector CLI (@modelcontextprotocol/inspector).

Everything the proxy does not refuse must look to the client exactly as it
does without the proxy: the tool list, results (errors included), progress
notifications, and the server's own requests to the client (sampling,
elicitation, roots). The npm packages come from tests/package-lock.json
(`npm ci` in tests/, which scripts/setup.sh runs).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "tests" / "node_modules" / ".bin"
TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")

# Hang guards only: nothing asserts on how long anything takes. Node peers
# start slowly on a loaded machine.
SESSION_TIMEOUT = 180
INSPECTOR_TIMEOUT = 180


def _node_bin(name: str) -> str:
    path = NODE_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `npm ci` in tests/ (scripts/setup.sh does)")
    return str(path)


@pytest.fixture
def everything(cli) -> str:
    """server-everything, registered as `everything`; returns its command."""
    command = _node_bin("mcp-server-everything")
    cli.run("server", "add", "everything", "--", command)
    # Their risk tiers would ask first ("trigger", "running"): the person
    # allowed the ones these tests call, as a user of this server would.
    for tool in ("trigger-long-running-operation", "trigger-sampling-request", "trigger-elicitation-request"):
        cli.run("policy", "set", "everything", tool, "allow", "--confirm")
    return command


# The clock in server-everything's resource texts ("... at 8:05:24 PM").
_TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\s?[AP]M)?")


def _masked(value):
    """`value` with times of day replaced, recursively, for comparison."""
    if isinstance(value, str):
        return _TIME_OF_DAY.sub("<time>", value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def _dump(result) -> dict:
    return _masked(result.model_dump(mode="json", by_alias=True, exclude_none=True))


def _as_sent(tools) -> list[str]:
    """Each tool definition as JSON, keeping the order of every object's
    keys as the server sent them (the SDK keeps schemas as plain dicts):
    order-sensitive, unlike comparing dicts."""
    return [json.dumps(t.model_dump(mode="json", by_alias=True, exclude_none=True)) for t in tools]


async def _session(params: StdioServerParameters, script, **callbacks):
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, **callbacks) as session:
            await session.initialize()
            return await script(session)


def _drive(params: StdioServerParameters, script, **callbacks):
    return asyncio.run(asyncio.wait_for(_session(params, script, **callbacks), SESSION_TIMEOUT))


def _direct(command: str, env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=command, env=env)


def _proxied(cli, name: str) -> StdioServerParameters:
    return StdioServerParameters(command=str(cli.path), args=["run", name], env=cli.env)


# ---------------------------------------------------------------------------
# Python SDK client: tools, results, errors and progress

CALLS = [
    ("echo", {"message": "through the gate"}),
    ("get-sum", {"a": 2, "b": 40}),
    # The server's own errors: a failed argument check and an unknown tool.
    ("get-sum", {"a": "two", "b": 40}),
    ("no-such-tool", {}),
    ("get-annotated-message", {"messageType": "error", "includeImage": True}),
    ("get-tiny-image", {}),
    ("get-structured-content", {"location": "Chicago"}),
    ("get-resource-reference", {"resourceType": "Text", "resourceId": 3}),
]
LONG_RUNNING = ("trigger-long-running-operation", {"duration": 0.4, "steps": 4})


async def _tools_and_calls(session: ClientSession):
    tools = (await session.list_tools()).tools
    results = [await session.call_tool(name, args) for name, args in CALLS]
    progress = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    name, args = LONG_RUNNING
    long_running = await session.call_tool(name, args, progress_callback=on_progress)
    return tools, results, long_running, progress


def test_tools_results_errors_and_progress_through_the_proxy_equal_the_direct_ones(cli, env, everything):
    direct = _drive(_direct(everything, env), _tools_and_calls)
    proxied = _drive(_proxied(cli, "everything"), _tools_and_calls)
    d_tools, d_results, d_long, d_progress = direct
    p_tools, p_results, p_long, p_progress = proxied

    # The comparison means something: the direct run is what we think it is.
    assert {"echo", "get-sum", "trigger-long-running-operation"} <= {t.name for t in d_tools}
    assert d_results[0].content[0].text == "Echo: through the gate"
    assert d_results[1].content[0].text == "The sum of 2 and 40 is 42."
    assert [bool(r.is_error) for r in d_results[:4]] == [False, False, True, True]
    assert d_progress == [(1, 4, None), (2, 4, None), (3, 4, None), (4, 4, None)]

    assert _as_sent(p_tools) == _as_sent(d_tools)
    assert [_dump(r) for r in p_results] == [_dump(r) for r in d_results]
    assert _dump(p_long) == _dump(d_long)
    # Every progress notification reached the client, in order, bound to
    # the right request.
    assert p_progress == d_progress

    records = cli.json("audit", "list", "--server", "everything")
    calls = list(reversed([r for r in records if r["method"] == "tools/call"]))
    assert [r["tool"] for r in calls] == [name for name, _ in CALLS] + [LONG_RUNNING[0]]
    assert all(r["decision"] == "allowed" for r in calls)
    # A result without `isError` is recorded as not saying (null).
    assert [bool(r["is_error"]) for r in calls[:4]] == [False, False, True, True]
    assert calls[1]["arguments"] == {"a": 2, "b": 40}


# ---------------------------------------------------------------------------
# Python SDK client: the server's requests to the client


class Peer:
    """A client that samples, elicits and lists roots, remembering each ask."""

    def __init__(self):
        self.asked: list[tuple[str, dict]] = []
        self.notifications: set[str] = set()
        self.logs: list[str] = []

    async def sampling(self, context, params: types.CreateMessageRequestParams):
        self.asked.append(("sampling", params.model_dump(mode="json", exclude_none=True)))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text="Gatehouse relayed this sample"),
            model="gatehouse-test-model",
            stop_reason="endTurn",
        )

    async def elicitation(self, context, params: types.ElicitRequestParams):
        self.asked.append(("elicitation", params.model_dump(mode="json", exclude_none=True)))
        return types.ElicitResult(action="accept", content={"name": "Ada Lovelace", "check": True, "integer": 7})

    async def list_roots(self, context):
        self.asked.append(("roots", {}))
        return types.ListRootsResult(roots=[types.Root(uri="file:///srv/gatehouse-project", name="gatehouse-project")])

    async def logging(self, params: types.LoggingMessageNotificationParams):
        self.logs.append(str(params.data))

    async def messages(self, message):
        if not isinstance(message, Exception):
            self.notifications.add(message.method)

    def callbacks(self) -> dict:
        return dict(
            sampling_callback=self.sampling,
            elicitation_callback=self.elicitation,
            list_roots_callback=self.list_roots,
            logging_callback=self.logging,
            message_handler=self.messages,
        )


SERVER_REQUESTS = [
    ("trigger-sampling-request", {"prompt": "Who guards the gate?", "maxTokens": 7}),
    ("trigger-elicitation-request", {}),
    ("get-roots-list", {}),
]


async def _server_requests(session: ClientSession):
    tools = (await session.list_tools()).tools
    results = [await session.call_tool(name, args) for name, args in SERVER_REQUESTS]
    return tools, results


def _exchange(params: StdioServerParameters):
    peer = Peer()
    tools, results = _drive(params, _server_requests, **peer.callbacks())
    return peer, tools, results


def test_sampling_elicitation_and_roots_requests_reach_the_client_through_the_proxy(cli, env, everything):
    d_peer, d_tools, d_results = _exchange(_direct(everything, env))
    p_peer, p_tools, p_results = _exchange(_proxied(cli, "everything"))

    # The server offers these tools only to a client that declared the
    # capabilities: the proxy relayed the client's initialize unchanged.
    offered = {t.name for t in p_tools}
    assert {"trigger-sampling-request", "trigger-elicitation-request", "get-roots-list"} <= offered
    assert _as_sent(p_tools) == _as_sent(d_tools)

    for peer, results in ((d_peer, d_results), (p_peer, p_results)):
        kinds = [kind for kind, _ in peer.asked]
        assert kinds.count("sampling") == 1 and kinds.count("elicitation") == 1
        # The server asks for roots once on its own after start-up, and
        # again from the tool if that ask has not finished yet.
        assert kinds.count("roots") >= 1
        sampling = dict(peer.asked)["sampling"]
        assert sampling["max_tokens"] == 7
        assert "Who guards the gate?" in sampling["messages"][0]["content"]["text"]
        sampled, elicited, roots = (" ".join(c.text for c in r.content) for r in results)
        assert not any(r.is_error for r in results)
        assert "Gatehouse relayed this sample" in sampled and "gatehouse-test-model" in sampled
        assert "- Name: Ada Lovelace" in elicited and "- Favorite Integer: 7" in elicited
        assert "file:///srv/gatehouse-project" in roots
        assert "Roots updated: 1 root(s) received from client" in peer.logs
        # Registering the capability-dependent tools told the client.
        assert "notifications/tools/list_changed" in peer.notifications

    # What the server asked and what it made of the answers are the same
    # with and without the proxy.
    def asked(peer: Peer) -> list[tuple[str, str]]:
        return sorted((kind, json.dumps(params)) for kind, params in peer.asked if kind != "roots")

    assert asked(p_peer) == asked(d_peer)
    assert [_dump(r) for r in p_results] == [_dump(r) for r in d_results]
    assert p_peer.notifications == d_peer.notifications

    records = cli.json("audit", "list", "--server", "everything")
    calls = list(reversed([r for r in records if r["method"] == "tools/call"]))
    assert [(r["tool"], r["decision"], bool(r["is_error"])) for r in calls] == [
        (name, "allowed", False) for name, _ in SERVER_REQUESTS
    ]


# ---------------------------------------------------------------------------
# The MCP Inspector CLI as the client


def _inspector(env: dict[str, str], target: list[str], *method: str) -> str:
    """Runs `mcp-inspector --cli TARGET... METHOD...`; returns its stdout."""
    proc = subprocess.run(
        ["node", _node_bin("mcp-inspector"), "--cli", *target, *method],
        env=env,
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=INSPECTOR_TIMEOUT,
    )
    assert proc.returncode == 0, f"inspector {target} {method} exited {proc.returncode}: {proc.stderr}"
    return proc.stdout


# Dates move; convert_time's answer is for today.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEKDAY = re.compile(r"\b(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b")


def _inspector_masked(output: str) -> str:
    return _WEEKDAY.sub("<day>", _DATE.sub("<date>", output))


def _tool_call(name: str, *pairs: str) -> tuple[str, ...]:
    return ("--method", "tools/call", "--tool-name", name, *(("--tool-arg", *pairs) if pairs else ()))


INSPECTOR_CASES = {
    "everything": (
        [],
        [
            _tool_call("echo", "message=hi"),
            _tool_call("get-sum", "a=2", "b=3"),
            _tool_call("get-sum", "a=two", "b=3"),
            _tool_call("get-structured-content", "location=New York"),
        ],
    ),
    "time": (
        ["--local-timezone", "UTC"],
        [
            _tool_call("convert_time", "source_timezone=UTC", "time=10:00", "target_timezone=Asia/Tokyo"),
            _tool_call("convert_time", "source_timezone=Nowhere/Void", "time=10:00", "target_timezone=UTC"),
        ],
    ),
}


@pytest.mark.parametrize("name", list(INSPECTOR_CASES))
def test_the_inspector_cli_sees_the_same_through_the_proxy(cli, env, name):
    command = _node_bin("mcp-server-everything") if name == "everything" else TIME_SERVER
    args, calls = INSPECTOR_CASES[name]
    cli.run("server", "add", name, "--", command, *args)
    methods = [("--method", "tools/list"), *calls]

    direct = [_inspector(env, [command, *args], *m) for m in methods]
    proxied = [_inspector(env, [str(cli.path), "run", name], *m) for m in methods]

    tools = json.loads(direct[0])["tools"]
    assert len(tools) >= 2
    results = [json.loads(out) for out in direct[1:]]
    assert [bool(r.get("isError")) for r in results] == (
        [False, False, True, False] if name == "everything" else [False, True]
    )
    # Byte for byte, the same output: same fields, same order, same values.
    assert [_inspector_masked(out) for out in proxied] == [_inspector_masked(out) for out in direct]

    records = cli.json("audit", "list", "--server", name)
    calls_seen = [r for r in records if r["method"] == "tools/call"]
    assert len(calls_seen) == len(calls)
    assert {r["client"] for r in records} == {"inspector-cli"}
    assert all(r["decision"] == "allowed" for r in calls_seen)


# ---------------------------------------------------------------------------
# Denial


async def _list_and_call(session: ClientSession):
    tools = (await session.list_tools()).tools
    denied = await session.call_tool("get-sum", {"a": 1, "b": 2})
    allowed = await session.call_tool("echo", {"message": "still here"})
    return tools, denied, allowed


def test_a_denied_everything_tool_is_hidden_and_refused(cli, env, everything):
    cli.run("policy", "set", "everything", "get-sum", "deny")
    d_tools, _, _ = _drive(_direct(everything, env), _list_and_call)
    tools, denied, allowed = _drive(_proxied(cli, "everything"), _list_and_call)

    assert "get-sum" in [t.name for t in d_tools]
    assert [t.model_dump(mode="json") for t in tools] == [
        t.model_dump(mode="json") for t in d_tools if t.name != "get-sum"
    ]
    assert denied.is_error
    text = denied.content[0].text
    assert "refused" in text and "get-sum" in text
    assert "gatehouse policy set everything get-sum allow" in text
    assert not allowed.is_error and allowed.content[0].text == "Echo: still here"

    # The Inspector CLI gets the same refusal.
    proxied = [str(cli.path), "run", "everything"]
    listed = json.loads(_inspector(env, proxied, "--method", "tools/list"))["tools"]
    assert "get-sum" not in [t["name"] for t in listed] and "echo" in [t["name"] for t in listed]
    refused = json.loads(_inspector(env, proxied, *_tool_call("get-sum", "a=1", "b=2")))
    assert refused["isError"] is True
    assert "gatehouse policy set everything get-sum allow" in refused["content"][0]["text"]

    denials = cli.json("audit", "list", "--decision", "denied")
    assert [(r["tool"], r["decision"]) for r in denials] == [("get-sum", "denied")] * 2
    assert sorted(r["client"] for r in denials) == sorted(["inspector-cli", "mcp"])
    calls = [r for r in cli.json("audit", "list", "--server", "everything") if r["method"] == "tools/call"]
    assert {(r["tool"], r["decision"]) for r in calls} == {("get-sum", "denied"), ("echo", "allowed")}


async def _list(session: ClientSession):
    return (await session.list_tools()).tools


def test_hiding_a_tool_leaves_the_other_definitions_as_the_server_sent_them(cli, env, everything):
    cli.run("policy", "set", "everything", "get-sum", "deny")
    direct = _drive(_direct(everything, env), _list)
    proxied = _drive(_proxied(cli, "everything"), _list)
    kept = [t for t in direct if t.name != "get-sum"]
    # The same definitions as data: only their key order can differ.
    assert [t.model_dump(mode="json") for t in proxied] == [t.model_dump(mode="json") for t in kept]
    assert _as_sent(proxied) == _as_sent(kept)
