"""Abandoned multipart uploads (Uppy's Companion routes): the scheduled cleanup finds them through
the sparse index of open uploads, like any target never used, EXPIRES them and aborts S3's upload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.integration.conftest import clean_up_all
from upload_service.core.config import get_settings
from upload_service.core.ids import generate_token
from upload_service.core.records import TokenRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.multipart import companion
from upload_service.multipart.wire import CompanionFile
from upload_service.uploads import expiry


def test_the_cleanup_aborts_an_abandoned_multipart_upload(lambda_env: dict[str, str]) -> None:
    # given: a multipart upload with a part stored, then abandoned
    settings, repo, storage = get_settings(), default_repository(), default_storage()
    now = datetime.now(UTC)
    record = TokenRecord.new(generate_token(), f"mp-{uuid.uuid4().hex[:8]}", 0, now)  # never expires
    repo.create_token(record, max_live=10_000)
    file = CompanionFile.model_validate({"filename": "clip.mp4", "type": "video/mp4"}, context=settings)
    started = companion.start(repo, storage, record, file, settings, now)
    upload = repo.get_token_upload(record.ref, started.uploadId)
    assert upload is not None and upload.multipart_id
    storage.client.upload_part(
        Bucket=storage.bucket, Key=upload.key, UploadId=upload.multipart_id, PartNumber=1, Body=b"x" * 100
    )
    assert storage.list_parts(upload.key, upload.multipart_id)

    # when: the cleanup runs once its time (a day, for a token that never expires) and grace are up
    later = now + companion.MULTIPART_LIFETIME + timedelta(seconds=settings.cleanup_grace_seconds + 1)
    clean_up_all(repo, storage, settings, later)

    # then: EXPIRED, and S3 holds nothing of it
    decided = repo.get_token_upload(record.ref, upload.upload_id)
    assert decided is not None and decided.status is UploadStatus.EXPIRED
    assert decided.reason == expiry.TARGET_EXPIRED
    listing = storage.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=upload.key)
    assert not listing.get("Uploads")
