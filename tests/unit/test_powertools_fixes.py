"""The local stack's mends of Powertools (local_stack/powertools_fixes.py): what is per execution
environment on AWS (a process) is per thread in the local stack, where invocations are threads."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from local_stack.functions import LambdaContext
from local_stack.powertools_fixes import logger_keys_per_thread


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


def logged_function_names(capsys: pytest.CaptureFixture[str]) -> list[str]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return sorted(line["function_name"] for line in lines if line["message"] == "working")


def test_two_invocations_at_once_log_their_own_function_names(capsys: pytest.CaptureFixture[str]) -> None:
    logger = Logger(service="mended")

    with logger_keys_per_thread.held():
        two_invocations_at_once(logger)

    assert logged_function_names(capsys) == ["First", "Second"]


def test_without_the_mend_one_invocation_logs_the_others_name(capsys: pytest.CaptureFixture[str]) -> None:
    """What the mend is for: Powertools' keys are the process's, so the later context wins for both."""
    logger = Logger(service="unmended")

    two_invocations_at_once(logger)

    names = logged_function_names(capsys)
    assert len(names) == 2 and len(set(names)) == 1, names
