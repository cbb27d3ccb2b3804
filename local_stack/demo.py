"""The demo page at `<apiUrl>/demo/`: demo/'s files, Uppy's prebuilt bundles from demo/node_modules,
and the stack's public settings (Cognito endpoint, client id, demo users) as `config.json`.

Only GET and HEAD, only files under demo/ (never node_modules but the few named in VENDOR).

`python -m local_stack.demo [demo/config.json]` (`make demo`) serves the same page on its own, at
`http://localhost:5173/demo/`, with `config.json` read from that file: the page against a deployed
stack (docs/deploying.md writes the file from the stack's outputs).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local_stack.http_handler import OneHandlerPerRequest, Server
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
#: What the page reads from `config.json` (app.js), each a non-empty string; `users` is optional.
CONFIG_KEYS = ("apiUrl", "awsEndpoint", "region", "userPoolClientId")
#: The file `python -m local_stack.demo` reads by default (git ignores it).
CONFIG_FILE = DEMO_DIR / "config.json"
#: The template's default CorsAllowedOrigins is http://localhost:5173 (Vite's port): the page served
#: there needs no change to the stack.
DEFAULT_PORT = 5173

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


class ConfigError(Exception):
    """A config.json the page could not work with; the message says what to fix."""


def read_config(path: Path) -> dict[str, Any]:
    """The page's settings for a deployed stack: `apiUrl`, `awsEndpoint` (Cognito's endpoint,
    https://cognito-idp.<region>.amazonaws.com/), `region`, `userPoolClientId`, and `users`, the
    usernames the sign-in form offers (a `password` in them is optional: the form asks)."""
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path} does not exist: write it from the stack's outputs (docs/deploying.md)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path} holds {type(config).__name__}, not an object")
    missing = [key for key in CONFIG_KEYS if not isinstance(config.get(key), str) or not config[key]]
    if missing:
        raise ConfigError(f"{path} needs {', '.join(missing)} (docs/deploying.md)")
    users = config.setdefault("users", [])
    if not isinstance(users, list) or not all(
        isinstance(user, dict) and isinstance(user.get("username"), str) and user["username"]
        for user in users
    ):
        raise ConfigError(f'{path}: users must be a list of {{"username": "..."}}')
    return config


class DemoServer:
    """The demo page alone (no API, no emulator) on host:port, `config.json` as given."""

    def __init__(self, config: dict[str, Any], host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        site = DemoSite()
        site.config = config

        class Handler(OneHandlerPerRequest):
            server_version = "upload-tokens-demo"

            def do_HEAD(self) -> None:
                self._handle()

            def _handle(self) -> None:
                if urlsplit(self.path).path == "/":
                    self._send(308, {"location": PREFIX})
                elif not site.serve(self):
                    self._send(404, {"content-type": "application/json"}, b'{"message": "Not Found"}')

            def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
                self.send_response(status)
                for name, value in {**headers, "content-length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        self._server = Server((host, port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-page", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.demo", description="The demo page against a deployed stack."
    )
    parser.add_argument("config", nargs="?", type=Path, default=CONFIG_FILE, help="default: demo/config.json")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    try:
        config = read_config(args.config)
    except ConfigError as error:
        print(f"demo page: {error}", file=sys.stderr)
        return 1
    if not all((DEMO_DIR / file).is_file() for file in VENDOR.values()):
        print("demo page: Uppy is not installed: run `npm ci` in demo/ (make demo does)", file=sys.stderr)
        return 1
    try:
        server = DemoServer(config, args.host, args.port)
    except OSError as error:
        print(
            f"demo page: {args.host}:{args.port}: {error.strerror}; DEMO_PORT=... moves it", file=sys.stderr
        )
        return 1
    origin = f"http://{'localhost' if args.host in ('127.0.0.1', 'localhost') else args.host}:{server.port}"
    print(
        f"demo page  {origin}/demo/   (API {config['apiUrl']})\n"
        f"The stack's CorsAllowedOrigins must include {origin}. Ctrl-C stops it.",
        flush=True,
    )
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    server.start()
    try:
        stopping.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
