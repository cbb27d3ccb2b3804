"""Least privilege: which of each role's grants the calls judged here used, which none did, and what
was refused. A grant is one action of one statement of a role's own (inline) policies, on one of
its resources; AWS's managed policies are not ours to trim.

Each stack writes its record when it stops (`write`, into `IAM_USAGE_DIR` if set); `merged` adds up
the records of every stack of a test run, by template statement (stacks' resource names differ).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from local_stack.iam.deployed import Role
from local_stack.iam.model import Authorization

#: One grant: function, policy name, statement number, action, resource number.
Grant = tuple[str, str, int, str, int]


@cache
def _matcher(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _grants(role: Role) -> dict[Grant, tuple[str, str]]:
    """Each grant of the role's inline policies, with its action and resource pattern."""
    grants = {}
    for policy in role.policies:
        if policy.name.startswith(("AWS", "Amazon")):  # a managed policy (local_stack/iam/managed.py)
            continue
        for number, statement in enumerate(policy.document.get("Statement", [])):
            if statement.get("Effect") != "Allow":
                continue
            for action in _listed(statement.get("Action", [])):
                for index, resource in enumerate(_listed(statement.get("Resource", []))):
                    grants[(role.function, policy.name, number, action, index)] = (action, resource)
    return grants


class Usage:
    def __init__(self) -> None:
        self._grants: dict[str, dict[Grant, tuple[str, str]]] = {}
        self.used: set[Grant] = set()
        self.denied: dict[str, int] = {}
        self._lock = threading.Lock()

    def adopt(self, roles: Iterable[Role]) -> None:
        self._grants = {role.function: _grants(role) for role in roles}

    def record(self, role: Role, authorization: Authorization, allowed: bool) -> None:
        if not allowed:
            key = f"{role.function} {authorization.action} {authorization.resource}"
            with self._lock:
                self.denied[key] = self.denied.get(key, 0) + 1
            return
        for grant, (action, resource) in self._grants.get(role.function, {}).items():
            if grant in self.used:
                continue
            if _matcher(action).fullmatch(authorization.action) and _matcher(resource).fullmatch(
                authorization.resource
            ):
                with self._lock:
                    self.used.add(grant)

    def report(self) -> dict[str, Any]:
        """Every grant, used or not, and every denial, as JSON."""
        with self._lock:
            return {
                "grants": [
                    {"grant": list(grant), "used": grant in self.used}
                    for grants in self._grants.values()
                    for grant in grants
                ],
                "denied": dict(self.denied),
            }

    def report_at_stop(self) -> None:
        """One line in the stack's log (grants used, calls refused); the whole record into
        `IAM_USAGE_DIR` when that is set (a test run adds up its stacks' records: tests/conftest.py)."""
        if not self._grants:
            return
        record = self.report()
        used = sum(grant["used"] for grant in record["grants"])
        refused = sum(record["denied"].values())
        sys.stderr.write(f"IAM: {used} of {len(record['grants'])} grants used, {refused} calls refused\n")
        if directory := os.environ.get("IAM_USAGE_DIR"):
            Path(directory).mkdir(parents=True, exist_ok=True)
            (Path(directory) / f"iam-usage-{os.getpid()}.json").write_text(
                json.dumps(record, indent=1) + "\n"
            )


def merged(paths: Iterable[Path]) -> dict[str, Any]:
    """Several stacks' records as one: a grant is used if any stack used it."""
    used: dict[tuple[Any, ...], bool] = {}
    denied: dict[str, int] = {}
    for path in paths:
        record = json.loads(path.read_text())
        for grant in record["grants"]:
            key = tuple(grant["grant"])
            used[key] = used.get(key, False) or grant["used"]
        for key, count in record["denied"].items():
            denied[key] = denied.get(key, 0) + count
    return {
        "unused": sorted(" ".join(map(str, key)) for key, was in used.items() if not was),
        "used": sum(used.values()),
        "denied": denied,
    }
