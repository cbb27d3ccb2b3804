"""IAM decisions from @cloud-copilot/iam-simulate: one long-lived `node simulate.mjs` speaking JSON lines,
shared by every thread (requests carry ids; a reader thread hands each answer to the caller awaiting it)."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from local_stack.iam.model import ACCOUNT_ID, Authorization, Decision, NamedPolicy

SCRIPT = Path(__file__).with_name("simulate.mjs")
PACKAGE = SCRIPT.parent / "node_modules" / "@cloud-copilot" / "iam-simulate"
INSTALL_HINT = "run `make dev`, or `npm ci` in local_stack/iam"
#: How AWS names the policy type that denied a request (troubleshoot_access-denied.html).
_POLICY_TYPES = {"identity": ("an", "identity-based policy"), "resource": ("a", "resource-based policy")}

_CacheKey = tuple[str, Authorization, bytes]


class PolicySimulator:
    """Judges authorizations as IAM would, for principals and resources of the one local account."""

    def __init__(self, cache_size: int = 10_000, timeout: float = 30.0) -> None:
        self._cache: OrderedDict[_CacheKey, Decision] = OrderedDict()
        self._cache_size = cache_size
        self._timeout = timeout
        self._lock = threading.Lock()  # the node process, its stdin and the answers awaited
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._ids = itertools.count()
        self._stopped: str | None = None  # why node no longer answers, once it does not
        #: Requests sent to node: a decision from the cache adds none.
        self.requests_sent = 0

    def start(self) -> None:
        """Start node now rather than at the first decision (its start-up is then not a decision's)."""
        with self._lock:
            self._start()

    def decide(
        self,
        principal: str,
        authorization: Authorization,
        identity_policies: Sequence[NamedPolicy],
        resource_policy: dict[str, Any] | None = None,
    ) -> Decision:
        """Whether `principal` (an ARN in the local account) may do `authorization` under these policies.

        Raises ValueError when iam-simulate finds the question itself wrong (an unknown action, a resource
        the action does not take, a context key the action does not know, an invalid policy), or when the
        principal is not of the local account (iam-simulate would judge it by cross-account rules)."""
        if principal.split(":")[4:5] != [ACCOUNT_ID]:
            raise ValueError(f"{principal!r} is not a principal ARN of the local account {ACCOUNT_ID}")
        policies = [{"name": policy.name, "policy": policy.document} for policy in identity_policies]
        policy_set = json.dumps([policies, resource_policy], sort_keys=True).encode()
        key = (principal, authorization, hashlib.blake2b(policy_set, digest_size=16).digest())
        with self._lock:
            if (cached := self._cache.get(key)) is not None:
                self._cache.move_to_end(key)
                return cached
        answer = self._ask(
            {
                "principal": principal,
                "action": authorization.action,
                "resource": authorization.resource,
                "context": dict(authorization.context),
                "identityPolicies": policies,
                "resourcePolicy": resource_policy,
            }
        )
        if "error" in answer:
            raise RuntimeError(f"simulate.mjs failed on {authorization}: {answer['error']}")
        if "errors" in answer or answer["ignoredContextKeys"]:
            problem = answer.get("errors") or {"contextKeysUnknownToTheAction": answer["ignoredContextKeys"]}
            raise ValueError(f"iam-simulate rejects {authorization}: {json.dumps(problem)}")
        decision = Decision(
            allowed=answer["result"] == "Allowed",
            result=answer["result"],
            message=_access_denied(principal, authorization, answer["result"], answer["deniedBy"]),
        )
        with self._lock:
            self._cache[key] = decision
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return decision

    def close(self) -> None:
        """Close node's stdin (it exits when its last answer is out) and wait for it."""
        with self._lock:
            process, self._process = self._process, None
            self._stopped = "the simulator is closed"
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> PolicySimulator:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _start(self) -> None:
        if self._process is not None or self._stopped is not None:
            return
        node = shutil.which("node")
        if node is None:
            raise RuntimeError(f"node is not on PATH: install Node.js 20+, then {INSTALL_HINT}")
        if not PACKAGE.is_dir():
            raise RuntimeError(f"@cloud-copilot/iam-simulate is not installed: {INSTALL_HINT}")
        self._process = subprocess.Popen(  # noqa: S603 - node and a script of this package
            [node, str(SCRIPT)],
            cwd=SCRIPT.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        reader = threading.Thread(
            target=self._read_answers,
            args=(self._process.stdout, self._process.stderr),
            name="iam-simulate-answers",
            daemon=True,
        )
        reader.start()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        answer: Future[dict[str, Any]] = Future()
        with self._lock:
            self._start()
            if self._stopped is not None or self._process is None:
                raise RuntimeError(f"iam-simulate does not answer: {self._stopped}")
            request_id = next(self._ids)
            self._pending[request_id] = answer
            assert self._process.stdin is not None
            try:
                self._process.stdin.write(json.dumps({"id": request_id, **request}).encode() + b"\n")
                self._process.stdin.flush()
            except OSError as error:  # node is gone; the reader fails the others waiting
                del self._pending[request_id]
                raise RuntimeError(f"iam-simulate does not answer: {error}") from error
            self.requests_sent += 1
        try:
            return answer.result(timeout=self._timeout)
        except TimeoutError:
            with self._lock:
                self._pending.pop(request_id, None)
            raise RuntimeError(f"iam-simulate gave no answer in {self._timeout} s") from None

    def _read_answers(self, answers: IO[bytes], errors: IO[bytes]) -> None:
        """Hand each answer to its caller; when node's output ends, fail those still waiting."""
        for line in answers:
            reply = json.loads(line)
            with self._lock:
                waiting = self._pending.pop(reply["id"], None)
            if waiting is not None:
                waiting.set_result(reply)
        stderr = errors.read().decode(errors="replace").strip()
        with self._lock:
            self._stopped = self._stopped or f"node exited: {stderr or 'no message'}"
            waiting_callers, self._pending = list(self._pending.values()), {}
        for waiting in waiting_callers:
            waiting.set_exception(RuntimeError(f"iam-simulate does not answer: {self._stopped}"))


def _access_denied(principal: str, authorization: Authorization, result: str, denied_by: str | None) -> str:
    """AWS's AccessDenied message ("" when allowed); S3 quotes the resource ARN, other services do not."""
    if result == "Allowed":
        return ""
    action = authorization.action
    resource = f'"{authorization.resource}"' if action.startswith("s3:") else authorization.resource
    article, policy_type = _POLICY_TYPES[denied_by or "identity"]
    because = (
        f"with an explicit deny in {article} {policy_type}"
        if result == "ExplicitlyDenied"
        else f"because no {policy_type} allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {resource} {because}"
