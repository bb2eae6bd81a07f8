"""A small office-assistant MCP server built on the official Python SDK
(MCPServer), with tools of every risk: reading files, sending messages,
fetching URLs, deleting. Nothing leaves the machine: "sending" and
"fetching" only echo what they were given, so the policy tests can see
which calls reached the server."""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("office")


@server.tool()
def read_file(path: str) -> str:
    """Read a text file from disk and return its contents."""
    return Path(path).read_text()


@server.tool()
def send_message(to: str, text: str) -> str:
    """Send a chat message to a colleague."""
    return f"sent to {to}: {text}"


@server.tool()
def fetch_url(url: str) -> str:
    """Fetch a web page over HTTP."""
    return f"fetched {url}"


@server.tool()
def lookup(word: str) -> str:
    """Look a word up in the built-in glossary."""
    return f"{word}: a word"


@server.tool()
def delete_file(path: str) -> str:
    """Delete a file from disk."""
    return f"would delete {path}"


if __name__ == "__main__":
    server.run()
