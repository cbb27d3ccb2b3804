"""What a file an upload may be: the deployment's rules on its name, type and size, the request
that starts one (`POST /upload`) and its target, and the rules as a token's holder is told them
(`GET /uploads/{token}`, what a frontend turns into its uploader's restrictions). The Companion
routes (multipart/wire.py) apply the same rules."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

from pydantic import ConfigDict, Field, StrictInt, ValidationInfo, field_validator

from upload_service.core.config import Settings
from upload_service.core.models import Timestamp, WireModel

MAX_FILE_NAME = 200
#: Letters, digits, marks, space and `._-()+,@` : no separators, no control or format characters.
_FILE_NAME = re.compile(r"[\w .\-()+,@]+")


def safe_file_name(name: str) -> str:
    """The name, NFC-normalised, if it is a safe base name (no path, no control characters)."""
    normalised = unicodedata.normalize("NFC", name)
    if not normalised or len(normalised) > MAX_FILE_NAME:
        raise ValueError(f"a file name must have 1 to {MAX_FILE_NAME} characters")
    if normalised.startswith(".") or not _FILE_NAME.fullmatch(normalised) or normalised.strip() != normalised:
        raise ValueError(
            "a file name may hold only letters, digits, spaces and . _ - ( ) + , @ "
            "and must not start with a dot"
        )
    return normalised


#: S3's `x-amz-checksum-sha256`: the base64 of a SHA-256 (32 bytes), 44 characters with its padding.
CHECKSUM_SHA256_CHARS = 44
CHECKSUM_SHA256_RULE = "a checksumSha256 is the base64 of a SHA-256 digest: 44 characters (32 bytes)"


def checksum_sha256(value: str) -> str:
    """The value, if it is shaped like S3's `x-amz-checksum-sha256` (base64 of 32 bytes, canonical)."""
    if not isinstance(value, str) or len(value) != CHECKSUM_SHA256_CHARS or not value.isascii():
        raise ValueError(CHECKSUM_SHA256_RULE)
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(CHECKSUM_SHA256_RULE) from None
    if len(digest) != 32 or base64.b64encode(digest).decode() != value:
        raise ValueError(CHECKSUM_SHA256_RULE)
    return value


def allowed_content_type(content_type: str, info: ValidationInfo) -> str:
    """The type, normalised, if the deployment allows it (validated with context=Settings)."""
    allowed = _settings(info).allowed_content_types
    normalised = content_type.strip().lower()
    if normalised not in allowed:
        raise ValueError(f"the content type must be one of: {', '.join(sorted(allowed))}")
    return normalised


#: What one presigned POST may carry (S3's limit): larger files go as multipart uploads.
POST_MAX_BYTES = 5 * 1024**3
TOO_LARGE_FOR_A_POST = (
    f"a file over {POST_MAX_BYTES} bytes (5 GiB, S3's limit for one POST) is sent as a multipart "
    "upload (the Companion routes: docs/large-uploads.md)"
)


def within_size_limit(size: int, info: ValidationInfo) -> int:
    """The size, if it is 1 byte to the deployment's MaxUploadBytes (validated with context=Settings)."""
    limit = _settings(info).max_upload_bytes
    if not 0 < size <= limit:
        raise ValueError(f"the file size must be from 1 to {limit} bytes")
    return size


def _settings(info: ValidationInfo) -> Settings:
    """The settings a validation runs against (its context)."""
    if not isinstance(info.context, Settings):
        raise TypeError("validate StartUploadRequest with context=Settings: its limits are settings")
    return info.context


class StartUploadRequest(WireModel):
    """`POST /upload?token=...` body: what the client is about to send.

    Validate it with `context=settings`: the size and type limits are deployment settings. Every
    problem with a body comes back in one ValidationError, missing fields and broken rules alike.
    """

    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True, extra="forbid")

    file_name: str = Field(
        description="Base name only: letters, digits, spaces and `._-()+,@`, not starting with a dot.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_FILE_NAME},  # checked by _safe_file_name
    )
    file_size: StrictInt = Field(
        description="Bytes; the upload may not be larger. At most the deployment's MaxUploadBytes.",
        json_schema_extra={"minimum": 1},  # checked by _within_size_limit
    )
    content_type: str = Field(description="One of the deployment's allowed types (case-insensitive).")
    checksum_sha256: str | None = Field(
        None,
        description=(
            "Optional: the base64 of the file's SHA-256 (as S3's `x-amz-checksum-sha256`). The POST is "
            "bound to it (S3 refuses other bytes, 400 BadDigest) and the upload records it."
        ),
        json_schema_extra={"minLength": CHECKSUM_SHA256_CHARS, "maxLength": CHECKSUM_SHA256_CHARS},
    )

    @field_validator("file_name")
    @classmethod
    def _safe_file_name(cls, name: str) -> str:
        return safe_file_name(name)

    @field_validator("file_size")
    @classmethod
    def _within_size_limit(cls, size: int, info: ValidationInfo) -> int:
        if within_size_limit(size, info) > POST_MAX_BYTES:
            raise ValueError(TOO_LARGE_FOR_A_POST)
        return size

    @field_validator("content_type")
    @classmethod
    def _allowed_content_type(cls, content_type: str, info: ValidationInfo) -> str:
        return allowed_content_type(content_type, info)

    @field_validator("checksum_sha256")
    @classmethod
    def _checksum_shape(cls, value: str | None) -> str | None:
        return None if value is None else checksum_sha256(value)


class UploadTarget(WireModel):
    """A presigned S3 POST: send `fields` and then the file as multipart/form-data to `url`."""

    upload_id: str
    method: str = "POST"
    url: str
    fields: dict[str, str]
    headers: dict[str, str] = Field(default_factory=dict)
    key: str
    expires_at: Timestamp


class UploadRules(WireModel):
    """`GET /uploads/{token}`: what the token's holder may still upload, before sending a byte (a
    frontend's uploader restrictions: Uppy's `maxFileSize`, `allowedFileTypes`, `maxNumberOfFiles`)."""

    expires_at: Timestamp | None = Field(description="When the token dies (null: never).")
    uploads_left: int = Field(description="Uploads the token may still start (its allowance not yet taken).")
    max_file_size: int = Field(description="Bytes one file may have at most (MaxUploadBytes).")
    allowed_content_types: list[str] = Field(description="The types a file may be declared and arrive as.")
