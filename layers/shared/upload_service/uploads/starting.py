"""Starting an upload with a token: a recorded PENDING upload and a presigned target for it.
(What becomes of it when it lands is landing.py's.)"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from upload_service.core.config import Settings
from upload_service.core.errors import BadRequest, TokenNotFound, UploadLimitReached
from upload_service.core.ids import is_token_id, mask
from upload_service.core.observability import logger
from upload_service.core.records import TokenRecord, TokenStatus, UploadRecord, isoformat
from upload_service.core.storage import Storage
from upload_service.data.repository import Repository
from upload_service.uploads.file_rules import StartUploadRequest, UploadRules, UploadTarget

#: Shortest life worth handing out: a target that dies sooner could not carry a file anyway.
MIN_TARGET_SECONDS = 5


def refuse_a_file_in_the_body(content_type: str | None) -> None:
    """api.video's `POST /upload` takes the file itself (multipart/form-data, what its clients'
    `upload_with_upload_token` send); ours takes a JSON description and answers where to send it."""
    if content_type and content_type.split(";")[0].strip().lower() == "multipart/form-data":
        refusal = BadRequest.single(
            "body", "POST /upload takes a JSON description of the file, not the file."
        )
        refusal.detail = (
            'Send {"fileName", "fileSize", "contentType"} as JSON: the answer is a presigned S3 POST that '
            "takes the file. api.video's file upload (multipart/form-data) is not served here."
        )
        raise refusal


def require_token_parameter(value: str | None) -> None:
    if not value:
        raise BadRequest.single("token", "The token query parameter is required.")


def find_token(repo: Repository, value: str | None) -> TokenRecord | None:
    """The token a request names; a string that is not even shaped like one costs no read."""
    return repo.get_token(value) if value and is_token_id(value) else None


def live_token(record: TokenRecord | None, now: datetime) -> TokenRecord:
    """The token a request named, if it may upload now. Else a 404 whose title tells its holder why:
    they hold the credential, so "expired at …" or "revoked" tells them nothing but what to do next."""
    if record is None:
        raise TokenNotFound()
    status = record.effective_status(now)
    if status is TokenStatus.TIMED_OUT and record.expires_at is not None:
        raise TokenNotFound(f"The upload token expired at {isoformat(record.expires_at)}.")
    if status is TokenStatus.DELETED:
        raise TokenNotFound("The upload token was revoked.")
    if not record.is_live(now):  # FULL_UPLOAD, or timed out however it was
        raise TokenNotFound(f"The upload token has ended ({status.value}): it takes no more uploads.")
    return record


def upload_rules(record: TokenRecord | None, settings: Settings, now: datetime) -> UploadRules:
    """What a live token may still upload (`GET /uploads/{token}`)."""
    live = live_token(record, now)
    left = min(
        settings.uploads_per_token - live.uploads_reserved,
        settings.upload_attempts - live.uploads_started,
    )
    return UploadRules(
        expires_at=live.expires_at,
        uploads_left=max(0, left),
        max_file_size=settings.max_upload_bytes,
        allowed_content_types=sorted(settings.allowed_content_types),
    )


def start_upload(
    repo: Repository,
    storage: Storage,
    record: TokenRecord | None,
    request: StartUploadRequest,
    settings: Settings,
    now: datetime,
) -> UploadTarget:
    """A presigned POST for one file, recorded as a PENDING upload of a live token.

    `record` is the token the request named (read once, by the rate limiter); `request` was validated
    against `settings`: its name and type are normalised and allowed.
    """
    upload = new_upload(
        record,
        request.file_name,
        request.file_size,
        request.content_type,
        now,
        timedelta(seconds=settings.upload_target_ttl),
        checksum_sha256=request.checksum_sha256,
    )
    reserve(repo, upload, settings, now)
    expires = upload.target_expires_at
    url, fields = storage.presigned_post(
        upload.key,
        request.content_type,
        request.file_size,
        int((expires - now).total_seconds()),
        upload.checksum_sha256,
    )
    masked = mask(record.token) if record else ""
    logger.info("upload started", extra={"token": masked, "uploadId": upload.upload_id})
    return UploadTarget(
        upload_id=upload.upload_id, url=url, fields=fields, key=upload.key, expires_at=expires
    )


def new_upload(
    record: TokenRecord | None,
    file_name: str,
    file_size: int,
    content_type: str,
    now: datetime,
    lifetime: timedelta,
    *,
    checksum_sha256: str | None = None,
    checksum_algorithm: str | None = None,
) -> UploadRecord:
    """A PENDING upload of a live token (not stored yet): its target lives `lifetime` at most, never
    beyond the token. TokenNotFound when the token is dead or as good as expired."""
    record = live_token(record, now)
    expires = now + lifetime
    if record.expires_at is not None:
        expires = min(expires, record.expires_at)
    if expires - now < timedelta(seconds=MIN_TARGET_SECONDS):
        raise TokenNotFound(f"The upload token expires at {isoformat(expires)}: too soon for an upload.")
    return UploadRecord(
        token_ref=record.ref,
        upload_id=uuid.uuid4().hex,
        user_id=record.user_id,
        file_name=file_name,
        file_size=file_size,
        content_type=content_type,
        created_at=now,
        target_expires_at=expires,
        checksum_sha256=checksum_sha256,
        checksum_algorithm=checksum_algorithm,
    )


def reserve(repo: Repository, upload: UploadRecord, settings: Settings, now: datetime) -> None:
    """Record the upload and take one of its token's uploads (allowance and attempts), atomically."""
    retention = timedelta(days=settings.record_retention_days)
    try:
        repo.start_upload(upload, settings.uploads_per_token, settings.upload_attempts, now, retention)
    except UploadLimitReached:
        live_token(repo.get_token_by_ref(upload.token_ref), now)  # revoked or ended meanwhile: why
        raise
