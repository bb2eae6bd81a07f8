"""A small MCP server on stdio built with the Python SDK, which speaks the
stateless 2026-07-28 revision as well as the initialize handshake: the
upstream for the gateway's stateless end-to-end test."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("modern-shout")


@server.tool()
def shout(text: str) -> str:
    """Returns its text in capitals."""
    return text.upper()


if __name__ == "__main__":
    server.run("stdio")
