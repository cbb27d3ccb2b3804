"""Upload logic: starting an upload with a token, deciding what arrived, cleaning up expired tokens."""

from __future__ import annotations

import json
import re
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from upload_service.config import Settings
from upload_service.errors import BadRequest, TokenNotFound
from upload_service.ids import is_token_id, mask
from upload_service.models import (
    StartUploadRequest,
    TokenRecord,
    TokenStatus,
    UploadRecord,
    UploadStatus,
    UploadTarget,
)
from upload_service.observability import logger
from upload_service.publisher import ACCEPTED, REJECTED, publish, upload_detail
from upload_service.repository import Repository, TokenChanged
from upload_service.storage import Storage

_KEY = re.compile(r"uploads/(?P<token>[^/]+)/(?P<upload_id>[0-9a-f]{32})/(?P<file_name>[^/]+)")
#: Shortest life worth handing out: a target that dies sooner could not carry a file anyway.
MIN_TARGET_SECONDS = 5


def start_upload(
    repo: Repository,
    storage: Storage,
    token: str | None,
    request: StartUploadRequest,
    settings: Settings,
    now: datetime,
) -> UploadTarget:
    """A presigned POST for one file, recorded as a PENDING upload of a live token.

    `request` was validated against `settings`: its name and type are normalised and allowed.
    """
    if not token:
        raise BadRequest.single("token", "The token query parameter is required.")
    record = repo.get_token(token) if is_token_id(token) else None
    if record is None or not record.is_live(now):
        raise TokenNotFound()
    expires = now + timedelta(seconds=settings.upload_target_ttl)
    if record.expires_at is not None:
        expires = min(expires, record.expires_at)
    if expires - now < timedelta(seconds=MIN_TARGET_SECONDS):
        raise TokenNotFound()  # as good as expired
    upload = UploadRecord(
        token=token,
        upload_id=uuid.uuid4().hex,
        user_id=record.user_id,
        file_name=request.file_name,
        file_size=request.file_size,
        content_type=request.content_type,
        created_at=now,
        target_expires_at=expires,
    )
    repo.start_upload(upload, settings.uploads_per_token, now)
    url, fields = storage.presigned_post(
        upload.key, request.content_type, request.file_size, int((expires - now).total_seconds())
    )
    logger.info("upload started", extra={"token": mask(token), "uploadId": upload.upload_id})
    return UploadTarget(
        upload_id=upload.upload_id, url=url, fields=fields, key=upload.key, expires_at=expires
    )


# -- processing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One object S3 says was created."""

    bucket: str
    key: str
    time: datetime
    sequencer: str

    @classmethod
    def from_s3_record(cls, record: dict[str, Any]) -> Arrival:
        s3 = record["s3"]
        return cls(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(s3["object"]["key"]),  # S3 encodes spaces as "+", moto also "/" as %2F
            time=datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00")),
            sequencer=str(s3["object"].get("sequencer", "")),
        )


def arrivals(body: str) -> list[Arrival]:
    """The ObjectCreated records of an SQS message body; [] for s3:TestEvent. ValueError if malformed."""
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("not an S3 event notification")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an S3 event notification")
    try:
        return [
            Arrival.from_s3_record(r)
            for r in records
            if str(r.get("eventName", "")).startswith("ObjectCreated")
        ]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed S3 record: {exc}") from exc


@dataclass
class Decision:
    outcome: str
    reason: str | None = None
    upload_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def rejection_reason(
    token: TokenRecord | None,
    upload: UploadRecord,
    size: int,
    content_type: str,
    arrival: datetime,
    settings: Settings,
) -> str | None:
    """Why what arrived may not be kept, or None. S3 checked none of this for URLs handed out earlier,
    and the emulator checks no POST policy at all, so this is the guarantee."""
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


def process_arrival(
    repo: Repository, storage: Storage, arrival: Arrival, settings: Settings, now: datetime
) -> Decision:
    """Accept or reject one arrived object. Safe to repeat: a decided upload is only finished again."""
    parsed = _KEY.fullmatch(arrival.key)
    if parsed is None or not is_token_id(parsed["token"]):
        storage.delete(arrival.key)
        publish(REJECTED, {"key": arrival.key, "reason": "key matches no upload", "status": "REJECTED"})
        return Decision("rejected", "key matches no upload")
    upload = repo.get_upload(parsed["token"], parsed["upload_id"])
    if upload is None or upload.file_name != parsed["file_name"]:
        storage.delete(arrival.key)
        publish(
            REJECTED, {"key": arrival.key, "reason": "no pending upload for this key", "status": "REJECTED"}
        )
        return Decision("rejected", "no pending upload for this key")
    retention = timedelta(days=settings.record_retention_days)
    for _ in range(5):
        if upload.status is not UploadStatus.PENDING:
            break  # decided by an earlier delivery: only finish it
        stored = storage.head(upload.key)
        if stored is None:
            return Decision("gone", upload_id=upload.upload_id)  # already moved or deleted
        token = repo.get_token(upload.token)
        reason = rejection_reason(token, upload, stored.size, stored.content_type, arrival.time, settings)
        if reason is not None:
            repo.reject_upload(upload, UploadStatus.REJECTED, reason, now)
        else:
            assert token is not None
            storage.copy(upload.key, upload.media_key)
            # TokenChanged: another upload of this token was decided meanwhile; read again
            with suppress(TokenChanged):
                repo.accept_upload(
                    token, upload, stored.size, stored.etag, settings.uploads_per_token, now, retention
                )
        upload = repo.get_upload(upload.token, upload.upload_id) or upload
    return _finish(repo, storage, upload)


def _finish(repo: Repository, storage: Storage, upload: UploadRecord) -> Decision:
    """The decision's side effects, each safe to repeat: the source object goes, and the event goes out
    once (claimed by a conditional write first, the claim given back if publishing fails)."""
    storage.delete(upload.key)
    if not upload.event_sent and repo.claim_event(upload):
        try:
            publish(ACCEPTED if upload.status is UploadStatus.ACCEPTED else REJECTED, upload_detail(upload))
        except Exception:
            repo.release_event(upload)
            raise
    outcome = "accepted" if upload.status is UploadStatus.ACCEPTED else "rejected"
    logger.info(f"upload {outcome}", extra={"uploadId": upload.upload_id, "reason": upload.reason})
    return Decision(outcome, upload.reason, upload.upload_id)
