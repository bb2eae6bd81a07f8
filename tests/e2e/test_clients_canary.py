"""Import and connect a client whose config holds a secret in plain text:
afterwards the secret is only in the OS keychain (not in the client's
config, not in any Gatehouse file), and the server the rewritten entry
launches still receives it."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from test_proxy_faults import SCRIPTED, RawClient

CANARY = "sk-clients-canary-5e1d0c9b7a3f2468"


def test_after_import_and_connect_the_secret_is_only_in_the_keychain_and_still_reaches_the_server(cli, env):
    home = Path(env["HOME"])
    config = home / ".cursor" / "mcp.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        "{\n"
        '  // the scripted test server\n'
        '  "mcpServers": {\n'
        f'    "canary": {{ "command": "{sys.executable}", "args": ["{SCRIPTED}"], "env": {{ "API_TOKEN": "{CANARY}" }} }}\n'
        "  }\n"
        "}\n"
    )
    imported = json.loads(cli.run("clients", "import", "cursor", "--json").stdout)
    assert [(i["server"], i["outcome"], i["secrets_moved"]) for i in imported] == [("canary", "added", ["API_TOKEN"])]
    cli.run("clients", "connect", "cursor")

    rewritten = config.read_text()
    assert CANARY not in rewritten
    assert "// the scripted test server" in rewritten, "the rest of the file is kept"
    entry = json.loads("\n".join(l for l in rewritten.splitlines() if not l.strip().startswith("//")))["mcpServers"]["canary"]
    assert entry["args"] == ["run", "canary"]
    for path in Path(env["GATEHOUSE_HOME"]).rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), f"the secret is in {path}"

    # What the client would now launch: the rewritten entry's command.
    proc_client = _launch(entry, env)
    proc_client.initialize()
    proc_client.call(1, "env", name="API_TOKEN")
    seen = json.loads(proc_client.reply(1)["result"]["content"][0]["text"])
    assert seen["sha256"] == hashlib.sha256(CANARY.encode()).hexdigest()
    assert proc_client.close() == 0


def _launch(entry: dict, env: dict) -> RawClient:
    """A RawClient running exactly `command args` from the entry."""

    class Cli:
        path = Path(entry["command"])

    Cli.env = env
    # RawClient runs `<path> run NAME`; the entry's args are exactly that.
    assert entry["args"][0] == "run"
    return RawClient(Cli, entry["args"][1])
