"""The Clients page lists the MCP configs found in the user's home
directory: here, the engine's fixtures (one realistic file per client)
laid out at their Linux paths in the test's HOME."""

import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "src-tauri/engine/tests/fixtures/clients/home"
CANARY = "sk-gatehouse-canary-7f3a9c1e5b2d"


def test_the_clients_page_shows_each_clients_servers_and_findings(env, app):
    shutil.copytree(FIXTURES, env["HOME"], dirs_exist_ok=True)
    app.open_page("clients")
    app.s.wait_for(
        lambda: app.s.execute("return document.querySelectorAll('section.client').length") >= 10,
        what="the fixture clients",
    )
    cursor = app.s.text(app.s.find('section[data-client="cursor"]'))
    assert ".cursor/mcp.json" in cursor
    assert "github" in cursor and "direct" in cursor and "plain-text secret" in cursor
    claude_code = app.s.text(app.s.find('section[data-client="claude-code"]'))
    assert "via Gatehouse" in claude_code, "its github entry launches gatehouse run"
    page = app.s.execute("return document.body.textContent")
    assert CANARY not in page, "a secret value reached the UI"
    app.screenshot("clients-with-fixtures")


def test_importing_and_connecting_a_client_from_the_page_shows_the_diff_then_rewrites_the_file(cli, env, app):
    config = Path(env["HOME"]) / ".cursor" / "mcp.json"
    config.parent.mkdir(parents=True)
    original = (
        "{\n"
        "  // tools for the shop\n"
        '  "mcpServers": {\n'
        '    "notes": { "command": "python3", "args": ["notes_server.py"] }\n'
        "  }\n"
        "}\n"
    )
    config.write_text(original)

    app.open_page("clients")
    # Import from the page: the server is registered in Gatehouse.
    app.s.click(app.s.find('section[data-client="cursor"] .actions button:first-child'))
    report = app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('section.report')?.textContent"),
        what="the import report",
    )
    assert "notes: added" in report, report
    assert [s["name"] for s in cli.json("server", "list")] == ["notes"]

    app.s.click(app.s.find('section[data-client="cursor"] .actions button:last-child'))
    diff = app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('dialog[open] pre.diff')?.textContent"),
        what="the diff",
    )
    assert '"run", "notes"' in diff or '"run","notes"' in diff, diff
    assert config.read_text() == original, "nothing is written before the person confirms"
    app.screenshot("clients-connect-preview")

    app.s.click(app.s.find("dialog[open] footer button:last-child"))
    app.s.wait_for(lambda: config.read_text() != original, what="the rewritten file")
    rewritten = config.read_text()
    assert "// tools for the shop" in rewritten
    assert '"run"' in rewritten and '"notes"' in rewritten and "python3" not in rewritten
    app.s.wait_for(
        lambda: "via Gatehouse" in app.s.text(app.s.find('section[data-client="cursor"]')),
        what="the entry shown as routed",
    )

    cli.run("clients", "restore", "cursor")
    assert config.read_text() == original
