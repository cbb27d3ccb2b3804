"""Ctrl-C stops `make dev`, whichever of its threads the kernel hands the signal to.

A process-wide signal goes to any thread that does not block it. Python runs its handler in the main
thread, when that thread next runs Python code: a main thread asleep in a wait without a timeout
never does, and the stack stayed up (seen under load, where worker threads are busy).
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import running_stack
from tests.waiting import eventually


def tgkill(pid: int, thread_id: int, signal_number: int) -> None:
    """The signal to that one thread of the process (glibc's tgkill)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, thread_id, signal_number) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc/<pid>/task")
def test_a_ctrl_c_that_reaches_a_worker_thread_stops_the_stack(tmp_path: Path) -> None:
    with running_stack(tmp_path, "") as stack:
        # given the stack's threads, the main one aside
        threads = [int(task.name) for task in Path(f"/proc/{stack.pid}/task").iterdir()]
        workers = [thread for thread in threads if thread != stack.pid]
        assert workers

        # when the kernel hands Ctrl-C's signal to one of them
        tgkill(stack.pid, workers[-1], signal.SIGINT)

        # then the stack stops, and exits (the fixture's own SIGINT then finds it gone)
        started = time.monotonic()
        eventually(stack.log.read_text, lambda log: "\nstopped\n" in log, what="the stack stopped")
        eventually(
            lambda: state_of(stack.pid), lambda state: state in ("Z", "gone"), what="the process exited"
        )
        print(f"stopped {time.monotonic() - started:.1f} s after the signal")


def state_of(pid: int) -> str:
    """The process's state letter (`Z`: exited, not yet reaped by its parent), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
