"""The wire shapes of Uppy's Companion S3 routes (`@uppy/aws-s3`), as Companion itself answers them:
Companion's names (`filename`, `type`, `uploadId`, S3's `PartNumber`/`ETag`/`Size`), not ours."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from upload_service.uploads.file_rules import (
    CHECKSUM_SHA256_CHARS,
    MAX_FILE_NAME,
    allowed_content_type,
    checksum_sha256,
    safe_file_name,
    within_size_limit,
)

#: S3's limits: part numbers 1..10000, parts of 5 MiB at least (all but the last).
MAX_PARTS = 10_000
MIN_PART_BYTES = 5 * 1024**2
#: Part URLs one batch request signs at most (the answer must stay well under Lambda's 6 MB).
MAX_BATCH = 100


class CompanionFile(BaseModel):
    """`POST /s3/multipart` body and `GET /s3/params` query: the file Uppy is about to send.

    Validate with `context=settings` (its name and type rules are the deployment's, as for
    `POST /upload`). Uppy sends no size of its own: a page that puts the file's size in Uppy's meta
    (`size`) sends it as `metadata.size` (or `metadata[size]=` in a query), and that is the declared
    size; without one, the upload may be up to MaxUploadBytes.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    filename: str = Field(
        description="Base name only: letters, digits, spaces and `._-()+,@`, not starting with a dot.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_FILE_NAME},
    )
    type: str = Field(description="One of the deployment's allowed content types (case-insensitive).")
    size: StrictInt | None = Field(
        None,
        description="Bytes, if known; at most MaxUploadBytes. Uppy sends none (its meta's `size` is used).",
    )
    metadata: dict[str, Any] | None = Field(
        None,
        description=(
            "Uppy's file meta: its `size`, `checksumSha256` and `checksumAlgorithm`, if any, stand for "
            "the members of those names; the rest is ignored."
        ),
    )
    checksumSha256: str | None = Field(
        None,
        description=(
            "Optional: the base64 of the whole file's SHA-256 (as S3's `x-amz-checksum-sha256`), recorded. "
            "A presigned POST (`/s3/params`) is bound to it (S3 refuses other bytes); a multipart "
            "upload's is checked by the forwarder (S3 checks its parts: `checksumAlgorithm`)."
        ),
        json_schema_extra={"minLength": CHECKSUM_SHA256_CHARS, "maxLength": CHECKSUM_SHA256_CHARS},
    )
    checksumAlgorithm: Literal["SHA256"] | None = Field(
        None,
        description=(
            "`POST /s3/multipart` only: `SHA256` makes every part carry its SHA-256 (`checksumSha256` "
            "when it is signed), which S3 verifies; without it, parts carry none."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _size_from_uppy_meta(cls, data: Any) -> Any:
        """`size`, else Uppy's `metadata.size` (JSON) or `metadata[size]` (query); a query's digits are
        a number, anything else stays as sent (and is refused as not an integer)."""
        if not isinstance(data, dict):
            return data
        meta = data.get("metadata")
        for name in ("checksumSha256", "checksumAlgorithm"):
            if data.get(name) is None:
                value = meta.get(name) if isinstance(meta, dict) else data.get(f"metadata[{name}]")
                if value is not None:
                    data = {
                        **data,
                        name: value.upper()
                        if name == "checksumAlgorithm" and isinstance(value, str)
                        else value,
                    }
        size = data.get("size")
        if size is None:
            meta = data.get("metadata")
            size = meta.get("size") if isinstance(meta, dict) else data.get("metadata[size]")
        if isinstance(size, str) and size.isascii() and size.isdigit():
            size = int(size)
        return data if size is None else {**data, "size": size}

    @field_validator("filename")
    @classmethod
    def _safe_file_name(cls, name: str) -> str:
        return safe_file_name(name)

    @field_validator("type")
    @classmethod
    def _allowed_content_type(cls, content_type: str, info: ValidationInfo) -> str:
        return allowed_content_type(content_type, info)

    @field_validator("checksumSha256")
    @classmethod
    def _checksum_shape(cls, value: str | None) -> str | None:
        return None if value is None else checksum_sha256(value)

    @field_validator("size")
    @classmethod
    def _within_size_limit(cls, size: int | None, info: ValidationInfo) -> int | None:
        return None if size is None else within_size_limit(size, info)

    def declared_size(self, max_upload_bytes: int) -> int:
        """The size the upload is held to: the client's, else the deployment's MaxUploadBytes."""
        return self.size or max_upload_bytes


class PartRef(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    PartNumber: StrictInt = Field(ge=1, le=MAX_PARTS)
    ETag: str = Field(min_length=1, max_length=200)


class CompleteRequest(BaseModel):
    """`POST /s3/multipart/{uploadId}/complete` body: the parts Uppy uploaded."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    parts: list[PartRef] = Field(min_length=1, max_length=MAX_PARTS)


class PresignedPost(BaseModel):
    """`GET /s3/params`: send `fields`, then the file, as multipart/form-data to `url`."""

    model_config = ConfigDict(defer_build=True)

    method: str = "POST"
    url: str
    fields: dict[str, str]
    expires: int = Field(description="Seconds the target lives.")


class MultipartStarted(BaseModel):
    model_config = ConfigDict(defer_build=True)

    key: str = Field(description="Our object key: echo it as `?key=`.")
    uploadId: str = Field(description="This upload's id (as in GET /upload-tokens/{token}).")
    bucket: str


class SignedPart(BaseModel):
    model_config = ConfigDict(defer_build=True)

    url: str = Field(description="A presigned PUT of the part's bytes; S3 answers its ETag.")
    expires: int = Field(description="Seconds the URL lives.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers the PUT must send as they are (`x-amz-checksum-sha256`: signed into the URL).",
    )


class SignedParts(BaseModel):
    model_config = ConfigDict(defer_build=True)

    presignedUrls: dict[str, str] = Field(description="Part number -> presigned PUT URL.")
    headers: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Part number -> headers its PUT must send (parts signed with a `checksumSha256`).",
    )


class StoredPart(BaseModel):
    model_config = ConfigDict(defer_build=True)

    PartNumber: int
    Size: int
    ETag: str


class StoredParts(RootModel[list[StoredPart]]):
    """`GET /s3/multipart/{uploadId}`: the parts S3 holds (to resume)."""

    model_config = ConfigDict(defer_build=True)


class Completed(BaseModel):
    model_config = ConfigDict(defer_build=True)

    location: str
    bucket: str
    key: str


class Aborted(BaseModel):
    """`DELETE /s3/multipart/{uploadId}`: `{}` (Uppy parses every answer as JSON)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")
