"""What shapes the double's answers besides its logic: api.video's per-minute rate limits, and the
faults a test scripts (429s, 5xx, a problem body, a response lost after the request took effect)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local_stack.video_double.problems import Problem, server_error, too_many_requests

WINDOW_SECONDS = 60
#: Route groups a fault can target (`None`: any route but the control routes).
ROUTE_GROUPS = ("auth", "upload-tokens", "upload", "videos")
METHODS = ("GET", "POST", "DELETE")


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    retry_after: int
    allowed: bool = True

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Retry-After": str(self.retry_after),
        }


class RateLimiter:
    """A fixed one-minute window per bucket (`upload`: upload requests; `api`: the rest), as api.video
    counts: the window starts with its first request and resets a minute later."""

    def __init__(self, limits: dict[str, int], clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # bucket -> (window start, requests counted)

    def take(self, bucket: str) -> RateState:
        """Counts one request if the window has room; `allowed` False (and nothing counted) if not."""
        return self._state(bucket, count=True)

    def peek(self, bucket: str) -> RateState:
        return self._state(bucket, count=False)

    def _state(self, bucket: str, count: bool) -> RateState:
        with self._lock:
            now = self._clock()
            started, used = self._windows.get(bucket, (now, 0))
            if now - started >= WINDOW_SECONDS:
                started, used = now, 0
            limit = self.limits[bucket]
            allowed = used < limit
            if count:
                used += allowed
                self._windows[bucket] = (started, used)
            retry_after = max(1, math.ceil(started + WINDOW_SECONDS - now))
            return RateState(limit, limit - used, retry_after, allowed if count else True)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


@dataclass
class Fault:
    """The next `times` requests of `route` (None: any), of `method` (None: any), get this answer
    instead of the real one.

    `lose_response`: the request is handled as usual (a chunk is stored, a video created), then the
    connection is closed without an answer, as when a response is lost on the way back.
    """

    times: int = 1
    route: str | None = "upload"
    status: int | None = None
    retry_after: int | None = None
    body: dict[str, Any] | None = None
    lose_response: bool = False
    method: str | None = None

    def __post_init__(self) -> None:
        if self.route is not None and self.route not in ROUTE_GROUPS:
            raise ValueError(f"route must be one of {ROUTE_GROUPS} or None, not {self.route!r}")
        if self.times < 1:
            raise ValueError("times must be 1 or more")
        if self.lose_response == (self.status is not None):
            raise ValueError("a fault is either a status or a lost response")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("a fault's status is a 4xx or 5xx")
        if self.method is not None and self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS} or None, not {self.method!r}")

    def matches(self, route: str, method: str) -> bool:
        return self.route in (None, route) and self.method in (None, method)

    def problem(self, rate: RateState) -> Problem:
        """The answer: the scripted body, or api.video's own for that status."""
        assert self.status is not None
        retry = {} if self.retry_after is None else {"X-RateLimit-Retry-After": str(self.retry_after)}
        if self.status == 429:
            problem = too_many_requests({**rate.headers(), "X-RateLimit-Remaining": "0", **retry})
        elif self.status >= 500:
            problem = server_error(self.status)
        else:
            problem = Problem(self.status, "invalid-attribute", "An attribute is invalid.", name="file")
        problem.headers = {**problem.headers, **retry}
        problem.body = self.body
        return problem

    def stats(self) -> dict[str, Any]:
        return {
            "times": self.times,
            "route": self.route,
            "status": self.status,
            "retryAfter": self.retry_after,
            "body": self.body,
            "loseResponse": self.lose_response,
            "method": self.method,
        }


class Faults:
    """Scripted faults, used up in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._pending.append(fault)

    def take(self, route: str, method: str) -> Fault | None:
        """The first pending fault for `route` and `method`, one use of it spent."""
        with self._lock:
            for fault in self._pending:
                if fault.matches(route, method):
                    fault.times -= 1
                    if fault.times == 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.stats() for fault in self._pending]
