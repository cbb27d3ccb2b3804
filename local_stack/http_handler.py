"""What the local stack's HTTP servers (the API gateway, the api.video double) share in how they
take requests: HTTP/1.1 keep-alive, no Nagle delay, every method to one `_handle`, no access log,
and a stop that ends every connection (so no handler thread outlives its server)."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Server(ThreadingHTTPServer):
    """A thread per connection; `server_close` also ends the connections still open.

    A keep-alive connection's thread waits for the client's next request: a client that keeps its
    pool (requests, urllib3, botocore) would keep that thread, and the server's state, alive after
    the server stopped. Closing each connection's socket ends its thread at once.
    """

    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections under a burst of concurrent clients

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (a browser tab closed, an upload cancelled) is not an
        error of the server's: only other failures print their traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for connection in still_open:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)  # the handler's read returns: its thread ends


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
