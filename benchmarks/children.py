"""Child processes of a benchmark: `python benchmarks/children.py <module> <function> <json>` runs
`<module>.<function>(args)` in a fresh process, so what it measures (its time, its memory) is its
own, and a mock or a cached setting stays out of the caller.

A child answers one line on its stdout, `ANSWER` and JSON (anything else there is a log line of the
code under test): a server where it listens, then serves until its stdin closes; a worker its
result, then ends.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: What starts a child's answer line on its stdout.
ANSWER = "@bench-answer "


def paths() -> None:
    """The layer, the repository (local_stack, tests) and benchmarks/ importable, as in a child."""
    for path in (str(ROOT / "layers" / "shared"), str(ROOT), str(ROOT / "benchmarks")):
        if path not in sys.path:
            sys.path.insert(0, path)


class Child:
    """`function` of benchmarks/`module`.py in a process of its own, with `env` on top of ours."""

    def __init__(self, module: str, function: str, args: dict[str, Any], env: dict[str, str]) -> None:
        self.name = f"{module}.{function}"
        self.process = subprocess.Popen(
            [sys.executable, __file__, module, function, json.dumps(args)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(ANSWER):
                self.answer: dict[str, Any] = json.loads(line.removeprefix(ANSWER))
                return
            sys.stderr.write(line)  # a log line of the code under test
        self.process.wait(timeout=30)
        raise RuntimeError(f"the {self.name} child failed (exit {self.process.returncode})")

    def stop(self) -> None:
        """Closes its stdin (a server stops) and waits for it to end."""
        try:
            rest, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
        sys.stderr.write(rest or "")


def run_child(module: str, function: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """A worker's answer."""
    child = Child(module, function, args, env)
    child.stop()
    if child.process.returncode:
        raise RuntimeError(f"the {child.name} child failed (exit {child.process.returncode})")
    return child.answer


def answer(answer: dict[str, Any]) -> None:
    """In the child: its answer line."""
    print(ANSWER + json.dumps(answer), flush=True)


def serve_until_stdin_closes(where: dict[str, Any]) -> None:
    """In a server child: says where it listens, then waits for the parent to close its stdin."""
    answer(where)
    sys.stdin.read()


if __name__ == "__main__":
    paths()
    module, function, arguments = sys.argv[1:]
    getattr(importlib.import_module(module), function)(json.loads(arguments))
