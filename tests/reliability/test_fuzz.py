"""Property-based fuzz of the running local stack against its own OpenAPI document (schemathesis).

Every operation of `/openapi.json` gets schema-valid (positive) and schema-invalid (negative)
requests, signed in once as a normal user and once as an admin. No response may be a 5xx, and
every response must conform to the document: a documented status code and content type, a body
valid against the schema, and the documented headers present and well-typed.

The stack runs with RateLimitPerMinute=40 and MaxActiveTokensPerUser=5 (tests/conftest.py), so
a fresh user takes over every few requests (429 and 403 are documented, but would hide everything
behind them). Each fresh user first mints one real token, and a share of the cases of an
operation that takes a token use a real one (as `{uploadToken}`, or as `POST /upload?token=`),
so the success answers are checked too, not only the 404s that generated token ids get. Negative
cases in which schemathesis leaves out the Authorization header get the gateway's 401.

Bounded and repeatable: at most EXAMPLES cases per operation, generation mode and role (140 in
all, about 2 s per role), derandomized, no shrinking, no example database. A failure is reported
with a curl command (schemathesis masks the token and the JWT in it) and whether the token in it
was a real one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Stack, User

Operation = APIOperation[Any, Any, Any, Any]

#: Cases per (operation, generation mode, role): 5 operations x 2 modes x 2 roles x 7 = 140 at most.
EXAMPLES = 7
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: Signed-in requests one user sends before a fresh one takes over (RateLimitPerMinute is 40).
REQUESTS_PER_USER = 15
#: Stands for "the current user's real token" in generated cases; replaced just before sending.
REAL_TOKEN = "REAL-TOKEN"
#: A declaration `POST /upload` accepts (AllowedContentTypes is not in the document), so some
#: cases get an upload target (or, past UploadsPerToken=3, the 403) rather than only 400s.
PLAUSIBLE_UPLOAD = {"fileName": "clip.mp4", "fileSize": 1024, "contentType": "video/mp4"}
TIMEOUT = 30


def documented_headers_present(ctx: CheckContext, response: Response, case: Case[Operation]) -> bool | None:
    """Every header the document lists for the response's status is sent.

    schemathesis' `response_headers_conformance` validates the headers that are present, but
    reports a missing one only if the document marks it `required` (ours does not). The service
    promises the X-RateLimit-* headers on every function response (README, "Rate limit").
    """
    definition = case.operation.responses.find_by_status_code(response.status_code)
    if definition is None:
        return None  # an undocumented status is status_code_conformance's to report
    missing = [name for name, _ in definition.headers.items() if name.lower() not in response.headers]
    assert not missing, f"documented headers missing from the {response.status_code} response: {missing}"
    return None


CHECKS = [
    not_a_server_error,  # any 5xx, documented (503) or not
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    documented_headers_present,
]


class Caller:
    """The signed-in side of one role: a fresh user, with one real token, every REQUESTS_PER_USER requests."""

    def __init__(
        self, stack: Stack, session: requests.Session, make_user: Callable[..., User], admin: bool
    ) -> None:
        self.stack = stack
        self.session = session
        self.make_user = make_user
        self.admin = admin
        self.user: User | None = None
        self.token = ""
        self.sent = 0
        self._upload_token = ""

    def _mint(self, user: User) -> str:
        minted = self.session.post(
            f"{self.stack.api}/upload-tokens", json={"ttl": 3600}, headers=user.headers(), timeout=TIMEOUT
        )
        assert minted.status_code == 200, minted.text
        return str(minted.json()["token"])

    def _fresh_user(self) -> User:
        user = self.make_user(admin=self.admin)
        self.user, self.token, self.sent = user, self._mint(user), 1
        return user

    def headers(self) -> dict[str, str]:
        """The bearer header for the next signed-in request."""
        user = self.user
        if user is None or self.sent >= REQUESTS_PER_USER:
            user = self._fresh_user()
        self.sent += 1
        return user.headers()

    def real_token(self) -> str:
        """The current user's token (the fuzzed DELETEs may have revoked it: then a 404 is right)."""
        if self.user is None:
            self._fresh_user()
        return self.token

    def upload_token(self) -> str:
        """A token for `POST /upload?token=`, of a user of its own, so no fuzzed DELETE revokes it."""
        if not self._upload_token:
            self._upload_token = self._mint(self.make_user(admin=self.admin))
        return self._upload_token


def needs_jwt(operation: Operation) -> bool:
    """Whether the document asks for a bearer token (`security: []` opts out: `POST /upload`)."""
    security = operation.definition.raw.get("security", operation.schema.raw_schema.get("security", []))
    return bool(security)


def takes_token(operation: Operation) -> bool:
    """`{uploadToken}` in the path, or `?token=` (`POST /upload`)."""
    return "{uploadToken}" in operation.path or any(
        parameter.name == "token" for parameter in operation.query
    )


def strategy(operation: Operation, mode: GenerationMode) -> SearchStrategy[Case[Operation]]:
    """Generated cases, mixed with some naming a real token where the operation takes one."""
    generated = operation.as_strategy(generation_mode=mode)
    if not takes_token(operation):
        return generated
    if "{uploadToken}" in operation.path:
        return st.one_of(generated, operation.as_strategy(mode, path_parameters={"uploadToken": REAL_TOKEN}))
    return st.one_of(
        generated,
        operation.as_strategy(mode, query={"token": REAL_TOKEN}),
        operation.as_strategy(mode, query={"token": REAL_TOKEN}, body=PLAUSIBLE_UPLOAD),
    )


def use_real_token(case: Case[Operation], caller: Caller) -> bool:
    """Put a real token where the case holds the placeholder; whether it did."""
    if case.path_parameters and case.path_parameters.get("uploadToken") == REAL_TOKEN:
        case.path_parameters["uploadToken"] = caller.real_token()
        return True
    if case.query and case.query.get("token") == REAL_TOKEN:
        case.query["token"] = caller.upload_token()
        return True
    return False


def fuzzer(
    api: str,
    session: requests.Session,
    caller: Caller,
    operation: Operation,
    mode: GenerationMode,
    seen: Counter[tuple[str, str, int]],
) -> Callable[[], None]:
    """A Hypothesis test sending up to EXAMPLES cases of `operation` in `mode` and checking every answer."""
    jwt = needs_jwt(operation)
    label = f"{operation.label} [{mode.value}]"
    token_note = takes_token(operation)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same cases on every run
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: it would replay against a server whose state moved on
        suppress_health_check=list(HealthCheck),  # a live server is slow by Hypothesis' standards
    )
    @given(case=strategy(operation, mode))
    def fuzz(case: Case[Operation]) -> None:
        headers = caller.headers() if jwt else None  # first switches to a fresh user when due
        token = "real token" if use_real_token(case, caller) else "generated token"
        response = case.call(base_url=api, session=session, headers=headers, timeout=TIMEOUT)
        seen[(label, token if token_note else "", response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseException as error:
            if token_note:  # the curl command masks it
                error.add_note(f"(sent with a {token})")
            raise

    return fuzz


@pytest.mark.parametrize("role", ["user", "admin"])
def test_every_response_conforms_to_the_document(
    stack: Stack, make_user: Callable[..., User], role: str
) -> None:
    started = time.monotonic()
    seen: Counter[tuple[str, str, int]] = Counter()
    failures: list[str] = []
    with requests.Session() as session:
        session.trust_env = False  # 127.0.0.1 only: no proxy from the environment
        document = session.get(f"{stack.api}/openapi.json", timeout=TIMEOUT)
        assert document.status_code == 200, document.text
        # The default configuration, not a schemathesis.toml that happens to be around.
        schema = schemathesis.openapi.from_dict(document.json(), config=schemathesis.Config())
        results = list(schema.get_all_operations())
        operations = [result.ok() for result in results if isinstance(result, Ok)]
        assert len(operations) == len(results) >= 5, results  # every documented operation loads
        caller = Caller(stack, session, make_user, admin=role == "admin")
        for operation in operations:
            for mode in MODES:
                try:
                    fuzzer(stack.api, session, caller, operation, mode, seen)()
                # Check failures come as a BaseExceptionGroup. Every operation and mode still runs.
                except (Exception, BaseExceptionGroup) as error:
                    notes = "\n".join(getattr(error, "__notes__", []))
                    failures.append(f"{operation.label} [{mode.value}] as {role}:\n{error}\n{notes}")
    elapsed = time.monotonic() - started
    # What ran, shown with -s or when the test fails.
    for (label, token, status), count in sorted(seen.items()):
        print(f"{role:5} {label:45} {token:15} {status}  x{count}")
    print(f"{role}: {sum(seen.values())} cases in {elapsed:.1f} s")

    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    exercised = {label for label, _, _ in seen}
    assert exercised == {f"{operation.label} [{mode.value}]" for operation in operations for mode in MODES}
