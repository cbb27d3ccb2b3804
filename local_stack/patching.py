"""Changes to a library's code in place, each undone by whoever made it.

The local stack mends moto and Powertools where they fall short of AWS or of a long-running server
(`moto_fixes`, `powertools_fixes`). A mend is held, not installed: the local stack holds its mends
for as long as it runs, a test for as long as it needs them, and the last holder out puts the
library back as it was. (A unit test of the emulator used to leave moto mended for every test that
ran after it in the same process.) Two holders at once in one process, as two emulators of a
benchmark, share one installation instead of undoing each other's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, ClassVar
from unittest import mock

Installer = Callable[[ExitStack], None]


def replace(undo: ExitStack, owner: Any, name: str, value: Any) -> Any:
    """Set `owner.name` to `value` until `undo` closes; returns what was there before."""
    original = getattr(owner, name)
    undo.enter_context(mock.patch.object(owner, name, value))
    return original


class Mend:
    """One change to a library, installed while anybody holds it (`with mend.held(): ...`)."""

    #: Every mend made, so tests can check that none outlives its holder (tests/conftest.py).
    all: ClassVar[list[Mend]] = []

    def __init__(self, install: Installer, register: bool = True) -> None:
        self.name = install.__name__
        self.install = install
        self._lock = threading.Lock()
        self._holders = 0
        self._undo: ExitStack | None = None
        if register:
            Mend.all.append(self)

    @property
    def installed(self) -> bool:
        return self._holders > 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                undo = ExitStack()
                try:
                    self.install(undo)
                except BaseException:
                    undo.close()
                    raise
                self._undo = undo
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._undo is not None:
                    self._undo.close()
                    self._undo = None


def mend(install: Installer) -> Mend:
    """Decorator: `install(undo)` makes the change and registers how to reverse it on `undo`."""
    return Mend(install)


def installed_mends() -> list[str]:
    """The names of the mends installed in this process now."""
    return [each.name for each in Mend.all if each.installed]
