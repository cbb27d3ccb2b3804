"""Throttling injected into real AWS calls (botocore `before-send` hook): retried by botocore's standard
mode with backoff, then a 503 problem with Retry-After and nothing half-written."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from tests.conftest import aws_response
from tests.integration.conftest import load_event
from upload_service.core import aws
from upload_service.data.repository import default_repository

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def dynamodb_error(code: str, status: int = 400, **extra: Any) -> AWSResponse:
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code, **extra}
    ).encode()
    return aws_response(status, body)  # type: ignore[no-any-return]


class Injector:
    """Answers the first `times` matching calls with `response` instead of sending them."""

    def __init__(self, operation: str, response: Callable[[], AWSResponse], times: int) -> None:
        self.operation = operation
        self.response = response
        self.times = times
        self.calls = 0
        self.injected = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.calls += 1
        if self.injected < self.times:
            self.injected += 1
            return self.response()
        return None


@pytest.fixture
def inject(lambda_env: dict[str, str]) -> Iterator[Callable[..., Injector]]:
    client = aws.dynamodb()
    registered: list[tuple[str, Injector]] = []

    def add(operation: str, response: Callable[[], AWSResponse], times: int) -> Injector:
        injector = Injector(operation, response, times)
        event_name = f"before-send.dynamodb.{operation}"
        client.meta.events.register(event_name, injector)  # type: ignore[arg-type]
        registered.append((event_name, injector))
        return injector

    yield add
    for event_name, injector in registered:
        client.meta.events.unregister(event_name, injector)  # type: ignore[arg-type]


def event_for(sub: str) -> dict[str, Any]:
    event = load_event("create_token")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = sub
    return event


def live_count(sub: str) -> int:
    repo = default_repository()
    item = repo.client.get_item(
        TableName=repo.table_name,
        Key={"PK": {"S": f"USER#{sub}"}, "SK": {"S": "COUNTERS"}},
        ConsistentRead=True,
    ).get("Item", {})
    return int(item.get("liveTokens", {}).get("N", "0"))


def stored_tokens(sub: str) -> list[dict[str, Any]]:
    repo = default_repository()
    return repo.client.query(
        TableName=repo.table_name,
        IndexName="ByOwnerCreated",
        KeyConditionExpression="activeOwner = :u",
        ExpressionAttributeValues={":u": {"S": sub}},
    )["Items"]


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
def test_transient_throttling_is_retried(invoke: Invoke, inject: Callable[..., Injector], code: str) -> None:
    sub = f"throttle-transient-{code}"
    rate = inject("UpdateItem", lambda: dynamodb_error(code), times=2)
    write = inject("TransactWriteItems", lambda: dynamodb_error(code), times=2)

    result = invoke("CreateTokenFunction", event_for(sub))

    assert result["statusCode"] == 200, result
    assert (rate.injected, rate.calls) == (2, 3)
    assert (write.injected, write.calls) == (2, 3)
    assert live_count(sub) == 1
    assert len(stored_tokens(sub)) == 1


def test_persistent_throttling_gives_503_and_writes_nothing(
    invoke: Invoke, inject: Callable[..., Injector], lambda_env: dict[str, str]
) -> None:
    sub = "throttle-persistent"
    write = inject(
        "TransactWriteItems", lambda: dynamodb_error("ProvisionedThroughputExceededException"), times=99
    )

    result = invoke("CreateTokenFunction", event_for(sub))

    assert result["statusCode"] == 503, result
    assert result["headers"]["Retry-After"] == "1"
    assert result["headers"]["X-RateLimit-Limit"] == "40"
    problem = json.loads(result["body"])
    assert problem["status"] == 503 and problem["type"].endswith("/service-unavailable")
    assert write.calls == int(lambda_env["AWS_MAX_ATTEMPTS"])  # botocore's attempts, then gave up
    assert live_count(sub) == 0
    assert stored_tokens(sub) == []


def test_throttled_rate_limiter_gives_503(invoke: Invoke, inject: Callable[..., Injector]) -> None:
    inject("UpdateItem", lambda: dynamodb_error("ThrottlingException"), times=99)

    result = invoke("CreateTokenFunction", event_for("throttle-rate-limiter"))

    assert result["statusCode"] == 503, result
    assert result["headers"]["Retry-After"] == "1"


def test_transaction_conflicts_are_retried(invoke: Invoke, inject: Callable[..., Injector]) -> None:
    sub = "transaction-conflict"
    conflict = inject(
        "TransactWriteItems",
        lambda: dynamodb_error(
            "TransactionCanceledException",
            CancellationReasons=[{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}],
        ),
        times=2,
    )

    result = invoke("CreateTokenFunction", event_for(sub))

    assert result["statusCode"] == 200, result
    assert conflict.calls == 3
    assert live_count(sub) == 1
