"""An upload whose object landed before its target expired is decided by the landing rules however
late its processing runs: the cleanup that comes first decides it as the processor would (the
landing time is S3's), and the late redelivery finds it decided. Only a target nothing reached
expires."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Published
from tests.integration.conftest import clean_up_all
from tests.integration.test_processing import CLIP, notification_message, seed_upload, sqs_event
from upload_service.core.config import get_settings
from upload_service.core.ids import generate_token
from upload_service.core.records import TokenRecord, UploadRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.multipart import companion
from upload_service.multipart.wire import CompanionFile, PartRef
from upload_service.uploads import expiry

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def past_the_grace(upload: UploadRecord) -> datetime:
    """A moment the cleanup treats the upload's target as long overdue."""
    grace = timedelta(seconds=get_settings().cleanup_grace_seconds)
    return upload.target_expires_at + grace + timedelta(minutes=5)


def assert_accepted_once(upload: UploadRecord, content: bytes, published: Published) -> None:
    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None
    assert (decided.status, decided.reason) == (UploadStatus.ACCEPTED, None)
    assert decided.delivered_at is not None
    storage = default_storage()
    media = storage.client.get_object(Bucket=storage.bucket, Key=upload.media_key)["Body"].read()
    assert media == content
    assert storage.head(upload.key) is None
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    token = default_repository().get_token_by_ref(upload.token_ref)
    assert token is not None and token.uploads_accepted == 1


def test_a_post_that_landed_in_time_is_accepted_when_processing_is_late(
    invoke: Invoke, published: Published
) -> None:
    # given: the object landed while its target was valid; its message is delayed (retries, outage)
    upload = seed_upload(f"late-{uuid.uuid4().hex[:8]}")

    # when: the cleanup runs past the target's grace, then the message is delivered at last
    report = clean_up_all(default_repository(), default_storage(), get_settings(), past_the_grace(upload))
    result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "late-1")))

    # then: decided by the landing rules (it landed in time): ACCEPTED, delivered, one event
    assert result == {"batchItemFailures": []}
    assert report.landed_decided >= 1
    assert_accepted_once(upload, CLIP, published)


def test_a_completed_multipart_upload_is_accepted_when_processing_is_late(
    invoke: Invoke, published: Published
) -> None:
    # given: a multipart upload the client completed (it was told 200) in time
    settings, repo, storage = get_settings(), default_repository(), default_storage()
    now = datetime.now(UTC)
    token = TokenRecord.new(generate_token(), f"late-mp-{uuid.uuid4().hex[:8]}", 600, now)
    repo.create_token(token, max_live=10_000)
    file = CompanionFile.model_validate({"filename": "clip.mp4", "type": "video/mp4"}, context=settings)
    started = companion.start(repo, storage, token, file, settings, now)
    upload = repo.get_token_upload(token.ref, started.uploadId)
    assert upload is not None and upload.multipart_id
    part = storage.client.upload_part(
        Bucket=storage.bucket, Key=upload.key, UploadId=upload.multipart_id, PartNumber=1, Body=CLIP
    )
    companion.complete(
        repo, storage, upload, [PartRef(PartNumber=1, ETag=part["ETag"])], settings, datetime.now(UTC)
    )

    # when: the cleanup runs past the target's grace, then the message is delivered at last
    clean_up_all(repo, storage, settings, past_the_grace(upload))
    result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "late-mp")))

    # then
    assert result == {"batchItemFailures": []}
    assert_accepted_once(upload, CLIP, published)


def test_what_landed_after_the_target_expired_is_still_rejected_by_the_rules(
    lambda_env: dict[str, str],
) -> None:
    """The landing rules decide, not the cleanup: an object that landed after its token expired is
    REJECTED as the processor would reject it (the object deleted), and a target nothing reached
    EXPIRES."""
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    landed_late = seed_upload(f"late-{uuid.uuid4().hex[:8]}", ttl=60, created=long_ago)
    unused = seed_upload(f"late-{uuid.uuid4().hex[:8]}", ttl=60, created=long_ago, send=False)
    repo, storage = default_repository(), default_storage()

    clean_up_all(repo, storage, get_settings(), datetime.now(UTC))

    rejected, expired = repo.get_upload(landed_late.upload_id), repo.get_upload(unused.upload_id)
    assert rejected is not None and rejected.status is UploadStatus.REJECTED
    assert rejected.reason != expiry.TARGET_EXPIRED
    assert expired is not None and (expired.status, expired.reason) == (
        UploadStatus.EXPIRED,
        expiry.TARGET_EXPIRED,
    )
    assert storage.head(landed_late.key) is None
