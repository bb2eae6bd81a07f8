"""`gatehouse run` when things go wrong: a server that crashes, writes
garbage or oversize messages; a client that does; a client that leaves; a
database that is locked or unreadable; a policy changed under a running
proxy; a secret that must reach the server and nothing else.

The client here is a raw line client, so the tests control every byte; the
server is tests/e2e/servers/scripted.py, which misbehaves on request."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SCRIPTED = str(Path(__file__).parent / "servers" / "scripted.py")
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "faults", "version": "1"}},
}
CANARY = "gh-canary-7f3a9c2e51d04b68"


class RawClient:
    """`gatehouse run NAME` with pipes: send lines, read replies by id."""

    def __init__(self, cli, name: str, *args: str):
        self.proc = subprocess.Popen(
            [str(cli.path), "run", name, *args],
            env=cli.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.unmatched: list[dict] = []

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def call(self, id_: int, tool: str, **arguments) -> None:
        self.send({"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})

    def next(self, timeout: float = 30) -> dict:
        line = self.lines.get(timeout=timeout)
        assert line is not None, "the proxy closed its output"
        return json.loads(line)

    def reply(self, id_, timeout: float = 30) -> dict:
        """The reply to `id_`; other messages are kept in `unmatched`."""
        for i, message in enumerate(self.unmatched):
            if message.get("id") == id_ and "method" not in message:
                return self.unmatched.pop(i)
        while True:
            message = self.next(timeout)
            if message.get("id") == id_ and "method" not in message:
                return message
            self.unmatched.append(message)

    def initialize(self) -> dict:
        self.send(INITIALIZE)
        result = self.reply(0)["result"]
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def close(self) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout=60)

    def stderr(self) -> str:
        return self.proc.stderr.read().decode(errors="replace")


@pytest.fixture
def scripted(cli, tmp_path):
    """Registers the scripted server as `s`; returns its state directory."""
    state = tmp_path / "state"
    state.mkdir()
    cli.run("server", "add", "s", "--", sys.executable, SCRIPTED, "--state", str(state))
    return state


def _records(cli, **filters) -> list[dict]:
    args = [f"--{k}={v}" for k, v in filters.items()]
    return list(reversed(cli.json("audit", "list", *args)))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_a_server_crash_mid_call_fails_every_pending_request(cli, scripted):
    client = RawClient(cli, "s")
    client.initialize()
    client.call(1, "slow", seconds=0.5)
    client.call(2, "crash")
    client.call(3, "echo", text="after the crash")
    first, second = client.reply(1), client.reply(2)
    assert first["result"]["content"][0]["text"] == "slow done"
    assert "is not running" in second["error"]["message"]
    # Whether 3 reached the dying server or arrived after, it gets an error.
    third = client.reply(3)
    assert "is not running" in third["error"]["message"]
    assert "s.log" in third["error"]["message"], "the error points to the server's log"
    client.call(4, "echo", text="later")
    assert "is not running" in client.reply(4)["error"]["message"]
    assert client.close() == 0

    calls = [r for r in _records(cli, server="s") if r["method"] == "tools/call"]
    assert [(r["tool"], r["decision"]) for r in calls] == [
        ("slow", "allowed"),
        ("crash", "error"),
        ("echo", "error"),
        ("echo", "error"),
    ]


def test_every_answer_the_client_got_is_in_the_audit_even_if_the_proxy_is_killed(cli, scripted):
    client = RawClient(cli, "s")
    client.initialize()
    for i in range(1, 201):
        client.call(i, "echo", text=f"call {i}", api_key="sk-do-not-store")
    answered = {client.next()["id"] for _ in range(120)}
    client.proc.kill()  # SIGKILL: no chance to flush anything
    client.proc.wait(timeout=30)

    recorded = [r for r in _records(cli, server="s", limit=1000) if r["method"] == "tools/call"]
    texts = {r["arguments"]["text"] for r in recorded}
    assert {f"call {i}" for i in answered} <= texts
    assert all(r["arguments"]["api_key"] == "[REDACTED]" for r in recorded)


@pytest.mark.parametrize("tool", ["garbage", "bad_utf8"])
def test_an_unusable_message_from_the_server_fails_its_request_and_the_session_goes_on(cli, scripted, tool):
    client = RawClient(cli, "s")
    client.initialize()
    client.call(1, tool)
    error = client.reply(1)["error"]
    assert "not valid JSON" in error["message"]
    client.call(2, "echo", text="still here")
    assert client.reply(2)["result"]["content"][0]["text"] == "still here"
    client.close()
    [record] = [r for r in _records(cli, server="s") if r["tool"] == tool]
    assert record["decision"] == "error" and "not valid JSON" in record["rpc_error"]["message"]


def test_an_oversize_message_from_the_server_is_refused_with_the_limit(cli, scripted):
    client = RawClient(cli, "s", "--max-message-bytes", "100000")
    client.initialize()
    client.call(1, "huge", bytes=500_000)
    error = client.reply(1)["error"]
    assert "over Gatehouse's limit of 100000 bytes" in error["message"]
    assert "--max-message-bytes" in error["message"]
    client.call(2, "huge", bytes=1000)
    assert len(client.reply(2)["result"]["content"][0]["text"]) == 1000
    client.close()


def test_malformed_invalid_utf8_and_oversize_messages_from_the_client_get_errors(cli, scripted):
    client = RawClient(cli, "s", "--max-message-bytes", "100000")
    client.initialize()

    client.send_raw(b"{this is not json\n")
    malformed = client.next()
    assert malformed["id"] is None and malformed["error"]["code"] == -32700

    client.send_raw(b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"\xff"}}}\n')
    bad_utf8 = client.reply(7)
    assert bad_utf8["error"]["code"] == -32700

    client.call(9, "echo", text="y" * 200_000)
    oversize = client.reply(9)
    assert oversize["error"]["code"] == -32600
    assert "limit is 100000 bytes" in oversize["error"]["message"]

    client.call(10, "echo", text="fine")
    assert client.reply(10)["result"]["content"][0]["text"] == "fine"
    client.close()

    records = _records(cli, server="s")
    # Neither the broken nor the oversize call reached the server.
    assert [r["tool"] for r in records if r["method"] == "tools/call"] == ["echo"]
    assert sum(r["decision"] == "error" for r in records) == 3


def test_when_the_client_leaves_the_server_gets_to_exit_cleanly(cli, scripted):
    client = RawClient(cli, "s")
    client.initialize()
    assert client.close() == 0
    assert (scripted / "clean-exit").read_text() == "stdin closed"
    assert not _pid_alive(int((scripted / "pid").read_text()))


def test_a_server_that_ignores_its_closed_input_and_sigterm_is_killed(cli, tmp_path):
    state = tmp_path / "stubborn"
    state.mkdir()
    cli.run("server", "add", "stubborn", "--", sys.executable, SCRIPTED, "--state", str(state), "--stubborn")
    client = RawClient(cli, "stubborn")
    client.initialize()
    assert client.close() == 0
    # It saw its input close, refused to leave, and was killed anyway.
    assert (state / "clean-exit").exists()
    assert not _pid_alive(int((state / "pid").read_text()))


def test_a_locked_database_fails_calls_closed_and_names_the_problem(cli, scripted, env):
    client = RawClient(cli, "s")
    client.initialize()
    db = sqlite3.connect(Path(env["GATEHOUSE_HOME"]) / "gatehouse.db", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        # Calls are recorded in the proxy's spool and answered until its
        # writer finds the database locked (after the busy timeout); from
        # then on they are refused, and the refusal says why.
        refused = _first(client, 1, lambda reply: reply["result"].get("isError"), text="while locked")
        text = refused["result"]["content"][0]["text"]
        assert "could not write its audit log" in text and "locked" in text
    finally:
        db.execute("ROLLBACK")
        db.close()
    # Once the database takes records again, so does the proxy.
    _first(client, 100, lambda reply: not reply["result"].get("isError"), text="unlocked")
    client.close()

    allowed = {
        r["arguments"]["text"]
        for r in _records(cli, server="s", limit=1000)
        if r["method"] == "tools/call" and r["decision"] == "allowed"
    }
    assert "while locked 1" in allowed, "what was answered during the lock is in the audit"
    assert any(text.startswith("unlocked") for text in allowed)


def _first(client: RawClient, start: int, wanted, text: str, attempts: int = 60) -> dict:
    """Calls echo until a reply satisfies `wanted`; returns that reply."""
    for i in range(start, start + attempts):
        client.call(i, "echo", text=f"{text} {i}")
        reply = client.reply(i, timeout=60)
        if wanted(reply):
            return reply
        time.sleep(0.5)
    raise AssertionError(f"no reply as wanted after {attempts} calls")


def test_an_unreadable_database_refuses_every_call_and_starts_nothing(cli, scripted, env):
    db = Path(env["GATEHOUSE_HOME"]) / "gatehouse.db"
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    client = RawClient(cli, "s")
    client.send(INITIALIZE)
    error = client.reply(0)["error"]
    assert "cannot use its database" in error["message"] and str(db) in error["message"]
    client.call(1, "echo", text="x")
    assert "cannot use its database" in client.reply(1)["error"]["message"]
    assert client.close() == 0
    assert not (scripted / "pid").exists(), "the server must not start without policy and audit"


def test_a_policy_change_reaches_a_running_proxy_and_the_client_is_told(cli, scripted):
    client = RawClient(cli, "s")
    client.initialize()
    client.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert "echo" in [t["name"] for t in client.reply(1)["result"]["tools"]]

    cli.run("policy", "set", "s", "echo", "deny")
    notification = client.next(timeout=10)
    assert notification == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}

    client.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert "echo" not in [t["name"] for t in client.reply(2)["result"]["tools"]]
    client.call(3, "echo", text="x")
    result = client.reply(3)["result"]
    assert result["isError"] is True and "set to deny" in result["content"][0]["text"]

    cli.run("policy", "set", "s", "echo", "allow")
    assert client.next(timeout=10)["method"] == "notifications/tools/list_changed"
    client.call(4, "echo", text="back")
    assert client.reply(4)["result"]["content"][0]["text"] == "back"
    client.close()


def test_a_tool_list_that_cannot_be_checked_is_not_passed_on(cli, tmp_path):
    cli.run("server", "add", "odd", "--", sys.executable, SCRIPTED, "--odd-list")
    client = RawClient(cli, "odd")
    client.initialize()
    # Nothing hidden: the list passes untouched, unread.
    client.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    names = [t["name"] for t in client.reply(1)["result"]["tools"]]
    assert "odd\ud800" in names and "crash" in names
    cli.run("policy", "set", "odd", "crash", "deny")
    assert client.next(timeout=10)["method"] == "notifications/tools/list_changed"
    # Something must be hidden and the list cannot be read: an error, not
    # a list that might still show the hidden tool.
    client.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    error = client.reply(2)["error"]
    assert "could not read the server's tool list" in error["message"]
    client.close()


def test_the_stateless_2026_style_is_understood_without_initialize(cli, scripted):
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "stateless-client", "version": "2"},
    }

    def request(id_, method, **params):
        client.send({"jsonrpc": "2.0", "id": id_, "method": method, "params": {"_meta": meta, **params}})
        return id_

    client = RawClient(cli, "s")
    discovered = client.reply(request(1, "server/discover"))["result"]
    assert discovered["supportedVersions"] == ["2026-07-28"]
    request(2, "subscriptions/listen", notifications={"toolsListChanged": True})
    assert "echo" in [t["name"] for t in client.reply(request(3, "tools/list"))["result"]["tools"]]

    cli.run("policy", "set", "s", "echo", "deny")
    notification = client.next(timeout=10)
    assert notification["method"] == "notifications/tools/list_changed"
    assert notification["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 2
    assert "echo" not in [t["name"] for t in client.reply(request(4, "tools/list"))["result"]["tools"]]
    # Only the subscription is told: a stateless client gets no plain notification.
    assert client.unmatched == []
    refused = client.reply(request(5, "tools/call", name="echo", arguments={}))["result"]
    assert refused["isError"] is True
    client.close()

    records = _records(cli, server="s")
    assert {r["client"] for r in records} == {"stateless-client"}
    assert [(r["method"], r["decision"]) for r in records] == [
        ("server/discover", "allowed"),
        ("tools/list", "allowed"),
        ("tools/list", "allowed"),
        ("tools/call", "denied"),
        # The stream was still open when the session ended.
        ("subscriptions/listen", "error"),
    ]


def test_a_secret_reaches_the_server_and_nothing_else(cli, env, tmp_path):
    cli.run("server", "add", "canary", "--secret", "API_TOKEN", "--", sys.executable, SCRIPTED)
    cli.run("secret", "set", "canary", "API_TOKEN", input=CANARY)
    client = RawClient(cli, "canary")
    client.initialize()
    client.call(1, "env", name="API_TOKEN")
    seen = json.loads(client.reply(1)["result"]["content"][0]["text"])
    assert seen["sha256"] == hashlib.sha256(CANARY.encode()).hexdigest(), "the server got the value"
    # A client that sends the value back, under an innocent key.
    client.call(2, "echo", text=f"the token is {CANARY}")
    assert CANARY in client.reply(2)["result"]["content"][0]["text"]
    assert client.close() == 0
    proxy_stderr = client.stderr()

    data = Path(env["GATEHOUSE_HOME"])
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files), "the server's stderr was logged"
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), f"the secret leaked into {path}"
    assert "[REDACTED]" in (data / "logs" / "canary.log").read_text()
    audit = cli.run("audit", "list", "--json").stdout
    assert CANARY not in audit and "[REDACTED]" in audit
    assert CANARY not in proxy_stderr
