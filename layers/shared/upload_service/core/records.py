"""What is stored: tokens and uploads as records, their statuses, and the timestamp format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from upload_service.core.ids import token_ref


def isoformat(moment: datetime) -> str:
    """`2020-12-02T10:26:46.000Z`: UTC, milliseconds, a `Z` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_isoformat(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TokenStatus(StrEnum):
    """Kaltura's upload-token lifecycle; PENDING and PARTIAL_UPLOAD tokens are live (usable)."""

    PENDING = "PENDING"
    PARTIAL_UPLOAD = "PARTIAL_UPLOAD"
    FULL_UPLOAD = "FULL_UPLOAD"
    CLOSED = "CLOSED"
    TIMED_OUT = "TIMED_OUT"
    DELETED = "DELETED"


LIVE_STATUSES = frozenset({TokenStatus.PENDING, TokenStatus.PARTIAL_UPLOAD})


@dataclass(frozen=True)
class TokenRecord:
    """A token as stored: who owns it, when it dies, where it is in its lifecycle.

    `uploads_reserved` counts uploads started and not rejected (what the allowance limits),
    `uploads_open` those not decided yet, `uploads_accepted` those accepted, `uploads_started` every
    one started, whatever became of it (what UploadAttemptsPerToken limits). `max_duration_seconds`
    is the longest media its uploads may hold (None: no limit).
    """

    token: str
    user_id: str
    ttl: int
    created_at: datetime
    expires_at: datetime | None
    status: TokenStatus = TokenStatus.PENDING
    uploads_reserved: int = 0
    uploads_open: int = 0
    uploads_accepted: int = 0
    uploads_started: int = 0
    max_duration_seconds: int | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def is_live(self, now: datetime) -> bool:
        return self.status in LIVE_STATUSES and not self.is_expired(now)

    def effective_status(self, now: datetime) -> TokenStatus:
        """The status a reader sees: a live token past its expiry is TIMED_OUT even before cleanup runs."""
        if self.status in LIVE_STATUSES and self.is_expired(now):
            return TokenStatus.TIMED_OUT
        return self.status

    @property
    def ref(self) -> str:
        """The key of this token's records (see `ids.token_ref`)."""
        return token_ref(self.token)

    @classmethod
    def new(
        cls, token: str, user_id: str, ttl: int, now: datetime, max_duration_seconds: int | None = None
    ) -> TokenRecord:
        expires_at = now + timedelta(seconds=ttl) if ttl else None
        return cls(
            token=token,
            user_id=user_id,
            ttl=ttl,
            created_at=now,
            expires_at=expires_at,
            max_duration_seconds=max_duration_seconds,
        )


class UploadStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class ForwardingStatus(StrEnum):
    """Where an accepted upload is on its way to the video platform."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    FORWARDED = "FORWARDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Forwarding:
    """An accepted upload's forwarding: the platform's video id and the bytes it acknowledged (a retry
    resumes there), how many attempts it took, the last error. `lease_owner`/`lease_until` name the
    forwarder working on it now, so that two never send the same upload at once."""

    status: ForwardingStatus
    video_id: str | None = None
    bytes_sent: int = 0
    attempts: int = 0
    invocations: int = 0
    error: str | None = None
    lease_owner: str | None = None
    lease_until: int = 0
    event_sent: bool = False


@dataclass(frozen=True)
class Media:
    """What a file's structure says it holds: its container, how long it runs, its picture size and
    codecs (None where it has none: images have width and height only)."""

    container: str
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None


@dataclass(frozen=True)
class UploadRecord:
    """One upload started with a token: what was declared, and what became of it.

    It names its token by reference only (`token_ref`): the token string is a credential and lives
    in the token's own record. `version_id` and `etag` pin the object the decision was made on;
    `detected_type` is what its first bytes showed (when they were read). `multipart_id` is S3's
    UploadId of a multipart upload (Uppy's Companion routes; None for a presigned POST). An accepted
    upload is `delivered_at` once its object is in media/; `copy_id` is the multipart copy on its way
    there (a large object's, see `delivery`). `checksum_sha256` is the file's SHA-256 (base64) the
    client declared, if it did: S3 verified a POST's bytes against it, the forwarder checks what it sends.
    `checksum_algorithm` is "SHA256" for a multipart upload whose parts each carry their SHA-256 (S3
    created it so: it refuses a part without one). `media` is what its structure showed (accepted uploads).
    """

    token_ref: str
    upload_id: str
    user_id: str
    file_name: str
    file_size: int
    content_type: str
    created_at: datetime
    target_expires_at: datetime
    status: UploadStatus = UploadStatus.PENDING
    reason: str | None = None
    object_size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    detected_type: str | None = None
    event_sent: bool = False
    forwarding: Forwarding | None = None
    multipart_id: str | None = None
    delivered_at: datetime | None = None
    copy_id: str | None = None
    checksum_sha256: str | None = None
    checksum_algorithm: str | None = None
    media: Media | None = None

    @property
    def key(self) -> str:
        """Where the client uploads it: the upload id (random) and the file name, never the token."""
        return f"uploads/{self.upload_id}/{self.file_name}"

    @property
    def media_key(self) -> str:
        """Where an accepted upload ends up, attributed to the token's owner."""
        return f"media/{self.user_id}/{self.upload_id}/{self.file_name}"
