"""What the local stack's HTTP servers (the API gateway, the api.video double) share in how they
take requests: HTTP/1.1 keep-alive, no Nagle delay, every method to one `_handle`, no access log."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class OneHandlerPerRequest(BaseHTTPRequestHandler):
    """Sends GET, POST, PUT, PATCH and DELETE to `_handle`; the access log is off (request lines carry
    upload tokens: `?token=`, `/upload-tokens/{token}`)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        raise NotImplementedError
