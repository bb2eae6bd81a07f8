"""A Python SDK MCP server over HTTP, for the remote-server tests.

usage: remote.py PORT {http,sse} [--require-header NAME=VALUE]

`http` serves Streamable HTTP at /mcp (sessions, SSE answers, resumable
streams with an in-memory event store); `sse` serves the HTTP+SSE transport
of 2024-11-05 at /sse. With --require-header, every request without that
header and value is refused with 401.

Tools: echo(text); slow(seconds): answers after sleeping; progress(steps):
reports progress once a second (in SSE) before answering; pid(): this
process's id, so a test can tell a restarted server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventStore
from starlette.responses import PlainTextResponse


class MemoryEvents(EventStore):
    """Every event kept, so a broken stream can be resumed with Last-Event-ID."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []
        self.ids = itertools.count(1)

    async def store_event(self, stream_id, message):
        event_id = str(next(self.ids))
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id, send_callback):
        stream = next((s for e, s, _ in self.events if e == last_event_id), None)
        if stream is None:
            return None
        after = False
        for event_id, stream_id, message in self.events:
            if after and stream_id == stream and message is not None:
                await send_callback(type("Event", (), {"event_id": event_id, "message": message})())
            after = after or event_id == last_event_id
        return stream


server = MCPServer("remote-test")


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool()
async def slow(seconds: float) -> str:
    """Answer after sleeping for the given number of seconds."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
async def progress(steps: int, ctx: Context) -> str:
    """Report progress once a second, then answer."""
    for step in range(steps):
        await ctx.report_progress(step, steps)
        await asyncio.sleep(1)
    return f"done after {steps} steps"


@server.tool()
def pid() -> str:
    """This server process's id."""
    return str(os.getpid())


def require(header: str | None, app):
    if not header:
        return app
    name, value = header.split("=", 1)
    name = name.lower().encode()

    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            sent = dict(scope["headers"]).get(name)
            if sent != value.encode():
                await PlainTextResponse("missing or wrong credentials", status_code=401)(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("transport", choices=["http", "sse"])
    parser.add_argument("--require-header")
    args = parser.parse_args()
    if args.transport == "http":
        app = server.streamable_http_app(event_store=MemoryEvents(), retry_interval=200)
    else:
        app = server.sse_app()
    uvicorn.run(require(args.require_header, app), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
