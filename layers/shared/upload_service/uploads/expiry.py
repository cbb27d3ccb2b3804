"""What runs out, and what the processor left unfinished: upload targets handed out and never used,
tokens past expiry, objects that landed in time but were never decided, accepted uploads not yet
delivered. The cleanup schedule calls here; revoking a token decides its open uploads here too.

Kept apart from `starting` so the token API's functions don't load the upload-processing code at
their cold start (the cleanup loads `landing` when it has something landed to decide).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from upload_service.core.config import Settings
from upload_service.core.observability import logger
from upload_service.core.records import TokenRecord, TokenStatus, UploadRecord, UploadStatus
from upload_service.core.storage import Storage
from upload_service.data.repository import Repository
from upload_service.data.tokens import TokenChanged
from upload_service.data.uploads import UploadDecided, UploadStore

TARGET_EXPIRED = "upload target expired unused"
TOKEN_REVOKED = "token revoked"
ABORTED_BY_CLIENT = "upload aborted by the client"


@dataclass
class CleanupReport:
    tokens_timed_out: int = 0
    uploads_expired: int = 0
    #: PENDING uploads whose object had landed (their message late or lost), decided as on arrival.
    landed_decided: int = 0
    #: ACCEPTED uploads found still undelivered past their grace (the processor could not finish)...
    deliveries_overdue: int = 0
    #: ... those this run delivered...
    deliveries_finished: int = 0
    #: ... and those whose object is gone (deleted by someone): out of the sweep, alarmed.
    deliveries_lost: int = 0
    #: Uploads this run could not settle (an error, or time ran out): the next run tries again.
    unsettled: int = 0
    more: bool = False


def clean_up(
    repo: Repository,
    storage: Storage,
    settings: Settings,
    now: datetime,
    time_left: Callable[[], float] | None = None,
) -> CleanupReport:
    """One run: settle the uploads whose work is overdue, then TIMED_OUT the live tokens past expiry,
    at most `cleanup_batch_size` of each (the next run continues).

    Both read only what is due (a range of a sparse index, oldest first), lazily. An upload is
    overdue `cleanup_grace_seconds` after its target expired (PENDING) or after it was accepted
    (not yet delivered): what landed in time is decided by the landing rules however late, an
    accepted upload is delivered, and only a target that nothing reached expires. A token's targets
    never outlive the token, so once they are decided it ends.
    """
    report = CleanupReport()
    batch = settings.cleanup_batch_size
    grace = timedelta(seconds=settings.cleanup_grace_seconds)
    stale = repo.stale_uploads(now - grace, limit=batch + 1)
    report.more = len(stale) > batch
    for upload in stale[:batch]:
        try:
            _settle(repo, storage, upload, settings, now, time_left, report)
        except Exception:  # one upload's trouble must not hold up the others: the next run retries
            logger.exception("could not settle an upload", extra={"uploadId": upload.upload_id})
            report.unsettled += 1
    for record in repo.expired_live(None, now, page_size=batch + 1):
        if report.tokens_timed_out >= batch:
            report.more = True
            break
        report.tokens_timed_out += time_out_expired(repo, record, settings, now)
    return report


def _settle(
    repo: Repository,
    storage: Storage,
    upload: UploadRecord,
    settings: Settings,
    now: datetime,
    time_left: Callable[[], float] | None,
    report: CleanupReport,
) -> None:
    """An overdue upload, as the processor would have left it: delivered, decided, or expired."""
    from upload_service.uploads import landing  # the content checks, loaded only when something landed
    from upload_service.uploads.delivery import DeliveryFailed, DeliveryUnfinished
    from upload_service.uploads.notifications import Arrival

    limit = time_left or landing.no_limit
    if upload.status is UploadStatus.ACCEPTED:
        report.deliveries_overdue += 1
        try:
            landing.finish(repo, storage, upload, settings, now, limit)
        except DeliveryUnfinished as unfinished:
            logger.info(
                "delivery goes on next run", extra={"uploadId": upload.upload_id, "reason": str(unfinished)}
            )
            report.unsettled += 1
            return
        except DeliveryFailed:
            logger.exception("accepted upload lost: its object is gone", extra={"uploadId": upload.upload_id})
            repo.mark_lost(upload, now)
            report.deliveries_lost += 1
            return
        report.deliveries_finished += 1
        return
    landed = storage.head(upload.key)
    if landed is None:
        report.uploads_expired += expire_upload(repo, storage, upload, TARGET_EXPIRED, now)
        return
    arrival = Arrival(
        storage.bucket,
        upload.key,
        landed.last_modified or now,
        version_id=landed.version_id,
        etag=landed.etag,
    )
    landing.process_arrival(repo, storage, arrival, settings, now, limit)
    report.landed_decided += 1


def time_out_expired(repo: UploadStore, record: TokenRecord, settings: Settings, now: datetime) -> bool:
    """TIMED_OUT an expired live token that has no undecided upload left; False if it still has one
    (its target is in its grace period) or someone else ended it first. The condition re-checks that
    no upload is open, as the index it was read from may lag behind an upload started at the end."""
    retention = timedelta(days=settings.record_retention_days)
    return repo.end_token(record, TokenStatus.TIMED_OUT, now, retention, unless_uploads_open=True)


def expire_upload(
    repo: UploadStore,
    storage: Storage | None,
    upload: UploadRecord,
    reason: str,
    now: datetime,
    status: UploadStatus = UploadStatus.EXPIRED,
) -> bool:
    """Decide one undecided upload (EXPIRED, or REJECTED for a revoked token) and, given `storage`,
    delete whatever of it reached the bucket; False if it was decided meanwhile (by the processor).
    Without `storage`, an object still on its way is deleted by the processor when it lands."""
    try:
        repo.reject_upload(upload, status, reason, now)
    except UploadDecided:
        return False
    except TokenChanged:  # its token is gone (purged): decide the upload alone
        repo.reject_upload(upload, status, reason, now, token_exists=False)
    if storage is not None:
        abort_multipart(storage, upload)
        storage.purge(upload.key)
    return True


def abort_multipart(storage: Storage, upload: UploadRecord) -> None:
    """A multipart upload's S3 upload aborted, its parts dropped (nothing if it is not one, or S3
    knows it no more). After the decision: a part sent meanwhile is dropped with the rest."""
    if upload.multipart_id:
        storage.abort_multipart(upload.key, upload.multipart_id)


def abort_open_upload(
    repo: UploadStore,
    storage: Storage,
    upload: UploadRecord,
    reason: str,
    now: datetime,
    status: UploadStatus,
) -> bool:
    """Decide an open multipart upload (`status`, `reason`) and abort its S3 upload; the abort is
    made even if someone else decided it first (a revoke, the cleanup): it is idempotent."""
    decided = expire_upload(repo, None, upload, reason, now, status)
    abort_multipart(storage, upload)
    return decided


def decide_open_uploads(
    repo: UploadStore, record: TokenRecord, now: datetime, storage: Storage | None = None
) -> int:
    """A revoked token's undecided uploads, REJECTED at once (at most its allowance of them); given
    `storage`, their multipart uploads are aborted (an object still on its way by POST is deleted by
    the processor when it lands)."""
    decided = 0
    for upload in repo.pending_uploads(record.ref):
        decided += expire_upload(repo, None, upload, TOKEN_REVOKED, now, UploadStatus.REJECTED)
        if storage is not None:
            abort_multipart(storage, upload)
    return decided
