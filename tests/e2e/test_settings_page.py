"""The Settings page, on the real window: retention and the approval
timeout saved from the GUI are what the CLI reads back, and the chain check
reports a record edited behind Gatehouse's back."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")


def _type(app, name: str, value: str) -> None:
    app.s.execute(
        """const field = document.querySelector(`input[name="${arguments[0]}"]`);
           field.value = arguments[1];
           field.dispatchEvent(new Event('input', { bubbles: true }));""",
        name,
        value,
    )


def _click(app, label: str) -> None:
    app.s.execute(
        "[...document.querySelectorAll('main button')].find(b => b.textContent.trim() === arguments[0]).click()",
        label,
    )


async def _call(params: StdioServerParameters) -> None:
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("get_current_time", {"timezone": "UTC"})


def test_settings_saved_in_the_app_are_what_the_cli_reads(cli, app):
    app.open_page("settings")
    app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('input[name=retention-days]')?.value") == "90",
        what="the saved retention",
    )
    _type(app, "retention-days", "30")
    _type(app, "max-mb", "250")
    _type(app, "approval-timeout", "120")
    _click(app, "Save")
    app.s.wait_for(lambda: "Saved." in app.s.text(app.s.find("main")), what="the saved notice")

    retention = cli.json("audit", "retention")
    assert (retention["days"], retention["max_mb"], retention["preview_bytes"]) == (30, 250, 4096)
    # A value the engine refuses is reported and nothing changes.
    _type(app, "preview-bytes", "8")
    _click(app, "Save")
    app.s.wait_for(
        lambda: "at least 64 bytes" in app.s.text(app.s.find("main")), what="the refusal"
    )
    assert cli.json("audit", "retention")["preview_bytes"] == 4096
    app.screenshot("settings")


def test_verify_in_the_app_finds_an_edited_record(cli, app, env):
    cli.run("server", "add", "time", "--", TIME_SERVER, "--local-timezone", "UTC")
    asyncio.run(_call(StdioServerParameters(command=str(cli.path), args=["run", "time"], env=env)))
    app.open_page("settings")
    _click(app, "Verify the chain")
    app.s.wait_for(
        lambda: "Intact" in (app.s.execute("return document.querySelector('[data-testid=chain-report]')?.textContent") or ""),
        what="an intact chain",
    )
    [call] = [r for r in cli.json("audit", "list") if r["method"] == "tools/call"]
    with sqlite3.connect(Path(env["GATEHOUSE_HOME"]) / "gatehouse.db") as conn:
        conn.execute("UPDATE audit SET decision = 'denied' WHERE id = ?", (call["id"],))
    _click(app, "Verify the chain")
    app.s.wait_for(
        lambda: f"Record {call['id']} was edited"
        in (app.s.execute("return document.querySelector('[data-testid=chain-report]')?.textContent") or ""),
        what="the edited record",
    )
