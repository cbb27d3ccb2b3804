"""Helpers for HTTP tests through the local API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import Stack, User

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Retry-After")


def assert_problem(response: requests.Response, status: int, name: str | None = None) -> dict[str, Any]:
    """A problem document of `status` (naming `name` on 400s), with the rate-limit headers."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("http")
    assert body["title"]
    if status == 400:
        assert body["name"] == name
        assert body["problems"], body
        assert {problem["name"] for problem in body["problems"]} >= {name}
        assert all(problem["status"] == 400 and problem["title"] for problem in body["problems"])
    for header in RATE_HEADERS:
        assert response.headers[header].isdigit(), header
    return body


@pytest.fixture
def create(stack: Stack, http: requests.Session) -> Callable[..., dict[str, Any]]:
    """Create a token as `user` and return it (asserting 200)."""

    def make(user: User, ttl: int | None = None) -> dict[str, Any]:
        body = {} if ttl is None else {"ttl": ttl}
        response = http.post(f"{stack.api}/upload-tokens", json=body, headers=user.headers())
        assert response.status_code == 200, response.text
        token: dict[str, Any] = response.json()
        return token

    return make
