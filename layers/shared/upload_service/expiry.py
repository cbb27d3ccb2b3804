"""Expired tokens leave the live set: the cleanup schedule, and a create at the cap, both call here.

Kept apart from `uploads` so the token API's functions, which need only `time_out_expired`, don't
load the upload-processing code at their cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from upload_service.config import Settings
from upload_service.models import TokenRecord, TokenStatus, UploadStatus
from upload_service.repository import Repository
from upload_service.storage import Storage


@dataclass
class CleanupReport:
    tokens_timed_out: int = 0
    uploads_expired: int = 0
    more: bool = False


def clean_up(repo: Repository, storage: Storage, settings: Settings, now: datetime) -> CleanupReport:
    """TIME_OUT live tokens past expiry (see `time_out_expired`), at most `cleanup_batch_size` a run.

    Reads only expired tokens (a range of the AllByExpiry index), lazily, a page of one batch at a
    time; a token is ended last, so a run that stops halfway is simply continued by the next.
    """
    report = CleanupReport()
    batch = settings.cleanup_batch_size
    for record in repo.expired_live(None, now, page_size=batch + 1):
        if report.tokens_timed_out >= batch:
            report.more = True
            break
        ended, expired = time_out_expired(repo, storage, record, settings, now)
        report.tokens_timed_out += ended
        report.uploads_expired += expired
    return report


def time_out_expired(
    repo: Repository, storage: Storage, record: TokenRecord, settings: Settings, now: datetime
) -> tuple[bool, int]:
    """TIMED_OUT an expired live token; returns (ended, uploads expired).

    A token with no unfinished upload ends at once: nothing can start on it any more (the condition
    re-checks that, as the index it was read from may lag behind an upload started just before
    expiry). One with unfinished uploads waits `cleanup_grace_seconds` after expiry, so an upload
    sent in time can still be decided; then those uploads are marked EXPIRED and their objects
    deleted before the token ends (so a run that stops halfway leaves the token for the next).
    """
    grace = timedelta(seconds=settings.cleanup_grace_seconds)
    in_grace = record.expires_at is not None and record.expires_at > now - grace
    if in_grace and record.uploads_open:
        return False, 0
    expired = 0
    if record.uploads_open:
        for upload in repo.pending_uploads(record.token):
            storage.delete(upload.key)
            expired += repo.reject_upload(upload, UploadStatus.EXPIRED, "token expired before upload", now)
    retention = timedelta(days=settings.record_retention_days)
    ended = repo.end_token(record, TokenStatus.TIMED_OUT, now, retention, unless_uploads_open=in_grace)
    return ended, expired
