"""Per-user rate limit and active-token cap: refused with problem documents, atomic under concurrency.

The test stack runs with RateLimitPerMinute=40 and MaxActiveTokensPerUser=5.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import assert_problem

RATE_LIMIT = 40
CAP = 5


def wait_for_a_fresh_window(needed_seconds: float = 20) -> None:
    """Fixed one-minute windows: start where the whole test fits in one."""
    left = 60 - time.time() % 60
    if left < needed_seconds:
        time.sleep(left + 0.2)


def test_rate_limit_headers_count_down_then_429(stack: Stack, http: requests.Session, user: User) -> None:
    wait_for_a_fresh_window()
    url = f"{stack.api}/upload-tokens"
    remaining = [
        int(http.get(url, headers=user.headers()).headers["X-RateLimit-Remaining"]) for _ in range(RATE_LIMIT)
    ]

    refused = http.get(url, headers=user.headers())

    assert remaining == list(range(RATE_LIMIT - 1, -1, -1))
    body = assert_problem(refused, 429)
    assert body == {
        "type": "https://docs.api.video/reference/too-many-requests",
        "title": "Too many requests.",
        "status": 429,
    }
    assert refused.headers["X-RateLimit-Limit"] == str(RATE_LIMIT)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["X-RateLimit-Retry-After"]) <= 60
    assert refused.headers["Retry-After"] == refused.headers["X-RateLimit-Retry-After"]


def test_rate_limit_is_per_user(stack: Stack, http: requests.Session, user: User, other_user: User) -> None:
    wait_for_a_fresh_window()
    url = f"{stack.api}/upload-tokens"
    for _ in range(RATE_LIMIT + 1):
        http.get(url, headers=user.headers())
    assert http.get(url, headers=user.headers()).status_code == 429
    assert http.get(url, headers=other_user.headers()).status_code == 200


def test_active_token_cap_is_refused_with_403(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    tokens = [create(user, ttl=300)["token"] for _ in range(CAP)]

    refused = http.post(f"{stack.api}/upload-tokens", json={"ttl": 300}, headers=user.headers())

    body = assert_problem(refused, 403)
    assert body["type"].endswith("/active-token-limit")
    assert str(CAP) in body["detail"]
    # revoking one frees a slot
    assert http.delete(f"{stack.api}/upload-tokens/{tokens[0]}", headers=user.headers()).status_code == 204
    create(user, ttl=300)


def test_expired_tokens_free_their_slots(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    for _ in range(CAP):
        create(user, ttl=1)
    time.sleep(1.2)

    fresh = [create(user, ttl=300)["token"] for _ in range(CAP)]

    page = http.get(f"{stack.api}/upload-tokens", headers=user.headers()).json()
    assert [item["token"] for item in page["data"]] == fresh
    assert page["pagination"]["itemsTotal"] == CAP


def test_at_the_cap_expired_tokens_count_as_free_and_are_left_to_the_cleanup(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    expiring = [create(user, ttl=6)["token"] for _ in range(CAP)]
    body = {"fileName": "never-sent.mp4", "fileSize": 10, "contentType": "video/mp4"}
    started = requests.post(f"{stack.api}/upload", params={"token": expiring[0]}, json=body, timeout=10)
    assert started.status_code == 200, started.text
    time.sleep(6.2)

    fresh = [create(user, ttl=300)["token"] for _ in range(CAP)]  # the expired ones are free slots

    assert http.post(f"{stack.api}/upload-tokens", json={}, headers=user.headers()).status_code == 403
    view = http.get(f"{stack.api}/upload-tokens/{expiring[0]}", headers=user.headers()).json()
    assert view["status"] == "TIMED_OUT"  # as readers see it; the cleanup ends it (and its upload)
    assert [u["status"] for u in view["uploads"]] == ["PENDING"]
    page = http.get(f"{stack.api}/upload-tokens", headers=user.headers()).json()
    assert [item["token"] for item in page["data"]] == fresh
