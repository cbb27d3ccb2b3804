"""Limits under concurrency, through the local stack: nothing slips past, nothing 5xx, nothing extra stored.

The test stack runs with RateLimitPerMinute=40 and MaxActiveTokensPerUser=5.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import assert_problem
from tests.e2e.test_limits import CAP, RATE_LIMIT, wait_for_a_fresh_window


def stored_live_tokens(stack: Stack, user: User) -> int:
    """What DynamoDB itself holds for the user (the live index), not what the API says."""
    response = stack.client("dynamodb").query(
        TableName=stack.info["tableName"],
        IndexName="ByOwnerCreated",
        KeyConditionExpression="activeOwner = :u",
        ExpressionAttributeValues={":u": {"S": user.sub}},
        Select="COUNT",
    )
    return int(response["Count"])


def test_fifty_concurrent_creates_against_the_cap(stack: Stack, user: User) -> None:
    wait_for_a_fresh_window()

    def create(_: int) -> requests.Response:
        return requests.post(
            f"{stack.api}/upload-tokens", json={"ttl": 300}, headers=user.headers(), timeout=60
        )

    with ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(pool.map(create, range(50)))

    # the cap lets exactly CAP through; the rate limit (40/min) refuses the last 10 before the cap does
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: CAP, 403: RATE_LIMIT - CAP, 429: 50 - RATE_LIMIT}, statuses
    for response in responses:
        if response.status_code != 200:
            assert_problem(response, response.status_code)
    assert stored_live_tokens(stack, user) == CAP


def test_no_request_slips_past_the_rate_limit_under_concurrency(stack: Stack, user: User) -> None:
    wait_for_a_fresh_window()

    def call(_: int) -> requests.Response:
        return requests.get(f"{stack.api}/upload-tokens", headers=user.headers(), timeout=60)

    with ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(pool.map(call, range(RATE_LIMIT + 30)))

    assert Counter(r.status_code for r in responses) == {200: RATE_LIMIT, 429: 30}
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in responses if r.status_code == 200)
    assert remaining == list(range(RATE_LIMIT))  # every slot handed out exactly once
