"""A minimal W3C WebDriver client (the subset the tests use), over urllib.

tauri-driver speaks W3C WebDriver and forwards to WebKitWebDriver, which
starts the real Gatehouse binary. Keeping the client this small means no
browser-automation library decides timeouts or retries behind our back.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

# Connection failures where the command was not delivered; see _request.
_UNSENT = (http.client.RemoteDisconnected, ConnectionResetError, ConnectionRefusedError)
_ATTEMPTS = 5


class WebDriverError(RuntimeError):
    pass


class Session:
    def __init__(self, base_url: str, application: str, args: list[str] | None = None):
        self.base = base_url.rstrip("/")
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": {"application": application, "args": args or []},
                }
            }
        }
        value = self._request("POST", "/session", caps, timeout=60)
        self.id = value["sessionId"]

    def _request(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(_ATTEMPTS):
            req = urllib.request.Request(
                self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    payload = json.loads(resp.read() or b"{}")
                return payload.get("value")
            except urllib.error.HTTPError as e:
                raise WebDriverError(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}") from e
            except _UNSENT as e:
                # tauri-driver forwards over pooled keep-alive connections to
                # WebKitWebDriver and does not retry when one was closed under
                # it ("client error (SendRequest)" / "(Connect)" in its log):
                # it drops ours without a response. The command never reached
                # WebKitWebDriver, so sending it again is safe.
                if attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _cmd(self, method: str, path: str, body: dict | None = None):
        return self._request(method, f"/session/{self.id}{path}", body)

    def close(self) -> None:
        try:
            self._cmd("DELETE", "")
        except (WebDriverError, OSError):
            pass

    def handles(self) -> list[str]:
        """Every window of the app (the main window, the approval popup)."""
        return self._cmd("GET", "/window/handles")

    def switch_to(self, handle: str) -> None:
        self._cmd("POST", "/window", {"handle": handle})

    def execute(self, script: str, *args):
        return self._cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return self._cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css: str) -> list[str]:
        found = self._cmd("POST", "/elements", {"using": "css selector", "value": css})
        return [e[ELEMENT] for e in found]

    def click(self, element: str) -> None:
        self._cmd("POST", f"/element/{element}/click", {})

    def text(self, element: str) -> str:
        return self._cmd("GET", f"/element/{element}/text")

    def wait_for(self, predicate, timeout: float = 10, what: str = "condition"):
        """Polls `predicate` (a test helper, not the app) until it returns a truthy value."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
                if value:
                    return value
            except WebDriverError as e:
                last_error = e
            time.sleep(0.1)
        raise TimeoutError(f"timed out waiting for {what}" + (f": {last_error}" if last_error else ""))

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._cmd("GET", "/screenshot")))
