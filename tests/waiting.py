"""Waiting in tests: for a condition, never for a fixed time sized on an idle machine.

A wait ends as soon as its condition holds, so a generous ceiling costs a passing test nothing;
only a failing one pays it. `PATIENCE` (120 s; `TEST_PATIENCE_SECONDS` changes it) is that ceiling
for what the service does on its own time (a decision, a copy to media/, an event, a forward): a
busy machine makes such a test slower, never red. Where a duration is the point (a latency, a
throughput), it is measured in benchmarks/, not asserted here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = float(os.environ.get("TEST_PATIENCE_SECONDS", "120"))


def eventually(
    probe: Callable[[], T],
    until: Callable[[T], object] = bool,
    *,
    what: str,
    timeout: float = PATIENCE,
    interval: float = 0.1,
) -> T:
    """`probe()` again and again until `until` holds for what it returns, and return that; after
    `timeout` seconds, fail with `what` and the last answer (timeout 0: probe once)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = probe()
        if until(seen):
            return seen
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s; last seen: {seen!r:.1000}")
        time.sleep(interval)
