"""A server's detail page in the real window: its tools as a real MCP
session through `gatehouse run` recorded them, switches and argument rules
set by clicking, and the CLI reading back what the page saved."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

OFFICE = str(Path(__file__).parent / "servers" / "office.py")
TOOLS = ["delete_file", "fetch_url", "lookup", "read_file", "send_message"]


def _record_tools(cli, env) -> list[str]:
    """One client session through `gatehouse run office`: the proxy records
    the tools the server lists."""

    async def session() -> list[str]:
        params = StdioServerParameters(command=str(cli.path), args=["run", "office"], env=env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return sorted(t.name for t in (await s.list_tools()).tools)

    return asyncio.run(session())


def _tools(cli) -> dict[str, dict]:
    return {t["name"]: t for t in cli.json("tools", "office")["tools"]}


def _radio(tool: str, value: str) -> str:
    return f'[role=radiogroup][aria-label="{tool} switch"] [data-value="{value}"]'


def _checked(app, css: str) -> bool:
    return app.s.execute(
        "return document.querySelector(arguments[0])?.getAttribute('aria-checked') === 'true'", css
    )


def _button(app, scope: str, text: str) -> str:
    """The button inside `scope` (CSS) whose text is `text`."""
    buttons = app.s.find_all(f"{scope} button")
    index = app.s.execute(
        "return [...document.querySelectorAll(arguments[0] + ' button')]"
        ".findIndex(b => b.textContent.trim() === arguments[1])",
        scope,
        text,
    )
    assert index >= 0, f"no {text!r} button in {scope}"
    return buttons[index]


def _type(app, label: str, text: str) -> None:
    """Types into the field named `label`, as a person would: value, then input."""
    app.s.execute(
        """const field = document.querySelector(`[aria-label="${arguments[0]}"]`);
        field.value = arguments[1];
        field.dispatchEvent(new Event('input', { bubbles: true }));""",
        label,
        text,
    )


def _open_office(cli, env, app) -> None:
    cli.run("server", "add", "office", "--", sys.executable, OFFICE)
    assert _record_tools(cli, env) == TOOLS
    app.open_page("servers")
    app.s.click(app.s.wait_for(lambda: app.s.find_all('a[href="#/servers/office"]'), what="the link")[0])
    app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('main h1')?.textContent") == "office",
        what="the detail page",
    )
    app.s.wait_for(
        lambda: app.s.execute(
            "return [...document.querySelectorAll('table[aria-label=Tools] tbody tr[data-key]')]"
            ".map(r => r.dataset.key)"
        )
        == TOOLS,
        what="the recorded tools",
    )


def test_flipping_a_tool_to_deny_on_its_page_sets_its_switch(cli, env, app):
    _open_office(cli, env, app)
    assert _checked(app, _radio("lookup", "default"))
    app.screenshot("server-detail")

    # The risk tier's reasons open under the row.
    app.s.click(app.s.find('[aria-label="Why delete_file is critical risk"]'))
    reasons = app.s.wait_for(lambda: app.s.find_all("#reasons-delete_file"), what="the reasons")[0]
    assert "delete" in app.s.text(reasons)
    app.screenshot("risk-reasons")

    app.s.click(app.s.find(_radio("lookup", "deny")))
    app.s.wait_for(lambda: _tools(cli)["lookup"]["switch"] == "deny", what="the switch in the store")
    assert _tools(cli)["lookup"]["decision"] == "deny"
    app.s.wait_for(lambda: _checked(app, _radio("lookup", "deny")), what="the page to read it back")
    row = app.s.text(app.s.find('tr[data-key="lookup"]'))
    assert "by your switch" in row, row

    # A change from another process shows up on the open page.
    cli.run("policy", "set", "office", "lookup", "ask")
    app.s.wait_for(lambda: _checked(app, _radio("lookup", "ask")), what="the pushed change")


def test_always_allowing_a_critical_tool_asks_for_a_confirmation_first(cli, env, app):
    _open_office(cli, env, app)
    app.s.click(app.s.find(_radio("delete_file", "allow")))
    dialog = 'dialog[open][aria-label="Always allow delete_file?"]'
    app.s.wait_for(lambda: app.s.find_all(dialog), what="the confirmation")
    assert "critical" in app.s.text(app.s.find(dialog))
    assert _tools(cli)["delete_file"]["switch"] is None, "nothing is saved before the confirmation"
    app.screenshot("confirm-critical")

    app.s.click(_button(app, f"{dialog} footer", "Always allow"))
    app.s.wait_for(lambda: _tools(cli)["delete_file"]["switch"] == "allow", what="the confirmed switch")
    app.s.wait_for(lambda: _checked(app, _radio("delete_file", "allow")), what="the page to read it back")


def test_argument_rules_are_previewed_live_and_saved(cli, env, app):
    _open_office(cli, env, app)
    app.s.click(app.s.find('[aria-label="Argument rules for read_file"]'))
    dialog = 'dialog[open][aria-label="Argument rules for read_file"]'
    app.s.wait_for(lambda: app.s.find_all(dialog), what="the rule editor")
    app.s.click(_button(app, dialog, "Add rule"))
    _type(app, "Rule 1 argument", "path")
    _type(app, "Rule 1 glob", "/reports/**")

    verdict = '[aria-label="Preview verdict"]'

    def verdict_text() -> str:
        return app.s.execute("return document.querySelector(arguments[0]).textContent", verdict).strip()

    _type(app, "Preview arguments", json.dumps({"path": "/reports/../etc/passwd"}))
    app.s.wait_for(lambda: verdict_text().startswith("deny"), what="the engine's verdict on a traversal")
    assert "/etc/passwd" in verdict_text(), "the verdict names the path as resolved"
    app.screenshot("rule-editor")
    _type(app, "Preview arguments", json.dumps({"path": "/reports/q4.txt"}))
    app.s.wait_for(lambda: verdict_text().startswith("allow"), what="the verdict on an allowed path")
    assert _tools(cli)["read_file"]["rules"]["args"]["rules"] == [], "the preview saves nothing"

    app.s.click(_button(app, f"{dialog} footer", "Save rules"))
    app.s.wait_for(
        lambda: _tools(cli)["read_file"]["rules"]["args"]["rules"]
        == [{"argument": "path", "kind": "path_allow", "glob": "/reports/**"}],
        what="the saved rules",
    )
    app.s.wait_for(lambda: not app.s.find_all(dialog), what="the editor to close")
