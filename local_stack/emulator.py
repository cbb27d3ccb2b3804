"""The embedded AWS emulator: moto's server, strict, DynamoDB requests one at a time.

Strict (local_stack/strict.py, DESIGN.md §7): every request is judged as AWS judges it (credentials
the stack knows, SigV4 signatures, presigned URLs' expiry, POST policies) before moto sees it.

moto's backends are not thread-safe: two concurrent conditional writes can both pass their
condition. DynamoDB guarantees item-level atomicity, so the emulator serialises DynamoDB
requests to keep that guarantee (and every concurrency test meaningful). Other services are
left concurrent: an SQS long poll must not hold everyone else up.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local_stack import moto_fixes
from local_stack.cors import browsers_from
from local_stack.iam.guard import RoleGuard
from local_stack.strict import refusing, strict_from_environment

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serialised(app: WsgiApp) -> WsgiApp:
    lock = threading.Lock()

    def one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))

    return one_at_a_time


class _QuietHandler(MotoRequestHandler):
    # Headers and body go out as separate writes: without TCP_NODELAY each answer waits out the
    # client's delayed ACK (40 ms), and every AWS call of the local stack with it.
    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per AWS call drowns the functions' own logs


class Emulator:
    """moto server on `host:port`, in a daemon thread of this process, with moto's mends held from
    `start` to `stop`; strict unless told otherwise (by `strict` or, when that is None, `STRICT=0`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5000, strict: bool | None = None) -> None:
        self.host = host
        self.port = port
        self.strict = strict_from_environment() if strict is None else strict
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._mends = ExitStack()
        #: The origins whose browsers may read its answers (the stack adds the demo page's).
        self.browser_origins: set[str] = set()
        #: Judges each call by its signer's role once the stack has its roles (`guard.adopt`).
        self.guard = RoleGuard()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._mends.enter_context(moto_fixes.held_all())
        app = serialised(DomainDispatcherApplication(create_backend_app))
        if self.strict:
            app = refusing(app, guard=self.guard)
        app = browsers_from(app, self.browser_origins)
        try:
            # Bound here, so a taken port is an OSError as for the other servers (werkzeug would
            # print its own message and exit); werkzeug serves a copy of the socket.
            with socket.create_server((self.host, self.port)) as listening:
                self._server = make_server(
                    self.host,
                    self.port,
                    app,
                    threaded=True,
                    request_handler=_QuietHandler,
                    fd=listening.fileno(),
                )
        except BaseException:
            self._mends.close()
            raise
        self.port = self._server.port
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None and self._server is not None:
            self._server.shutdown()  # waits for serve_forever: only once it runs
            self._thread.join(timeout=5)
        if self._server is not None:
            self._server.server_close()
        self._mends.close()
        self.guard.close()
