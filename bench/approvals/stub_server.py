"""A minimal MCP stdio server for the approval benchmark: one tool, `act`,
whose every call appends the CLOCK_MONOTONIC time it arrived (ns) to the
file named on the command line, so the benchmark can tell when a call was
forwarded."""

import json
import sys
import time

stamps = open(sys.argv[1], "a", buffering=1)
TOOL = {"name": "act", "description": "Does one thing.", "inputSchema": {"type": "object"}}

for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("method") == "tools/call":
        stamps.write(f"{time.monotonic_ns()}\n")
    if "id" not in msg:
        continue
    method = msg.get("method")
    if method == "initialize":
        result = {
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "stub", "version": "1"},
        }
    elif method == "tools/list":
        result = {"tools": [TOOL]}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "done"}]}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
    sys.stdout.flush()
