"""Outbound HTTP for every function: one `requests.Session` per process, urllib3's `Retry`, a deadline.

- Retried: connection and read errors, 429, 502, 503, 504, for every method POST included (callers
  send only requests that are safe to repeat, e.g. a chunk the server refuses or ignores twice).
- At most once: inside `with at_most_once()`, a request that may have reached the server (a read
  error, a dropped connection, any status but 429) is not sent again: a request that creates
  something (api.video's `POST /videos`) would create it twice. The caller finds out what became of
  it instead. Connection errors (nothing was sent) and 429s (refused unprocessed) are still retried.
- Waits: what `X-RateLimit-Retry-After` (api.video's header) or `Retry-After` says, else urllib3's
  exponential backoff with jitter.
- Deadline: inside `with deadline(remaining, margin)`, no wait and no timeout reaches past
  `remaining() - margin`. A longer wait raises `RetryLater(after_seconds)` at once, without sleeping,
  so the caller can save its progress and leave the work for a later invocation.
- Timeouts: every call gets (connect, read) timeouts even when the caller passes none.
- Replay: urllib3 resends the same body object on a retry, rewinding it with `seek(0)` when it has
  `tell()`; a streamed body must therefore be seekable (see `apivideo.body.ChunkBody`).
- Logs name method, host and path only, token-shaped words masked: query strings can carry
  credentials (`?token=`), and api.video's token routes carry one in the path. requests' own
  exception messages still hold the full URL: callers must not log them raw (apivideo doesn't).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse
from urllib3.util.retry import Retry

from upload_service.core.ids import mask
from upload_service.core.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

#: (connect, read) seconds for a call that names no timeout.
DEFAULT_TIMEOUT = (3.05, 60.0)
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
#: POST included: callers send only requests that are safe to repeat.
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST"})
#: Most specific first: api.video's own header, then the standard one.
RETRY_AFTER_HEADERS = ("X-RateLimit-Retry-After", "Retry-After")
#: The longest wait outside any `deadline(...)`: never hang a caller that set none.
MAX_WAIT_WITHOUT_DEADLINE = 30.0
#: Bytes urllib3 reads from a streamed body per socket send (its default, 16 KiB, costs throughput).
SEND_BLOCK_BYTES = 1024 * 1024

Sleep = Callable[[float], None]
Timeout = tuple[float, float]


class RetryLater(Exception):
    """Waiting `after_seconds` would pass the deadline (or the server still refuses): come back later."""

    def __init__(self, after_seconds: float, reason: str = "retry later") -> None:
        self.after_seconds = max(0.0, after_seconds)
        super().__init__(f"{reason}: retry after {self.after_seconds:.1f} s")


@dataclass
class Deadline:
    """How long this invocation may still wait; `retries` counts the retries made under it."""

    remaining: Callable[[], float]
    margin: float
    retries: int = 0

    def budget(self) -> float:
        return self.remaining() - self.margin


_DEADLINE: ContextVar[Deadline | None] = ContextVar("outbound_deadline", default=None)
_AT_MOST_ONCE: ContextVar[bool] = ContextVar("outbound_at_most_once", default=False)


@contextmanager
def deadline(remaining: Callable[[], float], margin: float) -> Iterator[Deadline]:
    """Bound every wait and timeout of the calls made inside to `remaining() - margin` seconds."""
    bound = Deadline(remaining, margin)
    token = _DEADLINE.set(bound)
    try:
        yield bound
    finally:
        _DEADLINE.reset(token)


@contextmanager
def at_most_once() -> Iterator[None]:
    """The calls made inside are not resent once they may have reached the server (see the module)."""
    token = _AT_MOST_ONCE.set(True)
    try:
        yield
    finally:
        _AT_MOST_ONCE.reset(token)


def lambda_remaining(context: LambdaContext) -> Callable[[], float]:
    """Seconds left in a Lambda invocation, for `deadline(...)`."""
    return lambda: float(context.get_remaining_time_in_millis()) / 1000


def wait_budget() -> float:
    """Seconds a call may still wait: up to the current deadline, or the fixed cap without one."""
    bound = _DEADLINE.get()
    return bound.budget() if bound else MAX_WAIT_WITHOUT_DEADLINE


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait (`X-RateLimit-Retry-After` first), None when it says nothing."""
    for name in RETRY_AFTER_HEADERS:
        seconds = _seconds(headers.get(name))
        if seconds is not None:
            return seconds
    return None


def _seconds(value: str | None) -> float | None:
    """A header's wait: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class BoundedRetry(Retry):
    """urllib3's Retry that reads api.video's header too and never sleeps past the deadline."""

    def __init__(self, *args: Any, sleep: Sleep = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep_fn = sleep

    def new(self, **kw: Any) -> Self:
        kw.setdefault("sleep", self.sleep_fn)  # Retry is copied on every increment
        return super().new(**kw)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """api.video sends `X-RateLimit-Retry-After` on every answer (when its rate window resets), so
        it says how long to wait only on a 429; other answers are judged by `Retry-After` alone."""
        if response.status == 429:
            return retry_after(response.headers)
        return _seconds(response.headers.get("Retry-After"))

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        wait = self.get_retry_after(response)
        if wait is None:
            return False
        self._bounded_sleep(wait)
        return True

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.respect_retry_after_header and response and self.sleep_for_retry(response):
            return
        self._bounded_sleep(self.get_backoff_time())

    def _bounded_sleep(self, wait: float) -> None:
        if wait > wait_budget():
            raise RetryLater(wait, "the wait would pass the deadline")
        if wait > 0:
            self.sleep_fn(wait)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if _AT_MOST_ONCE.get() and status_code != 429:
            return False  # it may have been processed: the caller finds out
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any) -> Self:
        error: Exception | None = kwargs.get("error", args[1] if len(args) > 1 else None)
        if _AT_MOST_ONCE.get() and error is not None and not self._is_connection_error(error):
            raise error  # the request may have reached the server: not sent again (as urllib3 re-raises)
        retry = super().increment(method, url, *args, **kwargs)
        _count_retry()
        last = retry.history[-1]
        pool = kwargs.get("_pool")
        logger.warning(
            "Retrying an outbound call",
            extra={
                "method": method,
                "host": getattr(pool, "host", None),
                "path": redacted(urlsplit(url or "").path),
                "status": last.status,
                "error": type(last.error).__name__ if last.error else None,
            },
        )
        return retry


def _count_retry() -> None:
    bound = _DEADLINE.get()
    if bound:
        bound.retries += 1


def default_retry(sleep: Sleep = time.sleep) -> BoundedRetry:
    return BoundedRetry(
        total=5,
        status_forcelist=RETRIED_STATUSES,
        allowed_methods=RETRIED_METHODS,
        backoff_factor=0.5,
        backoff_jitter=0.5,
        backoff_max=20,
        raise_on_status=False,  # the last response goes back to the caller, to read its problem document
        respect_retry_after_header=True,
        sleep=sleep,
    )


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter that gives every call a timeout, cut to the deadline, and a larger send block."""

    def __init__(self, retry: Retry, timeout: Timeout) -> None:
        self.default_timeout = timeout
        super().__init__(max_retries=retry)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block=block, blocksize=SEND_BLOCK_BYTES, **kwargs)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        bounded = bounded_timeout(self._pair(timeout))
        return super().send(request, stream, bounded, verify, cert, proxies)

    def _pair(self, timeout: float | tuple[float, float] | tuple[float, None] | None) -> Timeout:
        connect, read = self.default_timeout
        if isinstance(timeout, tuple):
            return timeout[0] or connect, timeout[1] or read
        return (timeout, timeout) if timeout else (connect, read)


def bounded_timeout(timeout: Timeout) -> Timeout:
    """The timeout cut to the deadline; a deadline already passed sends nothing (RetryLater(0))."""
    budget = wait_budget()
    if budget <= 0:
        raise RetryLater(0.0, "no time left before the deadline")
    connect, read = timeout
    return min(connect, budget), min(read, budget)


def build_session(
    *, timeout: Timeout = DEFAULT_TIMEOUT, retry: Retry | None = None, sleep: Sleep = time.sleep
) -> requests.Session:
    """A Session whose every call retries, waits within the deadline and times out."""
    adapter = BoundedAdapter(retry or default_retry(sleep), timeout)
    http = requests.Session()
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


@cache
def session() -> requests.Session:
    """The process's Session: its connection pools outlive invocations."""
    return build_session()


def redacted(text: str) -> str:
    """A request target fit for a log: no query string (`?token=`), upload tokens masked (in paths)."""
    return _TOKEN_SHAPED.sub(lambda found: mask(found.group()), _QUERY.sub("?…", text))


_QUERY = re.compile(r"\?[^\s'\"]*")
_TOKEN_SHAPED = re.compile(r"(?<![0-9A-Za-z])to[0-9A-Za-z]{22}(?![0-9A-Za-z])")


class _TargetRedactor(logging.Filter):
    """urllib3 logs request targets at DEBUG: redact them as ours are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redacted(a) if isinstance(a, str) else a for a in record.args)
        return True


for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_TargetRedactor())
