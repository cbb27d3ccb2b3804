"""The api.video wire shape (camelCase, ISO-8601 with milliseconds) lives here only, with the
rules a request body is validated against. What is stored is in `records`."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
)
from pydantic.alias_generators import to_camel

from upload_service.core.records import (
    Forwarding,
    ForwardingStatus,
    Media,
    TokenRecord,
    TokenStatus,
    UploadRecord,
    UploadStatus,
    isoformat,
)

Timestamp = Annotated[datetime, PlainSerializer(isoformat, return_type=str)]
#: The longest `maxDurationSeconds` a token may set: a day.
MAX_DURATION_SECONDS = 86400


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    # defer_build: a model's validator is built on its first use, so a function builds only its own.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, defer_build=True
    )


class CreateTokenRequest(WireModel):
    """`POST /upload-tokens` body. Range rules depend on the caller, so they live in `tokens.access`."""

    # Requests (this and the two below) take the documented camelCase names only: the Python names
    # (`page_size`, `file_name`) are unknown parameters, a 400, as the API promises.
    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True, extra="forbid")

    ttl: StrictInt | None = Field(
        None, description="Seconds the token lives; 0 = never expires (admins only)."
    )
    max_duration_seconds: StrictInt | None = Field(
        None,
        ge=1,
        le=MAX_DURATION_SECONDS,
        description="The longest media, in seconds, an upload with this token may hold: a longer one is"
        " rejected at landing. Our extension of api.video's body (as Cloudflare Stream's"
        " `maxDurationSeconds`); absent: no limit.",
    )


class UploadToken(WireModel):
    """api.video's UploadToken, plus `userId` and `status` (ignored by api.video's clients)."""

    token: str = Field(examples=["to1tcmSFHeYY5KzyhOqVKMKb"])
    ttl: int
    created_at: Timestamp
    expires_at: Timestamp | None
    user_id: str
    status: TokenStatus
    max_duration_seconds: int | None = Field(
        None,
        description="The longest media its uploads may hold, in seconds (our extension); null: no limit.",
    )

    @classmethod
    def from_record(cls, record: TokenRecord, now: datetime) -> UploadToken:
        return cls(
            token=record.token,
            ttl=record.ttl,
            created_at=record.created_at,
            expires_at=record.expires_at,
            user_id=record.user_id,
            status=record.effective_status(now),
            max_duration_seconds=record.max_duration_seconds,
        )


class ForwardingInfo(WireModel):
    """An accepted upload on its way to the video platform (VideoPlatform=apivideo)."""

    status: ForwardingStatus
    video_id: str | None = Field(
        None, description="api.video's videoId, once the video is made (before its first byte is sent)."
    )
    bytes_sent: int = Field(description="Bytes api.video acknowledged; a retry resumes there.")
    attempts: int
    error: str | None = Field(
        description="The last error, in a fixed wording (e.g. `api.video unreachable; retrying`,"
        " `api.video refused the upload: <its problem title>`); the details are in the logs only."
    )

    @classmethod
    def from_record(cls, forwarding: Forwarding) -> ForwardingInfo:
        return cls(
            status=forwarding.status,
            video_id=forwarding.video_id,
            bytes_sent=forwarding.bytes_sent,
            attempts=forwarding.attempts,
            error=forwarding.error or None,
        )


class MediaInfo(WireModel):
    """What an upload's structure showed at landing: null members where the file has none (images have
    width and height only)."""

    container: str = Field(description="`mp4`, `mov`, `webm`, `matroska`, `jpeg` or `png`.", examples=["mp4"])
    duration_seconds: float | None = Field(examples=[2.0])
    width: int | None = Field(examples=[160])
    height: int | None = Field(examples=[120])
    video_codec: str | None = Field(examples=["h264"])
    audio_codec: str | None = Field(examples=["aac"])

    @classmethod
    def from_record(cls, media: Media) -> MediaInfo:
        return cls(**asdict(media))


class UploadInfo(WireModel):
    upload_id: str
    file_name: str
    file_size: int
    content_type: str
    detected_type: str | None = Field(
        None, description="The type the file's first bytes showed at landing (null until checked)."
    )
    status: UploadStatus
    reason: str | None
    created_at: Timestamp
    forwarding: ForwardingInfo | None = Field(
        None, description="Its forwarding to api.video; null where the deployment does not forward."
    )
    checksum_sha256: str | None = Field(
        None, description="The file's SHA-256 (base64) declared when the upload started; null if none was."
    )
    media: MediaInfo | None = Field(
        None, description="What its structure showed at landing; null until then, or when it was not read."
    )

    @classmethod
    def from_record(cls, record: UploadRecord) -> UploadInfo:
        return cls(
            upload_id=record.upload_id,
            file_name=record.file_name,
            file_size=record.object_size if record.object_size is not None else record.file_size,
            content_type=record.content_type,
            detected_type=record.detected_type,
            status=record.status,
            reason=record.reason,
            created_at=record.created_at,
            forwarding=ForwardingInfo.from_record(record.forwarding) if record.forwarding else None,
            checksum_sha256=record.checksum_sha256,
            media=MediaInfo.from_record(record.media) if record.media else None,
        )


class TokenDetail(UploadToken):
    """`GET /upload-tokens/{token}`: the token and its uploads."""

    uploads: list[UploadInfo]


_DIGITS = re.compile(r"[0-9]{1,9}")


def _query_int(value: Any) -> Any:
    """Query integers are plain decimal digits: `2.0`, `+2` or ` 2` are refused, not coerced."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written with digits only")
    return value


QueryInt = Annotated[int, BeforeValidator(_query_int)]


class SortBy(StrEnum):
    CREATED_AT = "createdAt"
    TTL = "ttl"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class ListTokensQuery(WireModel):
    """`GET /upload-tokens` query string."""

    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True, extra="forbid")

    sort_by: SortBy = SortBy.CREATED_AT
    sort_order: SortOrder = SortOrder.ASC
    current_page: QueryInt = Field(1, ge=1)
    page_size: QueryInt = Field(25, ge=1, le=100)
    user_id: str | None = Field(None, min_length=1, max_length=128, description="Admins only.")


class PaginationLink(WireModel):
    rel: str
    uri: str


class Pagination(WireModel):
    current_page: int
    current_page_items: int
    page_size: int
    pages_total: int
    items_total: int
    links: list[PaginationLink]


class TokenList(WireModel):
    data: list[UploadToken]
    pagination: Pagination


class ProblemDetail(WireModel):
    type: str
    title: str
    name: str | None = None
    status: int


class Problem(ProblemDetail):
    """An RFC 7807 problem document in api.video's shape. The Companion routes (Uppy) add `message`:
    what Uppy shows the user."""

    detail: str | None = None
    problems: list[ProblemDetail] | None = None
    message: str | None = None
