"""The cold-start bench's processes still run: each handler makes exactly the AWS calls its stub
script answers (the child fails on a missing or an unused response) and answers without a 5xx.

Here they run in the development virtualenv with the layer's source, not as `make bench` runs
them (Python 3.13, the built layer): this checks that the bench works, not how fast it is.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks import cold_start, cold_start_child


@pytest.fixture(scope="module")
def bench_env() -> dict[str, str]:
    """The bench's environment (read from template.yaml once), with the layer's source on the path."""
    return {**cold_start.environment(), "PYTHONPATH": str(cold_start.ROOT / "layers" / "shared")}


@pytest.mark.parametrize("process", [*cold_start_child.REFERENCES, *cold_start.EVENT_FILES])
def test_bench_process_runs_its_example_against_its_stubs(process: str, bench_env: dict[str, str]) -> None:
    env = {**bench_env, "BENCH_EVENT_FILE": cold_start.EVENT_FILES.get(process, "")}
    done = subprocess.run(
        [sys.executable, "-s", str(cold_start.CHILD), process],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
