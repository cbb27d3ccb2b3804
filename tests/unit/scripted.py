"""What the unit tests of outbound HTTP share: a local server run in a thread, and an injected clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import TypeVar

Server = TypeVar("Server", bound=ThreadingHTTPServer)


@contextmanager
def serving(httpd: Server) -> Iterator[Server]:
    """`httpd` answering from a thread until the block ends."""
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


class FakeClock:
    """The injected clock and sleep: records each wait and moves time on, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def remaining(self, total: float) -> Callable[[], float]:
        """A deadline's `remaining()`: `total` seconds from time 0."""
        return lambda: total - self.now
