"""What becomes of an object that landed in uploads/: read what is known of it, decide (a pure
function of what was read), record the decision in one transaction, then its effects in order."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from upload_service.core.config import Settings
from upload_service.core.observability import logger
from upload_service.core.publisher import ACCEPTED, REJECTED, publish, upload_detail
from upload_service.core.records import Media, TokenRecord, TokenStatus, UploadRecord, UploadStatus
from upload_service.core.storage import Storage, StoredObject
from upload_service.data.repository import Repository, TokenChanged, UploadDecided
from upload_service.uploads.content import SNIFF_BYTES, Sniffed, sniff
from upload_service.uploads.delivery import deliver
from upload_service.uploads.media.probe import HEAD_BYTES, Rejection, probe, walks
from upload_service.uploads.notifications import Arrival

_KEY = re.compile(r"uploads/(?P<upload_id>[0-9a-f]{32})/(?P<file_name>[^/]+)")


@dataclass
class Decision:
    outcome: str
    reason: str | None = None
    upload_id: str | None = None


def rejection_reason(
    token: TokenRecord | None,
    upload: UploadRecord,
    size: int,
    content_type: str,
    arrival: datetime,
    settings: Settings,
) -> str | None:
    """Why what arrived may not be kept, judged on its metadata, or None. S3 enforces the POST policy
    (key, type, size) but not the token's life or its revocation after the target was handed out,
    so this is the guarantee."""
    if token is None:
        return "unknown token"
    if token.status is TokenStatus.DELETED:
        return "token revoked"
    if token.expires_at is not None and arrival > token.expires_at:
        return "token expired before the upload arrived"
    if token.status not in (TokenStatus.PENDING, TokenStatus.PARTIAL_UPLOAD):
        return f"token is {token.status.value}"
    if arrival > upload.target_expires_at:
        return "upload target expired before the upload arrived"
    if size <= 0:
        return "empty file"
    if size > upload.file_size or size > settings.max_upload_bytes:
        return f"file of {size} bytes is larger than the {upload.file_size} declared"
    if content_type != upload.content_type or content_type not in settings.allowed_content_types:
        return f"content type {content_type or 'none'} is not the {upload.content_type} declared"
    return None


def content_reason(content: Sniffed, declared: str, settings: Settings) -> str | None:
    """Why a file's first bytes rule it out, or None: they must show the declared type's family, and
    bytes that match no known signature pass only where the deployment allows it."""
    if content.agrees:
        return None
    if content.detected is None:
        if settings.accept_unidentified_content:
            return None
        return "content unidentified: the file's first bytes match no known type"
    return f"content mismatch: the file is {content.detected}, not the {declared} declared"


def duration_reason(media: Media, token: TokenRecord | None) -> str | None:
    """Why the media runs too long for its token, or None."""
    limit = token.max_duration_seconds if token else None
    if limit is None or media.duration_seconds is None or media.duration_seconds <= limit:
        return None
    return f"media runs {media.duration_seconds:g} seconds, longer than the {limit} seconds the token allows"


def no_limit() -> float:
    """Time left for callers outside a Lambda invocation: no limit."""
    return math.inf


def process_arrival(
    repo: Repository,
    storage: Storage,
    arrival: Arrival,
    settings: Settings,
    now: datetime,
    time_left: Callable[[], float] = no_limit,
) -> Decision:
    """Accept or reject one arrived object: read, decide, record the decision, then its effects.

    Safe to repeat and to run side by side: the decision is one conditional write, and a decided
    upload is only finished again. Whatever cannot be recorded raises, so the message is retried.
    The file's first bytes are read at most once per object version, and only when everything else
    about it passed; then its structure (uploads.media: a few ranged reads, bounded), which must be
    well formed for the declared type and run no longer than the token allows (bytes of no known type,
    which a deployment may let through, are not walked).
    `arrival.time` is when the object landed (S3's word): what landed in time is
    judged as such however late this runs (the cleanup decides one whose message is late).
    """
    parsed = _KEY.fullmatch(arrival.key)
    upload = repo.get_upload(parsed["upload_id"]) if parsed else None
    if upload is None or parsed is None or upload.file_name != parsed["file_name"]:
        reason = "key matches no upload" if parsed is None else "no pending upload for this key"
        storage.purge(arrival.key)
        publish(REJECTED, {"key": arrival.key, "reason": reason, "status": "REJECTED"})
        return Decision("rejected", reason)
    heads: dict[str | None, tuple[Sniffed, bytes]] = {}
    probed: dict[str | None, Media | Rejection] = {}
    while upload.status is UploadStatus.PENDING:
        stored = storage.head(upload.key)
        if stored is None:
            return Decision("gone", upload_id=upload.upload_id)  # purged meanwhile; its decision is elsewhere
        token = repo.get_token_by_ref(upload.token_ref)
        verdict = rejection_reason(token, upload, stored.size, stored.content_type, arrival.time, settings)
        content = None
        if verdict is None:
            read = heads.get(stored.version_id) or _sniff(storage, stored, upload.content_type)
            if read is None:
                continue  # replaced or deleted since the head: look again
            heads[stored.version_id] = read
            content = read[0]
            verdict = content_reason(content, upload.content_type, settings)
        media = None
        if verdict is None and content is not None and content.agrees and walks(upload.content_type):
            head = heads[stored.version_id][1]
            found = probed.get(stored.version_id) or probe(storage, stored, upload.content_type, head)
            if found is None:
                continue  # replaced or deleted while it was read: look again
            probed[stored.version_id] = found
            media = found if isinstance(found, Media) else None
            verdict = found.reason if isinstance(found, Rejection) else duration_reason(found, token)
        detected = content.detected if content else None
        try:
            if verdict is None:
                upload = repo.accept_upload(upload, stored, now, detected, media)
            else:
                upload = repo.reject_upload(
                    upload,
                    UploadStatus.REJECTED,
                    verdict,
                    now,
                    stored,
                    token_exists=token is not None,
                    detected_type=detected,
                    media=media,
                )
        except UploadDecided:  # another delivery, a revoke or the cleanup decided it first
            decided = repo.get_upload(upload.upload_id)
            if decided is None:
                return Decision("gone", upload_id=upload.upload_id)  # purged with its token
            upload = decided
        except TokenChanged:
            continue  # the token left the live set (for good): judge again
    return finish(repo, storage, upload, settings, now, time_left)


def _sniff(storage: Storage, stored: StoredObject, declared: str) -> tuple[Sniffed, bytes] | None:
    """What the file's first bytes show, and those bytes: one ranged read of HEAD_BYTES, which the
    structure check walks from (a small file's whole structure is in it)."""
    head = storage.read_start(stored, HEAD_BYTES)
    return None if head is None else (sniff(head[:SNIFF_BYTES], declared), head)


def finish(
    repo: Repository,
    storage: Storage,
    upload: UploadRecord,
    settings: Settings,
    now: datetime,
    time_left: Callable[[], float] = no_limit,
) -> Decision:
    """The decision's effects, in order and each safe to repeat: an accepted object is tagged as
    such (no lifecycle rule expires it any more) and delivered to media/ (exactly the version
    checked: delivery.py), the source goes, the upload is marked delivered, a full token is closed,
    and the event goes out once (claimed by a conditional write first, given back if publishing
    fails). A delivery that runs out of time raises DeliveryUnfinished: the next attempt goes on."""
    if upload.status is UploadStatus.ACCEPTED and upload.delivered_at is None:
        storage.mark_accepted(_checked(upload))
        deliver(storage, repo, upload, time_left)
    found = storage.purge(upload.key, upload.version_id)
    if upload.object_size is None and found is not None:  # decided before it landed (revoke, cleanup)
        upload = replace(upload, object_size=found.size, etag=found.etag, version_id=found.version_id)
    if upload.status is UploadStatus.ACCEPTED:
        repo.mark_delivered(upload, now)  # after the purge: a crash before it leaves the sweep to finish
        retention = timedelta(days=settings.record_retention_days)
        repo.close_if_full(upload.token_ref, settings.uploads_per_token, now, retention)
    if not upload.event_sent and repo.claim_event(upload):
        try:
            publish(ACCEPTED if upload.status is UploadStatus.ACCEPTED else REJECTED, upload_detail(upload))
        except Exception:
            repo.release_event(upload)
            raise
    outcome = "accepted" if upload.status is UploadStatus.ACCEPTED else "rejected"
    logger.info(f"upload {outcome}", extra={"uploadId": upload.upload_id, "reason": upload.reason})
    return Decision(outcome, upload.reason, upload.upload_id)


def _checked(upload: UploadRecord) -> StoredObject:
    """The object the decision was made on."""
    return StoredObject(
        upload.key, upload.object_size or 0, upload.content_type, upload.etag or "", upload.version_id
    )
