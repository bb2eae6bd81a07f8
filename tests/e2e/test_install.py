"""Installing from the MCP Registry through the real window, end to end: a
local registry (tests/e2e/servers/registry.py) lists one server whose npm
package is a tiny Node MCP server this test builds; in the app the person
searches, picks the server, reads the vetting report (ownership confirmed
by the package's mcpName, the exact version, the tarball's integrity),
enters the required secret and installs. Then a real MCP client (the
Python SDK) calls the installed server's tool through `gatehouse run`,
which launches it from Gatehouse's cache after checking its tree."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

sys.path.insert(0, str(Path(__file__).parent / "servers"))
from registry import Registry, build_package, integrity  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SERVER = "io.github.e2e/hello"
PACKAGE = "gatehouse-e2e-hello"
VERSION = "1.0.0"


@pytest.fixture
def registry(env):
    """The local registry, and Gatehouse (CLI and app) pointed at it. Asked
    for before `app`, so the app starts with these variables."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed: the test server is an npm package")
    reg = Registry(SERVER, PACKAGE, VERSION, build_package(PACKAGE, VERSION, SERVER))
    env["GATEHOUSE_REGISTRY_URL"] = reg.url
    env["GATEHOUSE_NPM_URL"] = reg.url
    yield reg
    reg.close()


def _type(app, css: str, text: str) -> None:
    """Types into the field `css` as a person would: value, then input."""
    app.s.execute(
        """const field = document.querySelector(arguments[0]);
        field.value = arguments[1];
        field.dispatchEvent(new Event('input', { bubbles: true }));""",
        css,
        text,
    )


def _text(app, css: str) -> str:
    return app.s.execute("return document.querySelector(arguments[0])?.textContent ?? ''", css)


def _greet(cli, env, local: str):
    async def session():
        params = StdioServerParameters(command=str(cli.path), args=["run", local], env=env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                tools = [t.name for t in (await s.list_tools()).tools]
                result = await s.call_tool("greet", {"name": "Ada"})
                return tools, bool(result.is_error), result.content[0].text

    return asyncio.run(session())


def test_install_from_the_registry_in_the_app_then_call_a_tool_through_gatehouse_run(
    registry, app, cli, env
):
    app.open_page("install")
    _type(app, 'input[aria-label="Search the registry"]', "hello")
    app.s.click(app.s.find('form[role="search"] button[type="submit"]'))
    card = f'[data-server="{SERVER}"]'
    app.s.wait_for(lambda: app.s.find_all(card), what="the search result")
    assert "E2E Hello" in _text(app, card)
    assert "Publisher: io.github.e2e" in _text(app, card)
    assert "active" in _text(app, card)

    app.s.click(app.s.find(f'button[aria-label="Vet {SERVER}"]'))
    report = 'section[aria-label="Vetting report"]'
    app.s.wait_for(lambda: app.s.find_all(report), timeout=30, what="the vetting report")
    ownership = app.s.execute(
        "return document.querySelector(arguments[0] + ' [data-field=ownership]')?.dataset.outcome", report
    )
    assert ownership == "ok"
    text = _text(app, report)
    assert f"mcpName is {SERVER}" in text
    assert integrity(registry.tarball) in text
    assert "HELLO_TOKEN" in text and "secret" in text
    assert "github" in _text(app, report + ' [data-field="namespace"]')
    assert _text(app, '[aria-current="true"][data-version]').strip().startswith(VERSION)

    # The required secret: Install waits for it.
    install = app.s.wait_for(
        lambda: [
            b
            for b in app.s.find_all('section[aria-label="Install"] button')
            if app.s.text(b).strip() == f"Install {VERSION}"
        ],
        what="the Install button",
    )[0]
    assert "Fill in HELLO_TOKEN" in _text(app, "[data-blocker]")
    _type(app, 'section[aria-label="Secrets and settings"] input[type="password"]', "e2e-secret-token")
    app.s.wait_for(lambda: not _text(app, "[data-blocker]"), what="Install enabled")
    shots = ROOT / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    app.s.screenshot(shots / "install.png")
    app.s.click(install)

    connect = 'a.connect[href="#/clients"]'
    app.s.wait_for(
        lambda: app.s.find_all(connect) or app.s.find_all('[role="alert"]'),
        timeout=120,
        what="the install to finish",
    )
    assert not app.s.find_all('[role="alert"]'), _text(app, '[role="alert"]')
    done = _text(app, ".done")
    assert f"{PACKAGE}@{VERSION}" in done and "gatehouse run hello" in done
    app.screenshot("installed")

    [server] = cli.json("server", "list")
    assert server["name"] == "hello"
    assert server["secrets"] == ["HELLO_TOKEN"]
    assert "npx" not in server["command"]
    assert server["args"][0].startswith(env["GATEHOUSE_HOME"]), server
    cli.run("server", "verify", "hello")
    assert "e2e-secret-token" not in cli.run("server", "list", "--json").stdout
    assert any(r.endswith(".tgz") for r in registry.requests)

    tools, is_error, greeting = _greet(cli, env, "hello")
    assert tools == ["greet"]
    assert not is_error
    assert greeting == "hello, Ada (token present)"

    # "Connect to clients" leads to the Clients page.
    app.s.click(app.s.find(connect))
    app.s.wait_for(
        lambda: app.s.execute("return document.querySelector('nav a[aria-current=page]')?.dataset.page")
        == "clients",
        what="the Clients page",
    )
