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
