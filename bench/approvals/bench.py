"""How fast an approval is: from the proxy getting a call the policy asks
about to the popup being on screen, and from the person's answer to the
call reaching the server. The direct path, an allowed call through the
same proxy, is measured in the same run.

Run it under an X server and a D-Bus session (scripts/bench.sh does):
  xvfb-run -a dbus-run-session -- python bench/approvals/bench.py \\
      --gatehouse target/release/gatehouse --app target/release/gatehouse-app

What is measured, per call (CLOCK_MONOTONIC, shared by the processes):
- request to popup visible: the benchmark writes the `tools/call` line to
  `gatehouse run`'s stdin; the X server reports the popup window mapped
  (MapNotify, via python-xlib).
- answer to call forwarded: the benchmark sends the answer to the broker's
  socket, as the popup's Allow button does through the app; the stub
  server notes when the call arrives on its stdin. (The button's own hop,
  the web view's IPC into Rust, is not included.)
- allowed call round trip: a call the policy allows, through the same
  proxy: the baseline of everything the proxy adds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from Xlib import X, display

HERE = Path(__file__).resolve().parent
POPUP_TITLE = "Gatehouse: approval needed"


def ms(ns: int) -> float:
    return ns / 1e6


class Proxy:
    """`gatehouse run stub`, driven line by line."""

    def __init__(self, gatehouse: str, env: dict):
        self.p = subprocess.Popen(
            [gatehouse, "run", "stub"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0
        )
        self.next_id = 0
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.request("tools/list", {})

    def send(self, msg: dict) -> None:
        self.p.stdin.write((json.dumps(msg) + "\n").encode())

    def call_line(self, tool: str) -> int:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
        return self.next_id

    def read(self) -> dict:
        """The next response; notifications (list_changed after a policy
        change) are skipped."""
        while True:
            msg = json.loads(self.p.stdout.readline())
            if "id" in msg:
                return msg

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.read()

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(10)


def broker(sock_path: Path, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock_path))
        s.sendall((json.dumps(request) + "\n").encode())
        return json.loads(s.makefile().readline())


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise TimeoutError(what)


def window_title(d, win) -> str:
    try:
        prop = win.get_full_property(d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"))
        if prop:
            return prop.value.decode(errors="replace")
        name = win.get_wm_name()
        return name or ""
    except Exception:
        return ""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gatehouse", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gatehouse-approvals-bench-"))
    env = dict(os.environ, GATEHOUSE_HOME=str(tmp / "data"), HOME=str(tmp), GATEHOUSE_APP="")
    stamps = tmp / "arrivals"
    gh = lambda *a: subprocess.run([args.gatehouse, *a], env=env, check=True, capture_output=True)  # noqa: E731
    gh("server", "add", "stub", "--", sys.executable, str(HERE / "stub_server.py"), str(stamps))
    gh("policy", "set", "stub", "act", "allow")
    gh("approvals", "timeout", "60")

    d = display.Display()
    root = d.screen().root
    root.change_attributes(event_mask=X.SubstructureNotifyMask)
    d.sync()

    app = subprocess.Popen([args.app], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock_path = tmp / "data" / "approvals.sock"
    try:
        wait_for(lambda: sock_path.exists(), what="the app's approval socket")
        time.sleep(2)  # let the windows settle; the popup exists, hidden
        proxy = Proxy(args.gatehouse, env)

        allowed = []
        for _ in range(args.runs):
            t0 = time.monotonic_ns()
            proxy.call_line("act")
            proxy.read()
            allowed.append(time.monotonic_ns() - t0)

        gh("policy", "set", "stub", "act", "ask")
        time.sleep(0.5)  # the proxy's watcher picks the change up
        popup, forward = [], []
        for _ in range(args.runs):
            while d.pending_events():
                d.next_event()
            before = len(stamps.read_text().splitlines()) if stamps.exists() else 0
            t0 = time.monotonic_ns()
            proxy.call_line("act")
            while True:
                ev = d.next_event()
                if ev.type == X.MapNotify and window_title(d, ev.window) == POPUP_TITLE:
                    popup.append(time.monotonic_ns() - t0)
                    break
            pending = wait_for(lambda: broker(sock_path, {"op": "list"})["pending"], what="the pending request")
            t1 = time.monotonic_ns()
            broker(sock_path, {"op": "decide", "id": pending[0]["id"], "answer": {"kind": "allow_once"}})
            reply = proxy.read()
            assert "error" not in reply and not reply["result"].get("isError"), reply
            arrivals = stamps.read_text().splitlines()
            assert len(arrivals) == before + 1
            forward.append(int(arrivals[-1]) - t1)
            # The popup hides once the queue is empty.
            while True:
                ev = d.next_event()
                if ev.type == X.UnmapNotify and window_title(d, ev.window) == POPUP_TITLE:
                    break
        proxy.close()
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()

    def row(name, values, limit):
        values = sorted(values)
        p50 = statistics.median(values)
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        verdict = "" if limit is None else ("met" if p95 <= limit * 1e6 else "NOT met")
        lim = "" if limit is None else f"<= {limit} ms"
        return f"| {name} | {ms(p50):.2f} ms | {ms(p95):.2f} ms | {ms(values[-1]):.2f} ms | {lim} | {verdict} |"

    print(f"{args.runs} runs each")
    print("| path | p50 | p95 | max | target | result |")
    print("|---|---:|---:|---:|---|---|")
    print(row("allowed call round trip (direct path through the proxy)", allowed, None))
    print(row("request to popup visible", popup, 200))
    print(row("answer to call forwarded", forward, 10))
    if args.json:
        Path(args.json).write_text(json.dumps({"allowed_ns": allowed, "popup_ns": popup, "forward_ns": forward}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
