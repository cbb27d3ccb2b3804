"""The local stack's mends of Powertools (local_stack/powertools_fixes.py): what is per execution
environment on AWS (a process) is per thread in the local stack, where invocations are threads."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from local_stack.functions import LambdaContext
from local_stack.powertools_fixes import logger_keys_per_thread
from tests.conftest import ROOT


def two_invocations_at_once(logger: Logger) -> None:
    """Two functions' handlers, decorated as ours are, each logging after both have started."""
    both_started = threading.Barrier(2)

    def handler(event: dict[str, Any], context: Any) -> None:
        both_started.wait(timeout=30)
        logger.info("working")

    decorated = logger.inject_lambda_context(handler)
    threads = [
        threading.Thread(target=decorated, args=({}, LambdaContext(name, 128, 3)))
        for name in ("First", "Second")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def function_names_in(output: str) -> list[str]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return sorted(line["function_name"] for line in lines if line["message"] == "working")


def test_two_invocations_at_once_log_their_own_function_names(capsys: pytest.CaptureFixture[str]) -> None:
    logger = Logger(service="mended")

    with logger_keys_per_thread.held():
        two_invocations_at_once(logger)

    assert function_names_in(capsys.readouterr().out) == ["First", "Second"]


def test_without_the_mend_one_invocation_logs_the_others_name() -> None:
    """What the mend is for: Powertools' keys are the process's, so the later context wins for both.
    In a process of its own: this one may hold the mend (the in-process invocations of other tests)."""
    script = (
        "from aws_lambda_powertools import Logger\n"
        "from tests.unit.test_powertools_fixes import two_invocations_at_once\n"
        "two_invocations_at_once(Logger(service='unmended'))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )

    names = function_names_in(ran.stdout)
    assert len(names) == 2 and len(set(names)) == 1, names
