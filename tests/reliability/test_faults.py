"""Faults injected into real AWS calls (botocore `before-send` hooks answering in AWS's own error
format, so botocore's retry machinery sees them): throttling that passes, throttling that persists,
and a processing crash halfway. Handlers run in process against the emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from tests.conftest import Published, aws_response, load_event
from tests.integration.test_processing import notification_message, seed_upload, sqs_event
from upload_service.core import aws
from upload_service.core.records import TokenStatus, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def _response(status: int, payload: bytes, content_type: str) -> AWSResponse:
    return aws_response(status, payload, content_type)  # type: ignore[no-any-return]


THROTTLES: dict[str, Callable[[], AWSResponse]] = {
    "dynamodb": lambda: _response(
        400,
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"x"}',
        "application/x-amz-json-1.0",
    ),
    "s3": lambda: _response(
        503,
        b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        "application/xml",
    ),
    "events": lambda: _response(
        400, b'{"__type":"ThrottlingException","message":"Rate exceeded"}', "application/x-amz-json-1.1"
    ),
}


class Throttle:
    """Answers the first `times` calls to a service with its throttling error."""

    def __init__(self, service: str, times: int) -> None:
        self.service = service
        self.times = times
        self.injected = 0

    def __call__(self, **_: Any) -> AWSResponse | None:
        if self.injected < self.times:
            self.injected += 1
            return THROTTLES[self.service]()
        return None


@pytest.fixture
def throttle(lambda_env: dict[str, str]) -> Iterator[Callable[[str, int], Throttle]]:
    hooks: list[tuple[Any, Throttle]] = []

    def add(service: str, times: int) -> Throttle:
        hook = Throttle(service, times)
        client = aws.client(service)
        client.meta.events.register(f"before-send.{client.meta.service_model.endpoint_prefix}", hook)
        hooks.append((client, hook))
        return hook

    yield add
    for client, hook in hooks:
        client.meta.events.unregister(f"before-send.{client.meta.service_model.endpoint_prefix}", hook)


def process(invoke: Invoke, *messages: dict[str, Any]) -> dict[str, Any]:
    return invoke("ProcessUploadFunction", sqs_event(*messages))


def test_processing_survives_passing_throttling_of_every_service(
    invoke: Invoke, throttle: Callable[[str, int], Throttle], published: Published
) -> None:
    upload = seed_upload(f"faults-{uuid.uuid4().hex[:6]}")
    hooks = [throttle("dynamodb", 2), throttle("s3", 2), throttle("events", 2)]

    result = process(invoke, notification_message(upload, "f1"))

    assert result == {"batchItemFailures": []}
    assert [hook.injected for hook in hooks] == [2, 2, 2]
    assert default_repository().get_upload(upload.upload_id).status is UploadStatus.ACCEPTED  # type: ignore[union-attr]
    assert published.about(upload.upload_id) == ["Upload Accepted"]


def test_api_survives_passing_throttling(invoke: Invoke, throttle: Callable[[str, int], Throttle]) -> None:
    hook = throttle("dynamodb", 3)
    event = load_event("create_token")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = f"faults-api-{uuid.uuid4().hex[:6]}"

    result = invoke("CreateTokenFunction", event)

    assert result["statusCode"] == 200, result
    assert hook.injected == 3


@pytest.mark.parametrize("function", ["GetTokenFunction", "ListTokensFunction", "RevokeTokenFunction"])
def test_persistent_throttling_is_a_503_with_retry_after(
    invoke: Invoke, throttle: Callable[[str, int], Throttle], function: str
) -> None:
    throttle("dynamodb", 1000)
    event = load_event(
        {
            "GetTokenFunction": "get_token",
            "ListTokensFunction": "list_tokens",
            "RevokeTokenFunction": "revoke_token",
        }[function]
    )

    result = invoke(function, event)

    assert result["statusCode"] == 503, result
    assert result["headers"]["Retry-After"] == "1"
    assert json.loads(result["body"])["status"] == 503


def test_persistent_s3_throttling_leaves_the_message_for_retry_and_writes_nothing(
    invoke: Invoke, throttle: Callable[[str, int], Throttle], published: Published
) -> None:
    upload = seed_upload(f"faults-{uuid.uuid4().hex[:6]}")
    message = notification_message(upload, "f2")
    hook = throttle("s3", 1000)

    result = process(invoke, message)

    assert result == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    assert hook.injected >= 4  # botocore retried before giving up
    repo = default_repository()
    token, uploads = repo.get_token_with_uploads(upload.token_ref)
    assert token is not None
    assert [u.status for u in uploads] == [UploadStatus.PENDING]
    assert (token.uploads_accepted, token.uploads_open, token.status) == (0, 1, TokenStatus.PENDING)
    assert published.about(upload.upload_id) == []


@pytest.mark.parametrize(
    "crash_at",
    ["TransactWriteItems", "CopyObject", "DeleteObject", "PutEvents"],
    ids=["before-the-decision", "after-the-decision", "after-the-move", "before-the-event"],
)
def test_a_crash_halfway_is_completed_exactly_once_on_redelivery(
    invoke: Invoke, published: Published, lambda_env: dict[str, str], crash_at: str
) -> None:
    upload = seed_upload(f"crash-{uuid.uuid4().hex[:6]}")
    message = notification_message(upload, f"c-{crash_at}")
    service = {"TransactWriteItems": "dynamodb", "PutEvents": "events"}.get(crash_at, "s3")
    client = aws.copy_client() if crash_at == "CopyObject" else aws.client(service)  # copies: their own
    event_name = f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}.{crash_at}"

    def crash(**_: Any) -> None:
        raise RuntimeError(f"crashed at {crash_at}")

    client.meta.events.register(event_name, crash)
    try:
        first = process(invoke, message)
    finally:
        client.meta.events.unregister(event_name, crash)
    assert first == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    storage = default_storage()
    if crash_at == "TransactWriteItems":  # undecided: nothing was moved or deleted
        assert storage.head(upload.key) is not None and storage.head(upload.media_key) is None
        assert default_repository().get_upload(upload.upload_id).status is UploadStatus.PENDING  # type: ignore[union-attr]

    second = process(invoke, message)  # the redelivery
    third = process(invoke, message)  # and a late duplicate of it

    assert second == third == {"batchItemFailures": []}
    token, uploads = default_repository().get_token_with_uploads(upload.token_ref)
    assert token is not None
    assert [u.status for u in uploads] == [UploadStatus.ACCEPTED]
    assert (token.uploads_accepted, token.uploads_open) == (1, 0)
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    assert storage.head(upload.key) is None
    assert storage.head(upload.media_key) is not None


def test_cleanup_survives_passing_throttling(
    invoke: Invoke, throttle: Callable[[str, int], Throttle]
) -> None:
    upload = seed_upload(
        f"faults-cleanup-{uuid.uuid4().hex[:6]}", ttl=60, created=datetime.now(UTC) - timedelta(hours=1)
    )
    hooks = [throttle("dynamodb", 2), throttle("s3", 2)]

    result = invoke("CleanupFunction", load_event("cleanup"))
    while result["more"]:  # what other tests left expired comes first (oldest first)
        result = invoke("CleanupFunction", load_event("cleanup"))

    assert [hook.injected for hook in hooks] == [2, 2]
    assert default_repository().get_token_by_ref(upload.token_ref).status is TokenStatus.TIMED_OUT  # type: ignore[union-attr]
    assert default_storage().head(upload.key) is None
