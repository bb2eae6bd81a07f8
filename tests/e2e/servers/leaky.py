"""An MCP server (official Python SDK) whose results carry what the audit
log must not: the secret Gatehouse injected into it, under an ordinary key
and under a secret-looking one, and results far longer than a preview."""

from __future__ import annotations

import json
import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("leaky")


@server.tool()
def whoami() -> str:
    """Tell who the server runs as, carelessly including its API key."""
    token = os.environ.get("API_TOKEN", "")
    return json.dumps({"user": "alice", "note": f"signed in with {token}", "api_key": "sk-undisclosed-7c1f"})


@server.tool()
def report(words: int) -> str:
    """Write a long report of the given number of words."""
    return " ".join(f"paragraph{i}" for i in range(words))


if __name__ == "__main__":
    server.run()
