"""Approvals end to end: a real MCP client (the Python SDK) calls a tool the
policy asks about, through `gatehouse run`; the real app, under Xvfb and
driven by WebDriver, pops its approval window; the person's click decides.
Also: the terminal's `gatehouse approvals`, the timeout, "always", and a
proxy with no app to ask."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from conftest import _wait_for_app_exit, app_binary
from webdriver import ELEMENT

OFFICE = str(Path(__file__).parent / "servers" / "office.py")


class Call(threading.Thread):
    """One client session making `calls` through `gatehouse run office`, on
    its own thread so the test can click meanwhile."""

    def __init__(self, cli, env, calls):
        super().__init__(daemon=True)
        self.cli, self.env, self.calls = cli, env, calls
        self.results: list[tuple[bool, str]] | None = None
        self.error: BaseException | None = None

    async def _session(self):
        params = StdioServerParameters(command=str(self.cli.path), args=["run", "office"], env=self.env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await session.list_tools()
                out = []
                for name, args in self.calls:
                    result = await session.call_tool(name, args)
                    out.append((bool(result.is_error), result.content[0].text))
                return out

    def run(self):
        try:
            self.results = asyncio.run(self._session())
        except BaseException as e:  # reported by the test
            self.error = e

    def run_now(self) -> list[tuple[bool, str]]:
        self.start()
        return self.outcome()

    def outcome(self, timeout: float = 90) -> list[tuple[bool, str]]:
        self.join(timeout)
        assert not self.is_alive(), "the call never came back"
        if self.error:
            raise self.error
        assert self.results is not None
        return self.results


def _office(cli):
    cli.run("server", "add", "office", "--", sys.executable, OFFICE)


def _popup(app) -> str:
    """Switches WebDriver to the approval window; returns its handle."""

    def find():
        for handle in app.s.handles():
            app.s.switch_to(handle)
            if app.s.execute("return location.hash").startswith("#/approvals"):
                return handle
        return None

    return app.s.wait_for(find, timeout=20, what="the approval window")


def _waiting_tool(app) -> str:
    return app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('main.popup h1 .tool')?.textContent"),
        timeout=30,
        what="a waiting call in the popup",
    )


def _click(app, label: str) -> None:
    """Clicks the popup's button `label`. A real WebDriver click, except on
    the answer that empties the queue: the popup hides as it is answered,
    and WebKitWebDriver may then never reply to the click, so that one is
    dispatched from the page."""
    buttons = app.s.find_all("main.popup button")
    for b in buttons:
        if app.s.text(b).strip() == label:
            last = len(app.s.find_all("nav[aria-label='Waiting calls'] button")) <= 1
            if last and label in ("Allow once", "Deny", "Allow for this session", "Always allow"):
                app.s.execute("arguments[0].click()", {ELEMENT: b})
            else:
                app.s.click(b)
            return
    raise AssertionError(f"no {label!r} button in the popup")


def test_allow_once_forwards_the_call_and_deny_refuses_it(cli, env, app):
    _office(cli)
    call = Call(cli, env, [("delete_file", {"path": "/tmp/a.txt"}), ("delete_file", {"path": "/tmp/b.txt"})])
    call.start()
    _popup(app)
    assert _waiting_tool(app) == "delete_file"
    popup_text = app.s.execute("return document.querySelector('main.popup').textContent")
    assert "office" in popup_text and "/tmp/a.txt" in popup_text and "critical" in popup_text
    app.screenshot("approval-popup")
    _click(app, "Allow once")

    # The second call asks again ("once"); this time the person says no.
    app.s.wait_for(
        lambda: "/tmp/b.txt" in app.s.execute("return document.querySelector('main.popup')?.textContent || ''"),
        timeout=30,
        what="the second call",
    )
    _click(app, "Deny")
    (ok_err, ok), (denied_err, denied) = call.outcome()
    assert not ok_err and ok == "would delete /tmp/a.txt"
    assert denied_err and "denied it in the Gatehouse app" in denied, denied

    calls = [r for r in cli.json("audit", "list", "--tool", "delete_file")]
    decisions = sorted(r["decision"] for r in calls)
    assert decisions == ["asked", "denied"], calls
    asked = next(r for r in calls if r["decision"] == "asked")
    assert "allowed once in the Gatehouse app" in (asked.get("reason") or ""), asked


def test_always_allow_is_kept_and_the_next_call_does_not_ask(cli, env, app):
    _office(cli)
    call = Call(cli, env, [("send_message", {"to": "ann", "text": "hi"})])
    call.start()
    _popup(app)
    assert _waiting_tool(app) == "send_message"
    _click(app, "Always allow…")
    _click(app, "Always allow")
    [(err, text)] = call.outcome()
    assert not err and text == "sent to ann: hi"
    tools = {t["name"]: t for t in cli.json("tools", "office")["tools"]}
    assert tools["send_message"]["switch"] == "allow"

    # No popup this time: the call passes on the rule.
    [(err, text)] = Call(cli, env, [("send_message", {"to": "bob", "text": "again"})]).run_now()
    assert not err and text == "sent to bob: again"


def test_the_terminal_answers_too_and_a_timeout_denies(cli, env, app):
    _office(cli)
    call = Call(cli, env, [("fetch_url", {"url": "https://example.com/"})])
    cli.run("policy", "set", "office", "fetch_url", "ask")
    call.start()
    pending = app.s.wait_for(lambda: cli.json("approvals", "list"), timeout=30, what="the pending call")
    assert [(p["server"], p["tool"]) for p in pending] == [("office", "fetch_url")]
    assert '"url": "https://example.com/"' in pending[0]["arguments"]
    cli.run("approvals", "allow", pending[0]["id"])
    [(err, text)] = call.outcome()
    assert not err and text == "fetched https://example.com/"

    cli.run("approvals", "timeout", "2")
    slow = Call(cli, env, [("fetch_url", {"url": "https://example.org/"})])
    slow.start()
    [(err, text)] = slow.outcome()
    assert err and "timed out" in text and "within 2 s" in text, text
    # The popup's queue is empty again.
    assert cli.json("approvals", "list") == []


def test_without_the_app_the_call_is_refused_at_once_with_how_to_approve(cli, env):
    _office(cli)
    cli.run("policy", "set", "office", "lookup", "ask")
    # Were it to wait for an answer, it would wait ten minutes.
    cli.run("approvals", "timeout", "600")
    [(err, text)] = Call(cli, env, [("lookup", {"word": "gate"})]).run_now()
    assert err and "Gatehouse app is not running" in text
    assert "gatehouse policy set office lookup allow" in text
    # An app that cannot be started: refused too, naming it.
    broken = dict(env, GATEHOUSE_APP="/nonexistent/gatehouse-app")
    [(err, text)] = Call(cli, broken, [("lookup", {"word": "gate"})]).run_now()
    assert err and "/nonexistent/gatehouse-app" in text, text


def test_a_proxy_starts_the_app_in_the_background_when_it_must_ask(cli, env):
    """No app is running: the proxy starts it (tray only) and asks it."""
    if not os.environ.get("DISPLAY"):
        raise AssertionError("no X display: run the E2E tests under Xvfb (the test command does)")
    _office(cli)
    cli.run("policy", "set", "office", "lookup", "ask")
    # With its main window hidden, the app also notifies: watch the session
    # bus for the notification call (there is no notification daemon here).
    monitor = subprocess.Popen(
        ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications',member='Notify'"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    call = Call(cli, dict(env, GATEHOUSE_APP=str(app_binary())), [("lookup", {"word": "gate"})])
    call.start()
    try:

        def pending():
            listed = cli.run("approvals", "list", "--json", check=False)
            return listed.returncode == 0 and json.loads(listed.stdout)

        found = _poll(pending, timeout=60, what="the request in the app the proxy started")
        assert [p["tool"] for p in found] == ["lookup"]
        # Started in the background: tray and popup, no main window.
        procs = subprocess.run(["pgrep", "-af", "gatehouse-app"], capture_output=True, text=True).stdout
        assert "--background" in procs, procs
        cli.run("approvals", "allow", found[0]["id"])
        [(err, text)] = call.outcome()
        assert not err and text == "gate: a word"
    finally:
        subprocess.run(["pkill", "-f", str(app_binary())])
        _wait_for_app_exit(str(app_binary()))
        monitor.terminate()
    seen = monitor.communicate(timeout=10)[0]
    assert "Gatehouse: approval needed" in seen and "lookup" in seen, seen


def _poll(predicate, timeout: float, what: str):
    """Polls `predicate` (a test helper) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
