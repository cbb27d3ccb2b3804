"""The demo page at `<apiUrl>/demo/`: demo/'s files, Uppy's prebuilt bundles from demo/node_modules,
and the stack's public settings (Cognito endpoint, client id, demo users) as `config.json`.

Only GET and HEAD, only files under demo/ (never node_modules but the few named in VENDOR).
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local_stack.template import ROOT

DEMO_DIR = ROOT / "demo"
PREFIX = "/demo/"
#: The Uppy majors the page offers (demo/package.json pins each, as the npm alias `uppy-<major>`).
UPPY_MAJORS = ("5", "6")
#: `/demo/vendor/<name>` -> the file `npm ci` installed.
VENDOR = {
    f"uppy-{major}/{name}": f"node_modules/uppy-{major}/dist/{name}"
    for major in UPPY_MAJORS
    for name in ("uppy.min.mjs", "uppy.min.mjs.map", "uppy.min.css")
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
#: What the page's own folder may serve (package.json, the lock file and node_modules are not pages).
PAGE_FILES = {"index.html", "app.js", "style.css"}

Answer = tuple[int, dict[str, str], bytes]


class DemoSite:
    """Static files of the demo page; `config` is filled in once the stack knows its endpoints."""

    def __init__(self, root: Path = DEMO_DIR) -> None:
        self.root = root
        self.config: dict[str, Any] = {}

    def serve(self, request: BaseHTTPRequestHandler) -> bool:
        """Answer `request` if its path is the demo's; False leaves it to the API's routes."""
        answer = self.answer(request.command, urlsplit(request.path).path)
        if answer is None:
            return False
        status, headers, body = answer
        request.send_response(status)
        for name, value in {**headers, "content-length": str(len(body))}.items():
            request.send_header(name, value)
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)
        return True

    def answer(self, method: str, path: str) -> Answer | None:
        """The answer for `path`, or None when it is not the demo's (the gateway routes it on)."""
        if path == PREFIX.rstrip("/"):
            return 308, {"location": PREFIX}, b""
        if not path.startswith(PREFIX):
            return None
        if method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed", {"allow": "GET, HEAD"})
        name = path.removeprefix(PREFIX) or "index.html"
        if name == "config.json":
            return 200, _headers(".json"), json.dumps(self.config).encode()
        file = self._file(name)
        if file is None:
            return _text(404, "Not Found")
        return 200, _headers(file.suffix), file.read_bytes()

    def _file(self, name: str) -> Path | None:
        """Only names listed here: no path from the request ever reaches the file system."""
        if name in PAGE_FILES:
            file = self.root / name
        elif name.startswith("vendor/") and name.removeprefix("vendor/") in VENDOR:
            file = self.root / VENDOR[name.removeprefix("vendor/")]
        else:
            return None
        return file if file.is_file() else None


def _headers(suffix: str) -> dict[str, str]:
    return {
        "content-type": CONTENT_TYPES.get(suffix, "application/octet-stream"),
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
    }


def _text(status: int, message: str, extra: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"content-type": "application/json", **(extra or {})},
        json.dumps({"message": message}).encode(),
    )
