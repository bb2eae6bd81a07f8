"""A local MCP Registry (v0.1) and npm registry for the install tests.

`build_package` makes a tiny stdio MCP server in plain Node as an npm
tarball (package.json with `mcpName` and `bin`, `index.js` answering
initialize, tools/list and tools/call); `Registry` serves, on 127.0.0.1,
the registry's answers for one server whose npm package is that tarball,
and the npm registry's packument, version document and tarball, with
`dist.integrity` the SRI sha512 of the tarball's bytes. Nothing outside
this machine is contacted.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

INDEX_JS = r"""#!/usr/bin/env node
// A tiny stdio MCP server: one tool, `greet`, which says whether the
// secret the install stored reached its environment (never its value).
const rl = require('readline').createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === 'initialize') {
    send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion,
      capabilities: { tools: {} }, serverInfo: { name: 'e2e-hello', version: '1.0.0' } } });
  } else if (m.method === 'tools/list') {
    send({ jsonrpc: '2.0', id: m.id, result: { tools: [{ name: 'greet', description: 'Greets someone.',
      inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } }] } });
  } else if (m.method === 'tools/call') {
    const token = process.env.HELLO_TOKEN ? 'token present' : 'no token';
    send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text',
      text: `hello, ${m.params.arguments.name} (${token})` }] } });
  } else {
    send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no such method' } });
  }
});
"""


def build_package(name: str, version: str, mcp_name: str) -> bytes:
    """The npm tarball (`package/...`, gzip) of the test server."""
    files = {
        "package/package.json": json.dumps(
            {"name": name, "version": version, "mcpName": mcp_name, "bin": {name: "index.js"}}
        ),
        "package/index.js": INDEX_JS,
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o755 if path.endswith(".js") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def integrity(data: bytes) -> str:
    """npm's Subresource Integrity string: sha512, base64."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class Registry:
    """Serves one registry server and its npm package until `close`."""

    def __init__(self, server_name: str, package: str, version: str, tarball: bytes):
        self.server_name = server_name
        self.package = package
        self.version = version
        self.tarball = tarball
        self.requests: list[str] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def entry(self) -> dict:
        return {
            "server": {
                "name": self.server_name,
                "title": "E2E Hello",
                "description": "Greets people, for the install test",
                "version": self.version,
                "repository": {"url": "https://github.com/e2e/hello", "source": "github"},
                "packages": [
                    {
                        "registryType": "npm",
                        "identifier": self.package,
                        "version": self.version,
                        "transport": {"type": "stdio"},
                        "environmentVariables": [
                            {"name": "HELLO_TOKEN", "description": "The greeting service's token",
                             "isRequired": True, "isSecret": True}
                        ],
                    }
                ],
            },
            "_meta": {
                "io.modelcontextprotocol.registry/official": {
                    "status": "active",
                    "publishedAt": "2026-11-01T00:00:00Z",
                    "updatedAt": "2026-11-01T00:00:00Z",
                    "isLatest": True,
                }
            },
        }

    def _version_doc(self) -> dict:
        return {
            "name": self.package,
            "version": self.version,
            "mcpName": self.server_name,
            "bin": {self.package: "index.js"},
            "dist": {
                "tarball": f"{self.url}/{quote(self.package, safe='@')}/-/{self.package}-{self.version}.tgz",
                "integrity": integrity(self.tarball),
            },
        }

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        name = quote(self.server_name, safe="")
        if path == "/v0.1/servers":
            search = query.get("search", [""])[0]
            hits = [self.entry()] if search in self.server_name else []
            page = {"servers": hits, "metadata": {"count": len(hits), "nextCursor": None}}
            return 200, "application/json", json.dumps(page).encode()
        if path == f"/v0.1/servers/{name}/versions":
            page = {"servers": [self.entry()], "metadata": {"count": 1}}
            return 200, "application/json", json.dumps(page).encode()
        if path in (f"/v0.1/servers/{name}/versions/{self.version}", f"/v0.1/servers/{name}/versions/latest"):
            return 200, "application/json", json.dumps(self.entry()).encode()
        pkg = unquote(path.lstrip("/"))
        if pkg == self.package:
            doc = {"name": self.package, "dist-tags": {"latest": self.version},
                   "versions": {self.version: self._version_doc()}}
            return 200, "application/json", json.dumps(doc).encode()
        if pkg in (f"{self.package}/{self.version}", f"{self.package}/latest"):
            return 200, "application/json", json.dumps(self._version_doc()).encode()
        if pkg == f"{self.package}/-/{self.package}-{self.version}.tgz":
            return 200, "application/octet-stream", self.tarball
        return 404, "application/json", b'{"error":"not found"}'

    def _handler(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                url = urlsplit(self.path)
                # Keep %2F in names: split the raw path, not a decoded one.
                registry.requests.append(self.path)
                status, kind, body = registry._answer(url.path, parse_qs(url.query))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler
