"""Retention without the app: a `gatehouse run` that finds records older
than the retention period deletes them in the background, and the chain
still verifies."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
DAY_US = 86_400 * 1_000_000


async def _session(params: StdioServerParameters) -> None:
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("get_current_time", {"timezone": "UTC"})


def test_a_proxy_applies_retention_when_it_is_due(cli, env):
    cli.run("server", "add", "time", "--", TIME_SERVER, "--local-timezone", "UTC")
    params = StdioServerParameters(command=str(cli.path), args=["run", "time"], env=env)
    asyncio.run(_session(params))
    old = cli.json("audit", "list")
    assert old, "the first session was recorded"

    # Age the first session's records by 100 days (the default keeps 90).
    # Only `time` changes, which the chain covers: verification would now
    # report them edited, until retention deletes them all.
    db = Path(env["GATEHOUSE_HOME"]) / "gatehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET time = time - ?", (100 * DAY_US,))
    assert cli.run("audit", "verify", check=False).returncode == 1

    asyncio.run(_session(params))
    # Retention always keeps the newest record (ids must keep rising), and
    # it ran as the second session started: the last aged one may stay.
    old_ids = {r["id"] for r in old}
    deletable = old_ids - {max(old_ids)}
    deadline = time.monotonic() + 10
    while True:
        ids = {r["id"] for r in cli.json("audit", "list")}
        if not ids & deletable or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not ids & deletable, "the aged records are gone"
    assert ids - old_ids, "the second session's records stay"
    report = json.loads(cli.run("audit", "verify", "--json", check=False).stdout)
    assert report["pruned"] == len(deletable)
    # The chain holds from the anchor on; only the aged record that had to
    # stay (if it did) reads as edited.
    if max(old_ids) in ids:
        assert report["broken"] == {"problem": "edited", "id": max(old_ids)}
    else:
        assert report["broken"] is None
