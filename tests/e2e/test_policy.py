"""The policy beyond allow/deny switches, end to end: `gatehouse run`
between the official Python SDK client and a real SDK server, with the
settings made through the CLI. Risk tiers, argument rules, the flow rule,
defaults, and rate limits shared by concurrent proxies."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

OFFICE = str(Path(__file__).parent / "servers" / "office.py")


def _add_office(cli) -> None:
    cli.run("server", "add", "office", "--", sys.executable, OFFICE)


async def _calls(cli, env, calls, *, ready: asyncio.Event | None = None, go: asyncio.Event | None = None):
    """One client session through `gatehouse run office`: lists the tools,
    then makes `calls`; returns the tool names and each result as
    (is_error, text)."""
    params = StdioServerParameters(command=str(cli.path), args=["run", "office"], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            if ready is not None and go is not None:
                ready.set()
                await go.wait()
            results = []
            for name, args in calls:
                result = await session.call_tool(name, args)
                results.append((bool(result.is_error), result.content[0].text))
            return tools, results


def _run(cli, env, calls):
    return asyncio.run(_calls(cli, env, calls))


def test_risky_tools_ask_and_the_tiers_are_shown(cli, env):
    _add_office(cli)
    tools, results = _run(cli, env, [("lookup", {"word": "gate"}), ("delete_file", {"path": "/tmp/x"})])
    assert "delete_file" in tools, "asking tools are listed, unlike denied ones"
    (lookup_err, lookup), (delete_err, delete) = results
    assert not lookup_err and lookup == "gate: a word"
    assert delete_err and "needs the person's approval" in delete and "risk tier" in delete, delete
    assert "Gatehouse app is not running" in delete, "no app, no waiting: the refusal says why"

    shown = {t["name"]: t for t in cli.json("tools", "office")["tools"]}
    assert set(shown) == {"read_file", "send_message", "fetch_url", "lookup", "delete_file"}
    assert shown["lookup"]["risk"] == "low" and shown["lookup"]["decision"] == "allow"
    assert shown["delete_file"]["risk"] == "critical" and shown["delete_file"]["decision"] == "ask"
    assert shown["delete_file"]["needs_confirmation"] is True
    assert shown["read_file"]["reads_private"] and shown["send_message"]["sends_out"]

    # Always allowing a critical tool needs a confirmation.
    refused = cli.run("policy", "set", "office", "delete_file", "allow", check=False)
    assert refused.returncode == 1 and "--confirm" in refused.stderr, refused.stderr
    cli.run("policy", "set", "office", "delete_file", "allow", "--confirm")
    _, [(err, text)] = _run(cli, env, [("delete_file", {"path": "/tmp/x"})])
    assert not err and text == "would delete /tmp/x"


def test_argument_rules_stop_traversal_tricks_and_symlink_escapes(cli, env, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "plan.txt").write_text("the plan")
    (tmp_path / "secret.txt").write_text("top secret")
    (docs / "link").symlink_to(tmp_path)
    _add_office(cli)
    cli.run("policy", "args", "office", "read_file", "--arg", "path", "--path-allow", f"{docs}/**")

    attacks = [
        f"{docs}/../secret.txt",
        f"{docs}/plan.txt; {tmp_path}/secret.txt",
        f"{docs}/plan.txt\n{tmp_path}/secret.txt",
        f"{docs}/link/secret.txt",
        f"{docs}/%2e%2e/secret.txt",
        str(tmp_path / "secret.txt"),
    ]
    _, results = _run(
        cli, env, [("read_file", {"path": str(docs / "plan.txt")})] + [("read_file", {"path": a}) for a in attacks]
    )
    assert results[0] == (False, "the plan")
    for attack, (err, text) in zip(attacks, results[1:]):
        assert err, f"{attack!r} got through: {text}"
        assert "top secret" not in text and "argument rule" in text, text
    denied = cli.json("audit", "list", "--decision", "denied")
    assert len(denied) == len(attacks)


def test_reading_private_data_then_sending_it_out_asks_first(cli, env, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("salary list")
    _add_office(cli)
    cli.run("policy", "set", "office", "send_message", "allow")
    _, results = _run(
        cli,
        env,
        [
            ("send_message", {"to": "ann", "text": "hello"}),
            ("read_file", {"path": str(notes)}),
            ("send_message", {"to": "eve", "text": "salary list"}),
            ("lookup", {"word": "still fine"}),
        ],
    )
    (first_err, _), (read_err, read), (sent_err, sent), (lookup_err, _) = results
    assert not first_err and not read_err and read == "salary list"
    assert sent_err and "read private data" in sent and "sends data out" in sent, sent
    assert not lookup_err, "the flow rule only holds back tools that send data out"

    # The rule is per session: a fresh one may send again.
    _, [(err, _)] = _run(cli, env, [("send_message", {"to": "ann", "text": "hi"})])
    assert not err


def test_a_default_of_deny_hides_everything_not_switched_on(cli, env):
    _add_office(cli)
    cli.run("policy", "default", "deny", "--server", "office")
    cli.run("policy", "set", "office", "lookup", "allow")
    tools, [(err, text)] = _run(cli, env, [("read_file", {"path": "/etc/hostname"})])
    assert tools == ["lookup"]
    assert err and "server's default" in text, text
    cli.run("policy", "default", "none", "--server", "office")
    tools, _ = _run(cli, env, [])
    assert len(tools) == 5


def test_a_rate_limit_is_shared_by_concurrent_proxies(cli, env):
    _add_office(cli)
    cli.run("policy", "limit", "office", "lookup", "--rate", "3/hour")

    async def both():
        ready = [asyncio.Event(), asyncio.Event()]
        go = asyncio.Event()
        calls = [("lookup", {"word": f"w{i}"}) for i in range(3)]
        sessions = [
            asyncio.create_task(_calls(cli, env, calls, ready=ready[i], go=go)) for i in range(2)
        ]
        # Both proxies are up before either calls.
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 60)
        go.set()
        return await asyncio.gather(*sessions)

    outcomes = [result for _, results in asyncio.run(both()) for result in results]
    passed = [text for err, text in outcomes if not err]
    refused = [text for err, text in outcomes if err]
    assert len(passed) == 3, outcomes
    assert len(refused) == 3, outcomes
    assert all("at most 3/hour" in t and "Try again in" in t for t in refused), refused
    # Two proxy processes took part (two sessions in the audit).
    sessions = {r["session"] for r in cli.json("audit", "list", "--tool", "lookup")}
    assert len(sessions) == 2
