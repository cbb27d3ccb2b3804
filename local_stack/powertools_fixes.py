"""Where Powertools assumes one request per process, which the local stack does not give it.

`logger_keys_per_thread` does the same for the Logger's keys (below).

Powertools' event handler keeps the request being resolved in class attributes of `BaseRouter`
(`current_event`, `lambda_context`): one per process, which on AWS is one request at a time per
execution environment. The local stack runs every function's invocations as threads of one
process, so two concurrent requests read each other's event (two `GET /s3/params` for a.mp4 and
b.mp4 got keys of one name). `route_state_per_thread` makes both per thread, as they are per
execution environment on AWS. It is a mend (local_stack/patching.py): whoever runs functions
concurrently in one process holds it (the local stack, the tests' in-process invocations).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from local_stack.patching import mend, replace


class _PerThread:
    """A class attribute whose value belongs to the thread that set it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values = threading.local()

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            return self.values.value
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: Any, value: Any) -> None:
        self.values.value = value


_MISSING = object()


@mend
def route_state_per_thread(undo: ExitStack) -> None:
    """The request state of every Powertools resolver, per thread (the class is patched in place)."""
    names = ("current_event", "lambda_context")
    metaclass = type(BaseRouter)
    before = {name: vars(BaseRouter).get(name, _MISSING) for name in names}
    state = {name: _PerThread(name) for name in names}

    def put_back() -> None:
        BaseRouter.__class__ = metaclass  # type: ignore[method-assign,assignment]
        for name, value in before.items():
            if value is _MISSING:
                delattr(BaseRouter, name)
            else:
                setattr(BaseRouter, name, value)

    for name, descriptor in state.items():
        setattr(BaseRouter, name, descriptor)  # instances read and write it through the class
    # `BaseRouter.current_event = ...` (class-level) goes through the metaclass's data descriptor
    BaseRouter.__class__ = type("PerThreadRouterMeta", (metaclass,), state)  # type: ignore[method-assign]
    undo.callback(put_back)


@mend
def logger_keys_per_thread(undo: ExitStack) -> None:
    """The keys Powertools' Logger appends for an invocation (its Lambda context, its correlation id),
    per thread: `inject_lambda_context` appends them to the one Logger of the process, so two
    functions invoked at once in the local stack logged each other's `function_name`."""

    def append_keys(self: Logger, **keys: object) -> None:
        self.thread_safe_append_keys(**keys)

    def remove_keys(self: Logger, keys: Iterable[str]) -> None:
        self.thread_safe_remove_keys(keys)

    replace(undo, Logger, "append_keys", append_keys)
    replace(undo, Logger, "remove_keys", remove_keys)
