"""Alerts end to end: three deletes in a row, made by a real MCP client (the
Python SDK) through `gatehouse run` to the office server, raise an alert
that the real app (under Xvfb, driven by WebDriver) evaluates as the records
arrive, announces with an OS notification, lists on its Alerts page with
links to the records and counts in the menu; acknowledging it there is what
the CLI then sees."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

OFFICE = str(Path(__file__).parent / "servers" / "office.py")


async def _calls(cli, env, calls):
    params = StdioServerParameters(command=str(cli.path), args=["run", "office"], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await session.list_tools()
            out = []
            for name, args in calls:
                result = await session.call_tool(name, args)
                out.append((bool(result.is_error), result.content[0].text))
            return out


def _run(cli, env, calls):
    return asyncio.run(_calls(cli, env, calls))


def _alert_texts(app) -> list[str]:
    return app.s.execute("return [...document.querySelectorAll('[data-alert]')].map(a => a.textContent)")


def test_deletes_in_a_row_alert_in_the_app_and_are_acknowledged_there(cli, env, app):
    cli.run("server", "add", "office", "--", sys.executable, OFFICE)
    # A first session lists the tools, so the policy knows delete_file.
    _run(cli, env, [])
    cli.run("policy", "set", "office", "delete_file", "allow", "--confirm")
    monitor = subprocess.Popen(
        ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications',member='Notify'"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        app.open_page("alerts")
        assert app.s.wait_for(
            lambda: "No open alerts" in app.s.execute("return document.querySelector('main').textContent"),
            what="the empty Alerts page",
        )
        results = _run(
            cli,
            env,
            [("read_file", {"path": OFFICE})]
            + [("delete_file", {"path": f"/tmp/{name}.txt"}) for name in "abc"],
        )
        assert [err for err, _ in results] == [False] * 4, results

        # The app evaluates the records as they arrive: no CLI call first.
        texts = app.s.wait_for(lambda: _alert_texts(app), timeout=15, what="the alert on the page")
        assert len(texts) == 1 and "3 destructive calls in a row" in texts[0], texts
        assert "Destructive calls in a row" in texts[0] and "server office" in texts[0], texts
        badge = app.s.execute("return document.querySelector('[data-testid=badge-alerts]')?.textContent")
        assert badge.strip() == "1"
        deletes = sorted(r["id"] for r in cli.json("audit", "list", "--tool", "delete_file"))
        links = app.s.execute("return [...document.querySelectorAll('[data-alert] a')].map(a => a.getAttribute('href'))")
        assert links == [f"#/history?id={i}" for i in deletes], links
        app.screenshot("alerts-page")

        [listed] = cli.json("alerts", "list")
        app.s.click(app.s.find(f"button[aria-label='Acknowledge alert {listed['id']}']"))
        app.s.wait_for(
            lambda: "No open alerts" in app.s.execute("return document.querySelector('main').textContent"),
            what="the alert to be acknowledged",
        )
        assert app.s.execute("return document.querySelector('[data-testid=badge-alerts]')") is None
        assert cli.json("alerts", "list") == []
        [acked] = cli.json("alerts", "list", "--all")
        assert acked["id"] == listed["id"] and acked["acked_at"]
    finally:
        monitor.terminate()
    seen = monitor.communicate(timeout=10)[0]
    assert "Gatehouse alert: Destructive calls in a row" in seen, seen
