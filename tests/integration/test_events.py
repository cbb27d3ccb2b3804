"""Each function's events/ example, through its handler in-process against the emulator,
as `sam local invoke <Function> -e events/<file>.json` would run it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import EVENTS, load_event, template_functions
from tests.integration.test_processing import CLIP
from upload_service.core.ids import token_ref
from upload_service.core.records import TokenRecord, UploadRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository, token_key

EVENT_FILE = {
    "CreateTokenFunction": "create_token",
    "ListTokensFunction": "list_tokens",
    "GetTokenFunction": "get_token",
    "RevokeTokenFunction": "revoke_token",
    "StartUploadFunction": "start_upload",
    "MultipartUploadFunction": "multipart_upload",
    "ProcessUploadFunction": "process_upload",
    "CleanupFunction": "cleanup",
    "ForwardUploadFunction": "forward_upload",
}

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def test_every_function_has_an_event() -> None:
    assert set(EVENT_FILE) == set(template_functions())
    for function, code_dir in template_functions().items():
        assert (EVENTS / f"{EVENT_FILE[function]}.json").exists()
        assert code_dir.name == EVENT_FILE[function]


@pytest.fixture
def event_token(lambda_env: dict[str, str]) -> str:
    """The token the get/revoke events name, (re)created for the events' user."""
    event = load_event("get_token")
    token = event["pathParameters"]["uploadToken"]
    owner = event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    repo = default_repository()
    repo.client.delete_item(TableName=repo.table_name, Key=token_key(token_ref(token)))
    repo.create_token(TokenRecord.new(token, owner, 3600, datetime.now(UTC)), max_live=1000)
    return str(token)


def test_create_token_event(invoke: Invoke) -> None:
    event = load_event("create_token")
    # a caller of its own: the events' user holds the tokens other tests made (MaxActiveTokensPerUser)
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = f"events-{uuid.uuid4().hex[:8]}"
    result = invoke("CreateTokenFunction", event)
    assert result["statusCode"] == 200, result
    body = json.loads(result["body"])
    assert body["ttl"] == 3600
    assert body["userId"] == event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    assert result["headers"]["X-RateLimit-Limit"] == "40"


def test_list_tokens_event(invoke: Invoke, event_token: str) -> None:
    result = invoke("ListTokensFunction", load_event("list_tokens"))
    assert result["statusCode"] == 200, result
    body = json.loads(result["body"])
    assert event_token in [item["token"] for item in body["data"]]  # the event's caller is an admin
    assert body["pagination"]["pageSize"] == 25


def test_get_token_event(invoke: Invoke, event_token: str) -> None:
    result = invoke("GetTokenFunction", load_event("get_token"))
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["token"] == event_token


def test_revoke_token_event(invoke: Invoke, event_token: str) -> None:
    result = invoke("RevokeTokenFunction", load_event("revoke_token"))
    assert result["statusCode"] == 204, result
    assert default_repository().get_token(event_token).status == "DELETED"  # type: ignore[union-attr]


def test_start_upload_event(invoke: Invoke, event_token: str) -> None:
    result = invoke("StartUploadFunction", load_event("start_upload"))
    assert result["statusCode"] == 200, result
    target = json.loads(result["body"])
    assert target["method"] == "POST"
    assert target["fields"]["key"] == f"uploads/{target['uploadId']}/holiday clip.mp4"  # no token in it


def test_multipart_upload_event(invoke: Invoke, event_token: str) -> None:
    result = invoke("MultipartUploadFunction", load_event("multipart_upload"))
    assert result["statusCode"] == 200, result
    started = json.loads(result["body"])
    assert started["key"] == f"uploads/{started['uploadId']}/holiday clip.mp4"  # ours, no token in it
    upload = default_repository().get_upload(started["uploadId"])
    assert upload is not None and upload.multipart_id and upload.status == "PENDING"


def test_process_upload_event(invoke: Invoke, event_token: str) -> None:
    # given: the pending upload and the object the event's notification speaks of
    event = load_event("process_upload")
    notification = json.loads(event["Records"][0]["body"])["Records"][0]
    _, upload_id, _ = notification["s3"]["object"]["key"].split("/")
    now = datetime.now(UTC)
    repo = default_repository()
    record = repo.get_token(event_token)
    assert record is not None
    repo.client.delete_item(
        TableName=repo.table_name, Key={"PK": {"S": f"UPLOAD#{upload_id}"}, "SK": {"S": "UPLOAD"}}
    )
    upload = UploadRecord(
        record.ref,
        upload_id,
        record.user_id,
        "holiday clip.mp4",
        1024,
        "video/mp4",
        now,
        now + timedelta(minutes=15),
    )
    repo.start_upload(upload, allowance=10, attempts=50, now=now, retention=timedelta(days=1))
    storage = default_storage()
    storage.client.put_object(Bucket=storage.bucket, Key=upload.key, Body=CLIP, ContentType="video/mp4")
    # when
    result = invoke("ProcessUploadFunction", event)
    # then: the S3 record is accepted, the s3:TestEvent message is simply acknowledged
    assert result == {"batchItemFailures": []}
    assert repo.get_upload(upload_id).status is UploadStatus.ACCEPTED  # type: ignore[union-attr]
    assert storage.head(upload.media_key) is not None
    assert storage.head(upload.key) is None


def test_forward_upload_event(invoke: Invoke) -> None:
    """The example, naming an upload this table does not hold (the process-upload example's may have
    been accepted here: it is forgotten first): acknowledged, nothing forwarded."""
    event = load_event("forward_upload")
    upload_id = json.loads(event["Records"][0]["body"])["detail"]["uploadId"]
    repo = default_repository()
    repo.client.delete_item(
        TableName=repo.table_name, Key={"PK": {"S": f"UPLOAD#{upload_id}"}, "SK": {"S": "UPLOAD"}}
    )
    assert invoke("ForwardUploadFunction", event) == {"batchItemFailures": []}


def test_cleanup_event(invoke: Invoke) -> None:
    result = invoke("CleanupFunction", load_event("cleanup"))
    assert set(result) == {
        "tokens_timed_out",
        "uploads_expired",
        "landed_decided",
        "deliveries_overdue",
        "deliveries_finished",
        "deliveries_lost",
        "unsettled",
        "more",
    }
