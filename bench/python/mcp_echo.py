#!/usr/bin/env python3
"""A minimal MCP server on stdio in plain Python (no SDK): the same answers
as the Rust `mcp-echo`, for the Python reference point of the proxy
benchmark. One JSON message per line in, one per line out, flushed per reply.
"""

import json
import sys

PROTOCOL_VERSIONS = ["2025-06-18", "2025-03-26", "2024-11-05", "2025-11-25"]
TOOLS = {
    "tools": [
        {
            "name": "echo",
            "description": "Returns its text argument.",
            "inputSchema": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
        },
        {
            "name": "noop",
            "description": "Does nothing.",
            "inputSchema": {"type": "object", "properties": {}},
        },
    ]
}


def answer(msg):
    if not isinstance(msg, dict) or "id" not in msg or "method" not in msg:
        return None
    rid, method = msg["id"], msg["method"]
    params = msg.get("params") or {}
    if method == "initialize":
        asked = params.get("protocolVersion")
        version = asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "mcp-echo-py", "version": "0.1.0"},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = TOOLS
    elif method == "tools/call":
        name = params.get("name")
        if name == "echo":
            text = (params.get("arguments") or {}).get("text", "")
            result = {"content": [{"type": "text", "text": text}], "isError": False}
        elif name == "noop":
            result = {"content": [], "isError": False}
        else:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"Unknown tool: {name}"}}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"Method not found: {method}"}}
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def main():
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = answer(json.loads(line))
        except ValueError as e:
            reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": f"Parse error: {e}"}}
        if reply is not None:
            out.write(json.dumps(reply, separators=(",", ":")) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
