"""A small MCP stdio server whose tools misbehave on purpose, for the proxy's
fault tests: it crashes, writes garbage, invalid UTF-8 or huge messages on
request, and reports what it received in its environment.

Usage: scripted.py [--stubborn] [--state DIR]
  --state DIR  write DIR/pid at start and DIR/clean-exit when stdin closes
  --stubborn   ignore SIGTERM and keep running after stdin closes
  --odd-list   answer tools/list with a tool name strict parsers refuse
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time

args = sys.argv[1:]
STUBBORN = "--stubborn" in args
STATE = args[args.index("--state") + 1] if "--state" in args else None
# A tool list strict parsers refuse: a tool name with a lone surrogate.
ODD_LIST = "--odd-list" in args

TOOLS = [
    {"name": name, "description": f"{name} (scripted)", "inputSchema": {"type": "object"}}
    for name in ("echo", "env", "crash", "garbage", "bad_utf8", "huge", "slow")
]

out = sys.stdout.buffer


def send(message: dict) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def text_result(id_, text: str) -> None:
    send({"jsonrpc": "2.0", "id": id_, "result": {"content": [{"type": "text", "text": text}]}})


def call(id_, name: str, arguments: dict) -> None:
    if name == "echo":
        text_result(id_, arguments.get("text", ""))
    elif name == "env":
        value = os.environ.get(arguments["name"], "")
        # The value itself goes to stderr, which the proxy logs: the log
        # must not keep it.
        print(f"my {arguments['name']} is {value}", file=sys.stderr, flush=True)
        text_result(id_, json.dumps({"sha256": hashlib.sha256(value.encode()).hexdigest()}))
    elif name == "crash":
        os._exit(3)
    elif name == "garbage":
        out.write(b"this is not json\n")
        out.flush()
    elif name == "bad_utf8":
        out.write(b'{"jsonrpc":"2.0","id":' + json.dumps(id_).encode() + b',"result":{"x":"\xff\xfe"}}\n')
        out.flush()
    elif name == "huge":
        text_result(id_, "x" * arguments.get("bytes", 2_000_000))
    elif name == "slow":
        time.sleep(arguments.get("seconds", 1))
        text_result(id_, "slow done")
    else:
        send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": f"no tool {name}"}})


def main() -> None:
    if STATE:
        with open(os.path.join(STATE, "pid"), "w") as f:
            f.write(str(os.getpid()))
    if STUBBORN:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for raw in sys.stdin.buffer:
        msg = json.loads(raw)
        method, id_ = msg.get("method"), msg.get("id")
        if method == "initialize":
            send({
                "jsonrpc": "2.0",
                "id": id_,
                "result": {
                    "protocolVersion": msg["params"]["protocolVersion"],
                    "capabilities": {"tools": {"listChanged": True}},
                    "serverInfo": {"name": "scripted", "version": "1"},
                },
            })
        elif method == "server/discover":
            # The stateless 2026-07-28 style: no initialize, identity in _meta.
            send({
                "jsonrpc": "2.0",
                "id": id_,
                "result": {
                    "resultType": "complete",
                    "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {"listChanged": True}},
                    "ttlMs": 0,
                    "cacheScope": "none",
                },
            })
        elif method == "subscriptions/listen":
            pass  # a long-lived stream: answered only when it ends
        elif method == "tools/list" and ODD_LIST:
            tools = json.dumps(TOOLS)[:-1] + ', {"name": "odd\\ud800", "inputSchema": {"type": "object"}}]'
            out.write(b'{"jsonrpc": "2.0", "id": ' + json.dumps(id_).encode() + b', "result": {"tools": ' + tools.encode() + b"}}\n")
            out.flush()
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": id_, "result": {"tools": TOOLS}})
        elif method == "tools/call":
            call(id_, msg["params"]["name"], msg["params"].get("arguments") or {})
        elif id_ is not None:
            send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": f"no method {method}"}})
    if STATE:
        with open(os.path.join(STATE, "clean-exit"), "w") as f:
            f.write("stdin closed")
    while STUBBORN:
        time.sleep(1)


if __name__ == "__main__":
    main()
