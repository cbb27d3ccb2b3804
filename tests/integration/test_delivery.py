"""Delivering accepted uploads into media/ (delivery.py): exactly the bytes that were checked, of any
size (a multipart copy past the single-copy threshold, lowered here), resumed where an attempt ran
out of time, and finished by the cleanup's sweep when the processor could not: an accepted upload's
only copy is tagged so no lifecycle rule deletes it meanwhile."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_stack.iam.acting import running_as
from tests.conftest import Published
from tests.integration.conftest import clean_up_all
from tests.integration.test_decisions import at_call, media_of, seed
from tests.integration.test_processing import CLIP, notification_message, seed_upload, sqs_event
from tests.media_files import mp4
from upload_service.core import aws
from upload_service.core.config import Settings, get_settings
from upload_service.core.errors import ServiceUnavailable
from upload_service.core.records import UploadRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.uploads import delivery, landing
from upload_service.uploads.notifications import Arrival

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
MIB = 1024**2
PAYLOAD = os.urandom(12 * MIB)
BIG = mp4(PAYLOAD)  # three parts of 5 MiB (5, 5, 2)


def stage_of(key: str, version_id: str | None = None) -> str | None:
    storage = default_storage()
    pinned: dict[str, Any] = {"VersionId": version_id} if version_id else {}
    tags = storage.client.get_object_tagging(Bucket=storage.bucket, Key=key, **pinned)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tags}.get("stage")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def in_parts(monkeypatch: pytest.MonkeyPatch, lambda_env: dict[str, str]) -> Settings:
    """Objects over 5 MiB are copied in parts of 5 MiB (S3's smallest); uploads up to 20 MiB."""
    monkeypatch.setattr(delivery, "SINGLE_COPY_BYTES", 5 * MIB)
    monkeypatch.setattr(delivery, "PART_BYTES", 5 * MIB)
    return get_settings().model_copy(update={"max_upload_bytes": 20 * MIB})


@pytest.fixture
def copies_refused() -> Iterator[set[str]]:
    """S3 refusing every copy (whole or a part) into the media keys in the set (SlowDown)."""
    refused: set[str] = set()

    def slow_down(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] in refused:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "CopyObject")

    client = aws.copy_client()
    for operation in ("CopyObject", "UploadPartCopy"):
        client.meta.events.register(f"provide-client-params.s3.{operation}", slow_down)
    try:
        yield refused
    finally:
        for operation in ("CopyObject", "UploadPartCopy"):
            client.meta.events.unregister(f"provide-client-params.s3.{operation}", slow_down)


@contextmanager
def counting(operation: str) -> Iterator[list[int]]:
    """How many `operation` calls S3's copy client makes meanwhile."""
    client, calls = aws.copy_client(), [0]

    def count(**_: Any) -> None:
        calls[0] += 1

    client.meta.events.register(f"before-call.s3.{operation}", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister(f"before-call.s3.{operation}", count)


def accept(
    upload: UploadRecord, settings: Settings, time_left: Callable[[], float] = landing.no_limit
) -> None:
    """What the processor does with the upload's notification, as the processor (its role)."""
    arrival = Arrival(default_storage().bucket, upload.key, datetime.now(UTC))
    with running_as("ProcessUploadFunction"):
        landing.process_arrival(
            default_repository(), default_storage(), arrival, settings, datetime.now(UTC), time_left
        )


def test_objects_land_tagged_as_landing(lambda_env: dict[str, str]) -> None:
    """The presigned POST binds the tag (a POST without it is refused by its policy) and a multipart
    upload is created with it: the stray-upload lifecycle rule expires only objects tagged so."""
    import requests

    storage = default_storage()
    key = f"uploads/{uuid.uuid4().hex}/clip.mp4"
    url, fields = storage.presigned_post(key, "video/mp4", 1024, 300)
    posted = requests.post(url, data=fields, files={"file": ("clip.mp4", b"x" * 10, "video/mp4")}, timeout=30)
    assert posted.status_code == 204, posted.text
    assert stage_of(key) == "landing"

    big = f"uploads/{uuid.uuid4().hex}/big.mp4"
    upload_id = storage.create_multipart(big, "video/mp4")
    part = storage.client.upload_part(
        Bucket=storage.bucket, Key=big, UploadId=upload_id, PartNumber=1, Body=b"y"
    )
    storage.client.complete_multipart_upload(
        Bucket=storage.bucket,
        Key=big,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert stage_of(big) == "landing"


def test_a_delivery_failing_five_times_is_finished_by_the_cleanup_sweep(
    invoke: Invoke, published: Published, copies_refused: set[str]
) -> None:
    # given: an accepted upload whose copy S3 refuses on all 5 receives of its message
    upload = seed_upload(f"sweep-{uuid.uuid4().hex[:8]}")
    copies_refused.add(upload.media_key)
    message = notification_message(upload, "sweep-1")
    for _ in range(5):
        result = invoke("ProcessUploadFunction", sqs_event(message))
        assert result == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    # the message goes to the dead-letter queue; the upload is ACCEPTED, its only copy kept from the
    # stray-upload lifecycle rule by its tag, nothing announced yet
    repo, storage = default_repository(), default_storage()
    accepted = repo.get_upload(upload.upload_id)
    assert accepted is not None and accepted.status is UploadStatus.ACCEPTED and accepted.delivered_at is None
    assert stage_of(upload.key, accepted.version_id) == "accepted"
    assert storage.head(upload.media_key) is None
    assert published.about(upload.upload_id) == []

    # when: S3 copies again, and the cleanup runs once the delivery is overdue
    copies_refused.clear()
    later = datetime.now(UTC) + timedelta(seconds=get_settings().cleanup_grace_seconds + 60)
    first = clean_up_all(repo, storage, get_settings(), later)
    second = clean_up_all(repo, storage, get_settings(), later)

    # then: delivered once (the bytes in media/, the source gone, one event), and not again
    assert first.deliveries_overdue >= 1 and first.deliveries_finished >= 1
    delivered = repo.get_upload(upload.upload_id)
    assert delivered is not None and delivered.delivered_at is not None
    assert media_of(upload.user_id) == {upload.media_key: (CLIP, accepted.etag)}
    assert storage.head(upload.key) is None
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    assert (second.deliveries_overdue, second.deliveries_finished) == (0, 0)
    again = repo.get_upload(upload.upload_id)
    assert again is not None and again.delivered_at == delivered.delivered_at


@pytest.fixture
def ten_minutes_grace(monkeypatch: pytest.MonkeyPatch, lambda_env: dict[str, str]) -> Iterator[Settings]:
    """The template's default CleanupGraceSeconds (the test stack runs with none)."""
    monkeypatch.setenv("CLEANUP_GRACE_SECONDS", "600")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_a_delivery_not_yet_due_is_left_to_the_processor(
    invoke: Invoke, copies_refused: set[str], ten_minutes_grace: Settings
) -> None:
    """The sweep takes an accepted upload only once its grace is up: before, the processor's own
    retries are still on their way."""
    upload = seed_upload(f"sweep-{uuid.uuid4().hex[:8]}")
    copies_refused.add(upload.media_key)
    result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "sweep-2")))
    assert result["batchItemFailures"], result
    copies_refused.clear()

    nine_minutes_on = datetime.now(UTC) + timedelta(minutes=9)
    report = clean_up_all(default_repository(), default_storage(), ten_minutes_grace, nine_minutes_on)

    pending = default_repository().get_upload(upload.upload_id)
    assert pending is not None and pending.status is UploadStatus.ACCEPTED and pending.delivered_at is None
    assert default_storage().head(upload.media_key) is None
    assert report.deliveries_overdue == 0
    eleven_minutes_on = datetime.now(UTC) + timedelta(minutes=11)
    clean_up_all(default_repository(), default_storage(), ten_minutes_grace, eleven_minutes_on)
    due = default_repository().get_upload(upload.upload_id)
    assert due is not None and due.delivered_at is not None


def test_a_copy_in_parts_keeps_exactly_the_checked_bytes(in_parts: Settings) -> None:
    owner = f"parts-{uuid.uuid4().hex[:8]}"
    _, upload = seed(owner, BIG)
    storage = default_storage()

    def overwrite() -> None:  # the same key written again while the parts are copied
        storage.client.put_object(
            Bucket=storage.bucket, Key=upload.key, Body=b"other", ContentType="video/mp4"
        )

    with at_call("s3", "UploadPartCopy", overwrite, by="StartUploadFunction"):
        accept(upload, in_parts)

    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None and decided.status is UploadStatus.ACCEPTED and decided.delivered_at
    media = storage.client.get_object(Bucket=storage.bucket, Key=upload.media_key)
    assert sha256(media["Body"].read()) == sha256(BIG)
    assert media["ETag"].strip('"').endswith("-3")  # copied in three parts
    assert decided.etag == hashlib.md5(BIG).hexdigest()  # the record keeps the checked object's ETag


def test_a_copy_in_parts_goes_on_where_the_last_attempt_ran_out_of_time(in_parts: Settings) -> None:
    _, upload = seed(f"parts-{uuid.uuid4().hex[:8]}", BIG)
    calls = iter([60.0])  # time for one part, then none

    with pytest.raises(delivery.DeliveryUnfinished) as unfinished:
        accept(upload, in_parts, lambda: next(calls, 0.0))
    assert (unfinished.value.done, unfinished.value.parts) == (1, 3)
    started = default_repository().get_upload(upload.upload_id)
    assert started is not None and started.copy_id and started.delivered_at is None

    with counting("UploadPartCopy") as copied:
        accept(upload, in_parts)  # the retry

    assert copied == [2]  # only the two parts left
    done = default_repository().get_upload(upload.upload_id)
    assert done is not None and done.delivered_at is not None and done.copy_id is None
    media = default_storage().client.get_object(Bucket=default_storage().bucket, Key=upload.media_key)
    assert sha256(media["Body"].read()) == sha256(BIG)


@pytest.mark.parametrize("size", [1, 12], ids=["one copy", "in parts"])
def test_a_replaced_source_is_refused(size: int, in_parts: Settings, copies_refused: set[str]) -> None:
    """The checked version deleted and another written under the key (or, on an unversioned bucket,
    an object whose ETag is not the one checked): nothing is copied into media/, and the delivery
    fails instead of delivering bytes nobody checked."""
    content = mp4(PAYLOAD[: size * MIB])
    _, upload = seed(f"swap-{uuid.uuid4().hex[:8]}", content)
    copies_refused.add(upload.media_key)  # decided, not delivered
    with pytest.raises(ServiceUnavailable):
        accept(upload, in_parts)
    copies_refused.clear()
    repo, storage = default_repository(), default_storage()
    accepted = repo.get_upload(upload.upload_id)
    assert accepted is not None and accepted.status is UploadStatus.ACCEPTED and accepted.version_id
    storage.client.delete_object(Bucket=storage.bucket, Key=upload.key, VersionId=accepted.version_id)
    storage.client.put_object(
        Bucket=storage.bucket, Key=upload.key, Body=content[::-1], ContentType="video/mp4"
    )

    for record in (accepted, replace(accepted, version_id=None)):  # by version, and by ETag alone
        with pytest.raises(delivery.DeliveryFailed):
            delivery.deliver(storage, repo, record, landing.no_limit)
    assert storage.head(upload.media_key) is None
    # the sweep reports it lost (an alarm) once, and stops retrying it
    an_hour_on = datetime.now(UTC) + timedelta(hours=1)
    assert clean_up_all(repo, storage, get_settings(), an_hour_on).deliveries_lost >= 1
    assert upload.upload_id not in {u.upload_id for u in repo.stale_uploads(an_hour_on, 100_000)}
