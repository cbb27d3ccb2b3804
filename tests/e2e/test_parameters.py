"""`make dev` with parameters CloudFormation would refuse (a constraint, a template rule): it stops
with CloudFormation's reason, before anything is made, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.stack import DEFAULT_PORTS
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ("RecordRetentionDays=3", "Parameter 'RecordRetentionDays' failed to satisfy constraint: must be 15"),
        (
            "AlarmEmail=ops@example.com AlarmTopicArn=arn:aws:sns:eu-west-1:123456789012:ops",
            "OneAlarmDestination: Give AlarmEmail or AlarmTopicArn, not both.",
        ),
    ],
)
def test_parameters_cloudformation_refuses_stop_make_dev(overrides: str, reason: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        **{name: "0" for name in DEFAULT_PORTS},
        "PARAMETER_OVERRIDES": overrides,
        "STACK_FILE": str(tmp_path / "stack.json"),
    }

    started = subprocess.run(
        [sys.executable, "-m", "local_stack"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )

    said = started.stdout + started.stderr
    assert started.returncode == 1, said
    assert reason in started.stderr, said
    assert "Traceback" not in said, said
    assert not (tmp_path / "stack.json").exists()
