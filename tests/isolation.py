"""What a test may not leave behind in the test process: an environment variable, a mend of a
library (local_stack/patching.py), an entry in a process cache, a thread (a server) still running,
a logger set otherwise (a level, a handler: api.video's client quiets urllib3's logger for good).

tests/conftest.py checks it around every test (`nothing_left_behind`), so a test that leaks fails
itself, in whatever order or process it runs, instead of failing some later test by chance.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_stack.patching import installed_mends

#: Set by pytest itself, to the test it is running.
PYTEST_OWN = frozenset({"PYTEST_CURRENT_TEST"})
#: Threads a wider fixture owns though they start during a test: the executor of Playwright's event
#: loop (tests/browser's module-wide browser) starts at a page's first use and ends with the loop.
OWNED_ELSEWHERE = ("asyncio_",)
#: How long a thread a test started may take to end after it (a server's shutdown, a pool's exit).
THREAD_GRACE_SECONDS = 10


def process_caches() -> dict[str, Any]:
    """The layer's per-process caches, as on a warm Lambda: each is built from the environment once."""
    from upload_service.core import aws, outbound, storage
    from upload_service.core.config import get_settings
    from upload_service.data import table
    from upload_service.forwarding.apivideo import client as apivideo_client

    return {
        "config.get_settings": get_settings,
        "aws.client": aws.client,
        "aws.copy_client": aws.copy_client,
        "data.table.default_store": table.default_store,
        "storage.default_storage": storage.default_storage,
        "outbound.session": outbound.session,
        "apivideo.client": apivideo_client,
    }


def parameter_providers() -> dict[str, Any]:
    """Powertools' Parameters providers, one per kind and process: each holds a boto3 client made
    with the environment of its first use (its endpoint, its credentials)."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    return DEFAULT_PROVIDERS


def cache_sizes() -> dict[str, int]:
    sizes = {name: cached.cache_info().currsize for name, cached in process_caches().items()}
    return {**sizes, "powertools parameter providers": len(parameter_providers())}


def clear_process_caches() -> None:
    for cached in process_caches().values():
        cached.cache_clear()
    parameter_providers().clear()


@dataclass(frozen=True)
class ProcessState:
    environment: dict[str, str]
    mends: tuple[str, ...]
    cached: dict[str, int]
    threads: frozenset[threading.Thread]
    loggers: dict[str, tuple[int, bool, bool, int]]

    @classmethod
    def now(cls) -> ProcessState:
        return cls(
            environment={name: value for name, value in os.environ.items() if name not in PYTEST_OWN},
            mends=tuple(installed_mends()),
            cached=cache_sizes(),
            threads=frozenset(threading.enumerate()),
            loggers={
                name: (logger.level, logger.propagate, logger.disabled, len(logger.handlers))
                for name, logger in [("", logging.getLogger()), *logging.Logger.manager.loggerDict.items()]
                if isinstance(logger, logging.Logger)
            },
        )

    def left_behind(self, caches_may_grow: bool) -> list[str]:
        """What differs now from this state (new threads are given a grace to end first)."""
        later = self._after_threads_end()
        found = [
            f"environment variable {name}: {self.environment.get(name)!r} -> {later.environment.get(name)!r}"
            for name in sorted(set(self.environment) | set(later.environment))
            if self.environment.get(name) != later.environment.get(name)
        ]
        if later.mends != self.mends:
            found.append(f"mends installed: {list(self.mends)} -> {list(later.mends)}")
        if not caches_may_grow:
            found += [
                f"process cache {name}: {self.cached[name]} -> {size} entries"
                for name, size in later.cached.items()
                if size > self.cached[name]
            ]
        found += [f"thread still running: {thread.name}" for thread in later._new_threads(self)]
        found += [
            f"logger {name or 'root'!r} (level, propagate, disabled, handlers): "
            f"{setting} -> {later.loggers[name]}"
            for name, setting in self.loggers.items()
            if later.loggers.get(name, setting) != setting
        ]
        return found

    def _after_threads_end(self) -> ProcessState:
        deadline = time.monotonic() + THREAD_GRACE_SECONDS
        later = ProcessState.now()
        while later._new_threads(self) and time.monotonic() < deadline:
            time.sleep(0.05)
            later = ProcessState.now()
        return later

    def _new_threads(self, earlier: ProcessState) -> list[threading.Thread]:
        return [
            thread for thread in self.threads - earlier.threads if not thread.name.startswith(OWNED_ELSEWHERE)
        ]


@contextmanager
def loggers_as_they_were(*names: str) -> Iterator[None]:
    """Put these loggers' levels back after the block: api.video's official client sets urllib3's
    logger (and its own) to WARNING for the whole process when it is configured."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
