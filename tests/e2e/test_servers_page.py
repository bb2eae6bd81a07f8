"""The Servers page shows what the CLI registered, and follows changes live;
the app keeps a single instance per data directory."""

import subprocess

from conftest import app_binary

PAGES = ["overview", "servers", "clients", "install", "approvals", "history", "settings"]


def test_server_added_with_the_cli_is_listed_in_the_app(cli, app):
    cli.run("server", "add", "demo", "--", "python3", "server.py")
    assert [s["name"] for s in cli.json("server", "list")] == ["demo"]

    app.open_page("servers")
    app.s.wait_for(lambda: app.table_rows() == ["demo"], what="demo in the table")
    row = app.s.text(app.s.find('tr[data-key="demo"]'))
    assert "python3 server.py" in row
    app.screenshot("servers")


def test_every_page_renders_and_is_captured(cli, app):
    cli.run("server", "add", "time", "--secret", "TZ_TOKEN", "--", "uvx", "mcp-server-time")
    for page in PAGES:
        app.open_page(page)
        heading = app.s.wait_for(
            lambda: app.s.execute("return document.querySelector('main h1')?.textContent"),
            what=f"{page} heading",
        )
        assert heading.lower() == page
        assert app.screenshot(page).stat().st_size > 1000


def test_changes_from_another_process_are_pushed_to_the_open_page(cli, app):
    app.open_page("servers")
    app.s.wait_for(
        lambda: app.s.execute("return document.body.textContent.includes('No servers yet')"),
        what="the empty state",
    )
    # The app is already showing the page; the CLI is a different process.
    cli.run("server", "add", "late", "--", "node", "late.js")
    app.s.wait_for(lambda: app.table_rows() == ["late"], timeout=5, what="the pushed change")
    cli.run("server", "remove", "late")
    app.s.wait_for(lambda: app.table_rows() == [], timeout=5, what="the removal")


def test_a_second_launch_on_the_same_data_hands_over_to_the_first(cli, app, env):
    app.open_page("servers")
    second = subprocess.run([str(app_binary())], env=env, capture_output=True, text=True, timeout=60)
    # The second process forwards to the running one and leaves at once...
    assert second.returncode == 0, second.stderr
    # ...and the first keeps serving its window.
    assert app.s.execute("return document.querySelector('nav a[aria-current=page]')?.dataset.page") == "servers"
