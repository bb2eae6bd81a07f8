"""Tool pinning in the real window: a server that pulls the rug between its
starts (`servers/shifty.py`) has its changed tool quarantined by
`gatehouse run`; approving it on the server's page brings it back into the
running client's `tools/list`, and rejecting keeps the new tool hidden."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

SHIFTY = str(Path(__file__).parent / "servers" / "shifty.py")
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "pin-e2e", "version": "1"}},
}


class Client:
    """`gatehouse run NAME` with pipes, as an MCP client uses it."""

    def __init__(self, cli, name: str):
        self.proc = subprocess.Popen(
            [str(cli.path), "run", name], env=cli.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen: list[dict] = []

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def next(self, timeout: float = 30) -> dict:
        line = self.lines.get(timeout=timeout)
        assert line is not None, "the proxy closed its output"
        message = json.loads(line)
        self.seen.append(message)
        return message

    def request(self, id_: int, method: str, **params) -> dict:
        self.send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
        while True:
            message = self.next()
            if message.get("id") == id_ and "method" not in message:
                return message

    def initialize(self) -> dict:
        result = self.request(0, INITIALIZE["method"], **INITIALIZE["params"])["result"]
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def tools(self, id_: int) -> list[str]:
        return [t["name"] for t in self.request(id_, "tools/list")["result"]["tools"]]

    def close(self) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout=60)


def _pin(cli, tool: str):
    return next(t["pin"] for t in cli.json("tools", "shifty")["tools"] if t["name"] == tool)


def _button(app, scope: str, text: str) -> str:
    buttons = app.s.find_all(f"{scope} button")
    index = app.s.execute(
        "return [...document.querySelectorAll(arguments[0] + ' button')]"
        ".findIndex(b => b.textContent.trim() === arguments[1])",
        scope,
        text,
    )
    assert index >= 0, f"no {text!r} button in {scope}"
    return buttons[index]


def test_approving_a_quarantined_tool_on_its_page_shows_it_to_the_running_client(cli, app, tmp_path):
    cli.run("server", "add", "shifty", "--", sys.executable, SHIFTY, str(tmp_path / "shifty-state"))
    # Its changed description would make the policy ask (a popup, with the
    # app running); the switch lets the call through once it is approved.
    cli.run("policy", "set", "shifty", "convert", "allow", "--confirm")
    first = Client(cli, "shifty")
    first.initialize()
    assert first.tools(1) == ["echo", "convert"]
    assert first.close() == 0

    # The server's second start changed convert and added fetch_notes.
    client = Client(cli, "shifty")
    client.initialize()
    assert client.tools(1) == ["echo"]
    refused = client.request(2, "tools/call", name="convert", arguments={})
    assert refused["error"]["code"] == -32602 and "awaits review" in refused["error"]["message"]

    app.open_page("servers")
    app.s.click(app.s.wait_for(lambda: app.s.find_all('a[href="#/servers/shifty"]'), what="the link")[0])
    review = '[aria-label="Review convert"]'
    app.s.wait_for(lambda: app.s.find_all(review), what="the quarantined tool on its page")
    text = app.s.text(app.s.find(review))
    assert "Changed: hidden" in text and "notes@example.net" in text, text
    assert app.s.find_all(f"{review} ins"), "the diff marks what was added"
    app.screenshot("pin-review")

    app.s.click(_button(app, review, "Approve"))
    app.s.wait_for(lambda: _pin(cli, "convert") == "pinned", what="the approval in the store")
    # The running proxy tells its client, whose next list has the tool.
    while not any(m.get("method") == "notifications/tools/list_changed" for m in client.seen):
        client.next(timeout=30)
    assert client.tools(3) == ["echo", "convert"]
    assert "result" in client.request(4, "tools/call", name="convert", arguments={})

    # Rejecting keeps the new tool hidden.
    fresh = '[aria-label="Review fetch_notes"]'
    app.s.click(_button(app, fresh, "Reject"))
    app.s.wait_for(lambda: _pin(cli, "fetch_notes") == "rejected", what="the rejection in the store")
    app.s.wait_for(lambda: "Rejected: hidden" in app.s.text(app.s.find(fresh)), what="the page to read it back")
    assert client.tools(5) == ["echo", "convert"]
    assert client.request(6, "tools/call", name="fetch_notes", arguments={})["error"]["code"] == -32602
    assert client.close() == 0
