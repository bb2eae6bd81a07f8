"""The History page end to end: calls made through `gatehouse run` (the
official Python SDK client and the office server) appear in the real app's
History page, under Xvfb and driven by WebDriver; chips and the search box
narrow the rows; a row opens its record in the drawer; the export writes
JSON Lines matching the records. The save dialog's answer comes from
GATEHOUSE_TEST_SAVE_PATH (a native dialog cannot be driven by WebDriver).
Screenshots of the History page with its chart and of the Overview go with
the other screenshots."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

OFFICE = str(Path(__file__).parent / "servers" / "office.py")


@pytest.fixture(autouse=True)
def save_path(env, tmp_path: Path) -> Path:
    """Where the app's export "dialog" saves; set before the app starts."""
    path = tmp_path / "exported" / "audit.jsonl"
    path.parent.mkdir()
    env["GATEHOUSE_TEST_SAVE_PATH"] = str(path)
    return path


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


# Reading the page: the rendered rows of the virtual table, newest first.
ROWS = """return [...document.querySelectorAll('[role=table] .record')].map(r => ({
    id: Number(r.dataset.id), text: r.innerText.replace(/\\s+/g, ' ')}))"""


def _rows(app) -> list[dict]:
    return app.s.execute(ROWS)


def _click_js(app, selector: str, text: str) -> None:
    """Clicks the first element matching `selector` whose text starts with `text`."""
    found = app.s.execute(
        """const el = [...document.querySelectorAll(arguments[0])]
             .find(e => e.textContent.trim().startsWith(arguments[1]));
           if (el) el.click();
           return !!el;""",
        selector,
        text,
    )
    assert found, f"no {selector} saying {text!r}"


def _search(app, text: str) -> None:
    app.s.execute(
        """const box = document.querySelector('input[type=search]');
           box.value = arguments[0];
           box.dispatchEvent(new Event('input', {bubbles: true}));""",
        text,
    )


def test_history_page_shows_filters_opens_and_exports_calls(cli, env, app, save_path):
    cli.run("server", "add", "office", "--", sys.executable, OFFICE)
    cli.run("policy", "set", "office", "lookup", "allow")
    cli.run("policy", "set", "office", "fetch_url", "allow")
    cli.run("policy", "set", "office", "send_message", "deny")
    results = _run(
        cli,
        env,
        [
            ("lookup", {"word": "gate"}),
            ("fetch_url", {"url": "https://example.com/a"}),
            ("send_message", {"to": "eve", "text": "the salary list"}),
            ("lookup", {"word": "tower"}),
        ],
    )
    assert [err for err, _ in results] == [False, False, True, False]

    # Every record (each session's initialize and tools/list too), newest first.
    listed = cli.json("audit", "list")
    app.open_page("history")
    app.s.wait_for(lambda: len(_rows(app)) == len(listed), what="every record in the table")
    rows = _rows(app)
    assert [r["id"] for r in rows] == [r["id"] for r in listed]
    assert "tower" in rows[0]["text"] and "lookup" in rows[0]["text"], rows
    assert "denied" in rows[1]["text"] and "send_message" in rows[1]["text"], rows
    assert app.s.execute("return document.querySelectorAll('figure.timeline g.bar').length") == 24
    assert app.s.execute("return document.querySelectorAll('figure.timeline rect.seg.denied').length") == 1

    # Live: a call made now appears at the top within a second of its answer.
    [(err, _)] = _run(cli, env, [("lookup", {"word": "zephyrus"})])
    assert not err
    returned = time.monotonic()
    while "zephyrus" not in (_rows(app) or [{"text": ""}])[0]["text"]:
        assert time.monotonic() - returned < 1.0, f"not shown within a second: {_rows(app)[:2]}"
        time.sleep(0.05)
    everything = len(cli.json("audit", "list"))
    app.s.wait_for(lambda: len(_rows(app)) == everything, what="the new session's records too")

    # A chip narrows the rows: only the denied call.
    _click_js(app, ".chip-menu .trigger", "Decision")
    _click_js(app, "[role=menu] [role=menuitem]", "Denied")
    app.s.wait_for(lambda: len(_rows(app)) == 1, what="only the denied call")
    assert "send_message" in _rows(app)[0]["text"]
    assert app.s.execute("return document.querySelector('.chip')?.innerText").startswith("Decision: Denied")
    # Removing it brings every record back.
    _click_js(app, ".chip button", "×")
    app.s.wait_for(lambda: len(_rows(app)) == everything, what="every record again")

    # A click on the timeline's bar filters to its hour; a second clears it.
    label = app.s.execute("return document.querySelector('figure.timeline g.bar:last-of-type').getAttribute('aria-label')")
    in_hour = int(label.split(": ", 1)[1].split(" calls", 1)[0])
    app.s.execute("document.querySelector('figure.timeline g.bar:last-of-type').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    app.s.wait_for(
        lambda: (app.s.execute("return document.querySelector('.chip')?.innerText") or "").startswith("Hour:"),
        what="the hour's chip",
    )
    app.s.wait_for(lambda: len(_rows(app)) == in_hour, what=f"the hour's {in_hour} records")
    app.s.execute("document.querySelector('figure.timeline g.bar:last-of-type').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    app.s.wait_for(lambda: not app.s.execute("return document.querySelector('.chip')"), what="no chip")

    # The search box finds a call by a word of its arguments.
    _search(app, "example")
    app.s.wait_for(lambda: len(_rows(app)) == 1, what="the fetch_url call")
    assert "fetch_url" in _rows(app)[0]["text"]
    _search(app, "")
    app.s.wait_for(lambda: len(_rows(app)) == everything, what="every record again")

    # A row opens the drawer: the arguments pretty-printed, the reason.
    denied = next(r for r in _rows(app) if "send_message" in r["text"])
    app.s.click(app.s.find(f'.record[data-id="{denied["id"]}"]'))
    app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('[data-testid=record-reason]')?.innerText"),
        what="the drawer with the reason",
    )
    args = app.s.execute("return document.querySelector('[data-testid=record-arguments]').textContent")
    assert json.loads(args) == {"to": "eve", "text": "the salary list"}, args
    assert args == json.dumps(json.loads(args), indent=2), "pretty-printed, two spaces"
    reason = app.s.execute("return document.querySelector('[data-testid=record-reason]').innerText")
    assert "'send_message' of server 'office' is set to deny" in reason, reason
    assert app.s.execute("return location.hash") == f"#/history?id={denied['id']}"
    app.s.click(app.s.find('[aria-label="Close the record"]'))
    app.s.wait_for(
        lambda: app.s.execute("return !document.querySelector('[data-testid=record-drawer]')"),
        what="the drawer to close",
    )

    # Screenshot of the page with its chart.
    app.screenshot("history")

    # Export: every record, as JSON Lines that match the audit log.
    _click_js(app, "button", "Export JSONL")
    status = app.s.wait_for(
        lambda: (app.s.execute("return document.querySelector('[data-testid=export-status]')?.innerText") or "")
        .strip()
        .startswith("Saved")
        and app.s.execute("return document.querySelector('[data-testid=export-status]').innerText"),
        what="the export's result",
    )
    assert str(save_path) in status and f"{everything} records" in status, status
    exported = [json.loads(line) for line in save_path.read_text().splitlines()]
    listed = cli.json("audit", "list")
    assert [e["id"] for e in exported] == [r["id"] for r in listed]
    for e, r in zip(exported, listed):
        assert (e["tool"], e["decision"], e["arguments"]) == (r["tool"], r["decision"], r["arguments"])
    assert [e["arguments"] for e in exported if e["tool"] == "fetch_url"] == [{"url": "https://example.com/a"}]
    assert not list(save_path.parent.glob(".gatehouse-export-*")), "no temporary file left behind"


def test_a_record_link_opens_the_drawer_and_the_overview_sums_the_day(cli, env, app):
    cli.run("server", "add", "office", "--", sys.executable, OFFICE)
    cli.run("policy", "set", "office", "lookup", "allow")
    cli.run("policy", "set", "office", "send_message", "deny")
    _run(cli, env, [("lookup", {"word": f"w{i}"}) for i in range(3)] + [("send_message", {"to": "a", "text": "b"})])
    newest = cli.json("audit", "list")[0]

    app.s.execute("location.hash = arguments[0]", f"#/history?id={newest['id']}")
    app.s.wait_for(
        lambda: "send_message" in (app.s.execute(
            "return document.querySelector('[data-testid=record-drawer] h2')?.innerText") or ""),
        what="the linked record in the drawer",
    )

    app.open_page("overview")
    # The day's tool calls (not the sessions' initialize and tools/list).
    app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('[data-testid=calls-24h] .value')?.innerText")
        == "4",
        what="the day's tool calls on the Overview",
    )
    assert app.s.execute("return document.querySelector('[data-testid=denied-24h] .value').innerText") == "1"
    top = app.s.execute("return [...document.querySelectorAll('[data-testid=top-tools] li')].map(l => l.innerText)")
    assert "lookup" in top[0] and "3" in top[0], top
    app.screenshot("overview")
