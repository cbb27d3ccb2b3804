"""`make dev` on a machine where a port it needs is taken (port 5000 is AirPlay's on recent Macs):
it stops with one line naming the port and the variable that moves it, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.stack import DEFAULT_PORTS
from tests.conftest import ROOT


@pytest.mark.parametrize("variable", sorted(DEFAULT_PORTS))
def test_a_taken_port_is_named_with_the_variable_that_moves_it(variable: str, tmp_path: Path) -> None:
    # given another program listening on the port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            **{name: "0" for name in DEFAULT_PORTS},
            variable: str(port),
            "STACK_FILE": str(tmp_path / "stack.json"),
        }

        # when the local stack starts as `make dev` starts it
        started = subprocess.run(
            [sys.executable, "-m", "local_stack"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    # then it says which port and which variable, and stops cleanly without a traceback
    said = started.stdout + started.stderr
    assert started.returncode == 1, said
    assert f"port {port} is in use" in started.stderr, said
    assert f"{variable}={port + 1} make dev" in started.stderr, said
    assert "Traceback" not in said, said
    assert not (tmp_path / "stack.json").exists()


@pytest.mark.parametrize("value", ["http", "-1", "70000"])
def test_a_port_that_is_not_a_number_is_refused_by_name(value: str, tmp_path: Path) -> None:
    env = {**os.environ, "API_PORT": value, "STACK_FILE": str(tmp_path / "stack.json")}

    started = subprocess.run(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert started.returncode == 1
    assert f"API_PORT={value!r} is not a port" in started.stderr
    assert "Traceback" not in started.stderr
