"""process-upload and cleanup in process against the emulator: exactly-once effects on at-least-once
delivery, malformed messages, and cleanup that reads only what expired."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Published, Stack
from tests.integration.conftest import load_event
from tests.media_files import mp4
from upload_service.core import aws
from upload_service.core.config import get_settings
from upload_service.core.ids import generate_token
from upload_service.core.records import TokenRecord, TokenStatus, UploadRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.uploads import expiry

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
CLIP = mp4(b"y" * 50)


def seed_upload(
    owner: str,
    *,
    ttl: int = 600,
    created: datetime | None = None,
    send: bool = True,
    content: bytes = CLIP,
    declared: int = 4096,
    content_type: str = "video/mp4",
    file_name: str = "take 1+2.mp4",
) -> UploadRecord:
    """A live token with one PENDING upload (of `declared` bytes of `content_type`), and (optionally)
    the object, `content`, put directly with that type."""
    now = created or datetime.now(UTC)
    repo = default_repository()
    token = TokenRecord.new(generate_token(), owner, ttl, now)
    repo.create_token(token, max_live=10_000)
    upload = UploadRecord(
        token.ref,
        uuid.uuid4().hex,
        owner,
        file_name,
        declared,
        content_type,
        now,
        now + timedelta(seconds=min(ttl, 600)),
    )
    repo.start_upload(upload, allowance=3, attempts=50, retention=timedelta(days=1), now=now)
    if send:
        storage = default_storage()
        storage.client.put_object(
            Bucket=storage.bucket, Key=upload.key, Body=content, ContentType=content_type
        )
    return upload


def notification_message(
    upload: UploadRecord, sequencer: str, message_id: str | None = None
) -> dict[str, Any]:
    """An SQS record carrying S3's notification for the upload's object (key encoded as real S3 does)."""
    template = load_event("process_upload")["Records"][0]
    body = json.loads(template["body"])
    s3 = body["Records"][0]["s3"]
    s3["bucket"]["name"] = default_storage().bucket
    s3["object"].update(key=quote_plus(upload.key, safe="/"), size=len(CLIP), sequencer=sequencer)
    body["Records"][0]["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {**template, "messageId": message_id or str(uuid.uuid4()), "body": json.dumps(body)}


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def test_repeated_and_concurrent_deliveries_have_one_effect(invoke: Invoke, published: Published) -> None:
    # given: one arrival, whose S3 notification is delivered 8 times at once, then twice more
    upload = seed_upload("dup-owner")
    message = notification_message(upload, sequencer="00AABBCCDDEEFF0011")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: invoke("ProcessUploadFunction", sqs_event(message)), range(8)))
    retried = [invoke("ProcessUploadFunction", sqs_event(message)) for _ in range(2)]

    # then: deliveries that met another in progress asked to be retried; none failed otherwise
    for result in results + retried:
        assert result["batchItemFailures"] in ([], [{"itemIdentifier": message["messageId"]}])
    assert retried[-1] == {"batchItemFailures": []}
    repo = default_repository()
    token, uploads = repo.get_token_with_uploads(upload.token_ref)
    assert token is not None
    assert [u.status for u in uploads] == [UploadStatus.ACCEPTED]
    assert (token.uploads_accepted, token.uploads_open, token.uploads_reserved) == (1, 0, 1)
    assert token.status is TokenStatus.PARTIAL_UPLOAD
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    storage = default_storage()
    assert storage.head(upload.media_key) is not None
    assert storage.head(upload.key) is None


def test_a_second_event_for_a_decided_upload_changes_nothing(invoke: Invoke, published: Published) -> None:
    upload = seed_upload("again-owner")
    invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "01")))
    # the same target used again (S3 would allow it until the policy expires): a new object, a new event
    storage = default_storage()
    storage.client.put_object(Bucket=storage.bucket, Key=upload.key, Body=b"other", ContentType="video/mp4")

    result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "02")))

    assert result == {"batchItemFailures": []}
    assert storage.head(upload.key) is None  # the second object is deleted
    assert storage.client.get_object(Bucket=storage.bucket, Key=upload.media_key)["Body"].read() == CLIP
    token = default_repository().get_token_by_ref(upload.token_ref)
    assert token is not None and token.uploads_accepted == 1
    assert published.about(upload.upload_id) == ["Upload Accepted"]


def test_test_events_and_malformed_messages_do_not_fail_the_batch(
    invoke: Invoke, published: Published
) -> None:
    upload = seed_upload("batch-owner")
    good = notification_message(upload, "03")
    test_event = load_event("process_upload")["Records"][1]
    junk = [
        {**good, "messageId": "junk-1", "body": "not json"},
        {
            **good,
            "messageId": "junk-2",
            "body": json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}),
        },
        {**good, "messageId": "junk-3", "body": json.dumps([1, 2])},
    ]

    result = invoke("ProcessUploadFunction", sqs_event(test_event, *junk, good))

    assert result == {"batchItemFailures": []}
    assert default_repository().get_upload(upload.upload_id).status is UploadStatus.ACCEPTED  # type: ignore[union-attr]


def test_a_failure_leaves_only_that_message_for_redelivery(
    invoke: Invoke, published: Published, lambda_env: dict[str, str]
) -> None:
    """S3 refusing the copy (persistently throttled) fails one record; a later delivery completes it."""
    upload = seed_upload("fail-owner")
    other = seed_upload("fail-owner-2")
    s3 = aws.copy_client()  # S3's copies go through a client of their own
    calls = {"n": 0}

    def slow_down(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == upload.media_key:
            calls["n"] += 1
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "CopyObject")

    s3.meta.events.register("provide-client-params.s3.CopyObject", slow_down)
    failing, fine = notification_message(upload, "04"), notification_message(other, "05")
    try:
        first = invoke("ProcessUploadFunction", sqs_event(failing, fine))
    finally:
        s3.meta.events.unregister("provide-client-params.s3.CopyObject", slow_down)

    assert first == {"batchItemFailures": [{"itemIdentifier": failing["messageId"]}]}
    assert calls["n"] >= 1
    # decided first, moved after: the decision stands, the object waits where it landed, no event yet
    assert default_repository().get_upload(upload.upload_id).status is UploadStatus.ACCEPTED  # type: ignore[union-attr]
    storage = default_storage()
    assert storage.head(upload.key) is not None and storage.head(upload.media_key) is None
    assert published.about(upload.upload_id) == []

    second = invoke("ProcessUploadFunction", sqs_event(failing, fine))  # `fine` is redelivered too

    assert second == {"batchItemFailures": []}
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    assert published.about(other.upload_id) == ["Upload Accepted"]
    assert storage.head(upload.key) is None and storage.head(upload.media_key) is not None


class ItemsRead:
    """Items DynamoDB read for us: ScannedCount of Queries, one per GetItem hit."""

    def __init__(self) -> None:
        self.items = 0
        self.calls: list[str] = []

    def __call__(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        if model.name in ("Query", "Scan"):
            self.items += int(parsed.get("ScannedCount", 0))
        elif model.name == "GetItem" and "Item" in parsed:
            self.items += 1


def test_cleanup_reads_only_expired_tokens(invoke: Invoke, stack: Stack, lambda_env: dict[str, str]) -> None:
    cleanup_event = load_event("cleanup")
    while invoke("CleanupFunction", cleanup_event)["more"]:  # drain what other tests left expired
        pass
    # given: many live tokens, a few expired ones (some with unfinished uploads and their objects)
    repo = default_repository()
    now = datetime.now(UTC)
    for _ in range(200):
        repo.create_token(TokenRecord.new(generate_token(), "cleanup-live", 3600, now), max_live=10_000)
    long_ago = now - timedelta(hours=2)
    # two targets nothing reached, and two whose objects landed (long after their token expired)
    expired = [seed_upload("cleanup-expired", ttl=60, created=long_ago, send=False) for _ in range(2)]
    landed = [seed_upload("cleanup-expired", ttl=60, created=long_ago) for _ in range(2)]
    for _ in range(51):
        repo.create_token(TokenRecord.new(generate_token(), "cleanup-expired", 60, long_ago), max_live=10_000)
    counter = ItemsRead()
    client = aws.dynamodb()
    client.meta.events.register("after-call.dynamodb", counter)
    try:
        first = invoke("CleanupFunction", cleanup_event)
        second = invoke("CleanupFunction", cleanup_event)
        third = invoke("CleanupFunction", cleanup_event)
    finally:
        client.meta.events.unregister("after-call.dynamodb", counter)

    # then: bounded batches (CleanupBatchSize=50), continued by the next run, idempotent after
    # (tokens other tests let expire meanwhile may join the 55 seeded here)
    timed_out = first["tokens_timed_out"] + second["tokens_timed_out"]
    assert (first["tokens_timed_out"], first["more"]) == (50, True)
    assert second["more"] is False
    assert timed_out >= 55
    assert third["tokens_timed_out"] == 0
    assert first["uploads_expired"] + second["uploads_expired"] >= 2  # + other tests' unfinished ones
    decided = first["landed_decided"] + second["landed_decided"]
    assert decided >= 2
    # expired tokens read from the index (+1 look-ahead), the upload items due: never the 200 live
    # ones; a landed object is decided as the processor decides it (its pointer, upload and token
    # read); an overdue delivery (other tests' accepted uploads whose copy they refused) is read once
    uploads_expired = first["uploads_expired"] + second["uploads_expired"]
    overdue = first["deliveries_overdue"] + second["deliveries_overdue"]
    assert counter.items <= timed_out + uploads_expired + 4 * decided + overdue + 2, counter.items
    assert "Scan" not in counter.calls
    storage = default_storage()
    for upload in expired + landed:
        assert storage.head(upload.key) is None
        assert repo.get_token_by_ref(upload.token_ref).status is TokenStatus.TIMED_OUT  # type: ignore[union-attr]
    for upload in expired:
        assert repo.get_upload(upload.upload_id).status is UploadStatus.EXPIRED  # type: ignore[union-attr]
    for upload in landed:
        assert repo.get_upload(upload.upload_id).status is UploadStatus.REJECTED  # type: ignore[union-attr]
    assert repo.count_live("cleanup-live", now) == 200
    assert repo.count_live("cleanup-expired", now) == 0


def test_cleanup_waits_the_grace_only_for_tokens_with_uploads_in_flight(lambda_env: dict[str, str]) -> None:
    # given: a grace of an hour, tokens that expired a minute ago (one idle, one with an upload in
    # flight) and one that expired two hours ago with an unfinished upload
    settings = get_settings().model_copy(update={"cleanup_grace_seconds": 3600, "cleanup_batch_size": 10_000})
    repo, storage = default_repository(), default_storage()
    now = datetime.now(UTC)
    a_minute_ago = now - timedelta(seconds=120)
    idle = TokenRecord.new(generate_token(), "grace-owner", 60, a_minute_ago)
    repo.create_token(idle, max_live=10_000)
    in_flight = seed_upload("grace-owner", ttl=60, created=a_minute_ago)
    long_expired = seed_upload("grace-owner", ttl=60, created=now - timedelta(hours=2))

    # when
    expiry.clean_up(repo, storage, settings, now)

    # then: the idle one ends at once; the one in flight waits, its object kept for the processor
    assert repo.get_token(idle.token).status is TokenStatus.TIMED_OUT  # type: ignore[union-attr]
    assert repo.get_token_by_ref(in_flight.token_ref).status is TokenStatus.PENDING  # type: ignore[union-attr]
    assert repo.get_upload(in_flight.upload_id).status is UploadStatus.PENDING  # type: ignore[union-attr]
    assert storage.head(in_flight.key) is not None
    # past the grace, unfinished uploads expire and their objects go
    assert repo.get_token_by_ref(long_expired.token_ref).status is TokenStatus.TIMED_OUT  # type: ignore[union-attr]
    # its object landed long after its target and token expired: decided by the landing rules
    late = repo.get_upload(long_expired.upload_id)
    assert late is not None and (late.status, late.reason) == (
        UploadStatus.REJECTED,
        "token expired before the upload arrived",
    )
    assert storage.head(long_expired.key) is None
    # expired tokens are not active either way
    assert repo.count_live("grace-owner", now) == 0


def test_a_stale_read_cannot_time_out_a_token_whose_upload_just_started(lambda_env: dict[str, str]) -> None:
    # given: an expired token read as idle (as from the lagging index), then an upload started on
    # it just before its expiry
    settings = get_settings().model_copy(update={"cleanup_grace_seconds": 3600})
    repo = default_repository()
    created = datetime.now(UTC) - timedelta(seconds=120)
    stale = TokenRecord.new(generate_token(), "grace-race", 60, created)
    repo.create_token(stale, max_live=10_000)
    upload = UploadRecord(
        stale.ref, uuid.uuid4().hex, "grace-race", "late.mp4", 10, "video/mp4", created, created
    )
    repo.start_upload(
        upload, allowance=3, attempts=50, retention=timedelta(days=1), now=created + timedelta(seconds=59)
    )

    # when
    ended = expiry.time_out_expired(repo, stale, settings, datetime.now(UTC))

    # then: the condition saw the upload in flight: nothing ended
    assert ended is False
    assert repo.get_token(stale.token).status is TokenStatus.PENDING  # type: ignore[union-attr]


def test_every_unreadable_record_is_logged_counted_and_acknowledged(
    invoke: Invoke,
    published: Published,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    upload = seed_upload("unreadable-owner")
    good = notification_message(upload, "u1")
    record = json.loads(good["body"])["Records"][0]
    bodies = [
        {"Records": [1]},
        ["x"],
        [None],
        {"Records": [{**record, "eventTime": "2026-11-22T08:00:01"}]},  # no timezone
    ]
    junk = [
        {**good, "messageId": f"unreadable-{i}", "body": json.dumps(body)} for i, body in enumerate(bodies)
    ]
    capsys.readouterr()

    result = invoke("ProcessUploadFunction", sqs_event(*junk, good))

    assert result == {"batchItemFailures": []}  # acknowledged: retrying cannot make them readable
    dropped = [r for r in caplog.records if r.getMessage() == "malformed record dropped"]
    assert sorted(r.messageId for r in dropped) == [f"unreadable-{i}" for i in range(4)]  # type: ignore[attr-defined]
    assert all(r.reason for r in dropped)  # type: ignore[attr-defined]
    out = capsys.readouterr().out.splitlines()
    emitted = [json.loads(line)["MalformedMessages"] for line in out if "MalformedMessages" in line]
    assert [sum(value) if isinstance(value, list) else value for value in emitted] == [4]  # one flush
    assert default_repository().get_upload(upload.upload_id).status is UploadStatus.ACCEPTED  # type: ignore[union-attr]
