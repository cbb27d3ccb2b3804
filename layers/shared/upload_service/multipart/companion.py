"""Uppy's Companion S3 routes behind a token: every multipart upload is an upload of the token like
`POST /upload`'s (allowance, attempts, name and type rules, record, statuses, landing checks).

The `uploadId` Uppy sees is ours (as in `GET /upload-tokens/{token}`), and the key ours too
(`uploads/{uploadId}/{fileName}`); S3's UploadId stays on the record (`multipartId`). So one read of
the token's own partition finds an upload, and another token's upload is simply not there (404).
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta

from upload_service.core.config import Settings
from upload_service.core.errors import BadRequest, UploadNotFound, UploadTooLarge
from upload_service.core.ids import mask
from upload_service.core.observability import logger
from upload_service.core.records import TokenRecord, UploadRecord, UploadStatus
from upload_service.core.storage import MultipartGone, PartsRefused, Storage
from upload_service.data.repository import Repository, UploadDecided
from upload_service.multipart.wire import (
    MAX_BATCH,
    MAX_PARTS,
    MIN_PART_BYTES,
    CompanionFile,
    Completed,
    MultipartStarted,
    PartRef,
    PresignedPost,
    SignedPart,
    SignedParts,
    StoredPart,
    StoredParts,
)
from upload_service.uploads import starting
from upload_service.uploads.expiry import ABORTED_BY_CLIENT, abort_open_upload
from upload_service.uploads.file_rules import (
    CHECKSUM_SHA256_RULE,
    POST_MAX_BYTES,
    TOO_LARGE_FOR_A_POST,
    StartUploadRequest,
    checksum_sha256,
)

#: A multipart upload may take this long (never beyond its token): the bucket's lifecycle rule
#: aborts what is left a day after it started, and the cleanup what is left after this.
MULTIPART_LIFETIME = timedelta(days=1)
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_PART_NUMBER = re.compile(r"[0-9]{1,5}")
_PART_NUMBER_OR_SIZE = re.compile(r"[0-9]{1,11}")
#: The checksum algorithm a multipart upload's parts may carry (S3's name).
SHA256 = "SHA256"
#: S3's largest part.
MAX_PART_BYTES = 5 * 1024**3
TOO_LARGE = "file of {size} bytes is larger than the {limit} allowed"


def presigned_post(
    repo: Repository,
    storage: Storage,
    record: TokenRecord | None,
    file: CompanionFile,
    settings: Settings,
    now: datetime,
) -> PresignedPost:
    """`GET /s3/params`: POST /upload's target in Companion's shape (declared size: MaxUploadBytes,
    or 5 GiB if less, unless the client said; a POST carries 5 GiB at most)."""
    if file.size is not None and file.size > POST_MAX_BYTES:
        raise BadRequest.single("size", TOO_LARGE_FOR_A_POST)
    request = StartUploadRequest.model_construct(
        file_name=file.filename,
        file_size=file.declared_size(min(settings.max_upload_bytes, POST_MAX_BYTES)),
        content_type=file.type,
        checksum_sha256=file.checksumSha256,
    )
    target = starting.start_upload(repo, storage, record, request, settings, now)
    expires = max(0, int((target.expires_at - now).total_seconds()))
    return PresignedPost(url=target.url, fields=target.fields, expires=expires)


def start(
    repo: Repository,
    storage: Storage,
    record: TokenRecord | None,
    file: CompanionFile,
    settings: Settings,
    now: datetime,
) -> MultipartStarted:
    """`POST /s3/multipart`: S3's multipart upload of our key, recorded as a PENDING upload of the token
    (refused like `POST /upload`: then the S3 upload is aborted at once). With `checksumAlgorithm`
    SHA256, S3 is told to want every part's SHA-256."""
    size = file.declared_size(settings.max_upload_bytes)
    upload = starting.new_upload(
        record,
        file.filename,
        size,
        file.type,
        now,
        MULTIPART_LIFETIME,
        checksum_sha256=file.checksumSha256,
        checksum_algorithm=file.checksumAlgorithm,
    )
    multipart_id = storage.create_multipart(
        upload.key, upload.content_type, checksums=upload.checksum_algorithm == SHA256
    )
    upload = replace(upload, multipart_id=multipart_id)
    try:
        starting.reserve(repo, upload, settings, now)
    except Exception:  # refused (allowance, token gone) or failed: S3 keeps nothing of it, then re-raised
        storage.abort_multipart(upload.key, upload.multipart_id or "")
        raise
    masked = mask(record.token) if record else ""
    logger.info("multipart upload started", extra={"token": masked, "uploadId": upload.upload_id})
    return MultipartStarted(key=upload.key, uploadId=upload.upload_id, bucket=storage.bucket)


def open_upload(
    repo: Repository,
    record: TokenRecord | None,
    upload_id: str,
    key: str | None,
    now: datetime,
    *,
    landed: bool = False,
) -> UploadRecord:
    """The token's own open multipart upload by `uploadId` and `key`, or a 404 (a 400 without a key).
    With `landed`, also one already completed and decided (its token may have ended since: e.g.
    full with this very upload), so a retried completion is answered as the first was."""
    if not key:
        raise BadRequest.single("key", "The key query parameter is required.")
    upload = None
    if record is not None and _UPLOAD_ID.fullmatch(upload_id):
        upload = repo.get_token_upload(record.ref, upload_id)
    if landed and upload is not None and upload.key == key and _completed_and_decided(upload):
        return upload
    record = starting.live_token(record, now)
    if upload is None or upload.multipart_id is None or upload.key != key:
        raise UploadNotFound()
    if upload.status is not UploadStatus.PENDING:
        raise UploadNotFound(detail=f"The upload is {upload.status.value}: {upload.reason or 'decided'}.")
    return upload


def part_number(value: str, name: str = "partNumber") -> int:
    if not _PART_NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_PARTS:
        raise BadRequest.single(name, f"A part number is a whole number from 1 to {MAX_PARTS}.")
    return int(value)


def part_numbers(value: str | None) -> list[int]:
    if not value:
        raise BadRequest.single("partNumbers", "The partNumbers query parameter is required (e.g. 1,2,3).")
    numbers = [part_number(item.strip(), "partNumbers") for item in value.split(",")]
    if len(numbers) > MAX_BATCH:
        raise BadRequest.single("partNumbers", f"At most {MAX_BATCH} parts are signed at once.")
    return numbers


def _completed_and_decided(upload: UploadRecord) -> bool:
    """Its object landed (the completion succeeded) and the landing decided it."""
    return (
        upload.multipart_id is not None
        and upload.status is not UploadStatus.PENDING
        and (upload.object_size is not None)
    )


def parts_at_most(upload: UploadRecord) -> int:
    """The part numbers the declared size can need: every part but the last is at least 5 MiB."""
    return min(MAX_PARTS, max(1, -(-upload.file_size // MIN_PART_BYTES)))


def _within_declared_size(upload: UploadRecord, numbers: list[int], name: str) -> None:
    """Parts past what the declared size can need are refused: S3 would keep them (up to 5 GiB each)
    until the upload is aborted."""
    most = parts_at_most(upload)
    if max(numbers) > most:
        raise BadRequest.single(
            name,
            f"An upload declared at {upload.file_size} bytes has at most {most} parts (each but the last "
            f"{MIN_PART_BYTES} bytes or more): part numbers 1 to {most}.",
        )


def part_size(value: str | None, upload: UploadRecord) -> int | None:
    """`?size=`: the part's bytes, if the client says (its URL then signs that Content-Length, so S3
    refuses any other); at most 5 GiB (S3's largest part) and the declared size."""
    if value is None:
        return None
    most = min(MAX_PART_BYTES, upload.file_size)
    if not _PART_NUMBER_OR_SIZE.fullmatch(value) or not 1 <= int(value) <= most:
        raise BadRequest.single("size", f"A part's size is a whole number of bytes from 1 to {most}.")
    return int(value)


def part_checksums(value: str | None, upload: UploadRecord, count: int) -> list[str | None]:
    """`?checksumSha256=`: each part's SHA-256 (base64), comma-separated in the order of the part
    numbers: required of an upload started with `checksumAlgorithm` SHA256 (S3 refuses a part without
    one), refused of any other (S3 refuses a part with one)."""
    if upload.checksum_algorithm != SHA256:
        if value:
            raise BadRequest.single(
                "checksumSha256",
                "This multipart upload was started without checksumAlgorithm SHA256: its parts carry no "
                "checksum (start it with checksumAlgorithm SHA256 to send them).",
            )
        return [None] * count
    values = value.split(",") if value else []
    if len(values) != count:
        raise BadRequest.single(
            "checksumSha256",
            f"This multipart upload was started with checksumAlgorithm SHA256: each part signed needs its "
            f"checksumSha256 ({count} expected, comma-separated in the order of the part numbers).",
        )
    try:
        return [checksum_sha256(item.strip()) for item in values]
    except ValueError as exc:
        raise BadRequest.single(
            "checksumSha256", f"{CHECKSUM_SHA256_RULE[0].upper()}{CHECKSUM_SHA256_RULE[1:]}."
        ) from exc


def _checksum_headers(checksum: str | None) -> dict[str, str]:
    return {"x-amz-checksum-sha256": checksum} if checksum else {}


def _part_url_seconds(upload: UploadRecord, settings: Settings, now: datetime) -> int:
    seconds = int(min(settings.upload_target_ttl, (upload.target_expires_at - now).total_seconds()))
    if seconds < starting.MIN_TARGET_SECONDS:
        raise UploadNotFound(detail="The upload's time is up.")
    return seconds


def sign_part(
    storage: Storage,
    upload: UploadRecord,
    number: int,
    settings: Settings,
    now: datetime,
    size: int | None = None,
    checksum: str | None = None,
) -> SignedPart:
    """One part's presigned PUT, and the headers it must send (its checksum, if it has one)."""
    _within_declared_size(upload, [number], "partNumber")
    seconds = _part_url_seconds(upload, settings, now)
    url = storage.presigned_part(upload.key, upload.multipart_id or "", number, seconds, size, checksum)
    return SignedPart(url=url, expires=seconds, headers=_checksum_headers(checksum))


def sign_parts(
    storage: Storage,
    upload: UploadRecord,
    numbers: list[int],
    settings: Settings,
    now: datetime,
    checksums: list[str | None] | None = None,
) -> SignedParts:
    """Several parts' PUTs (`checksums` in the order of `numbers`), and the headers each must send."""
    _within_declared_size(upload, numbers, "partNumbers")
    seconds = _part_url_seconds(upload, settings, now)
    sums = checksums or [None] * len(numbers)
    multipart_id = upload.multipart_id or ""
    return SignedParts(
        presignedUrls={
            str(n): storage.presigned_part(upload.key, multipart_id, n, seconds, checksum_sha256=c)
            for n, c in zip(numbers, sums, strict=True)
        },
        headers={str(n): _checksum_headers(c) for n, c in zip(numbers, sums, strict=True) if c},
    )


def list_parts(storage: Storage, upload: UploadRecord) -> StoredParts:
    """The parts S3 holds (all of them, page by page): what a resuming client need not send again."""
    try:
        parts = storage.list_parts(upload.key, upload.multipart_id or "")
    except MultipartGone:
        raise UploadNotFound() from None
    return StoredParts([StoredPart(PartNumber=p.number, Size=p.size, ETag=p.etag) for p in parts])


def complete(
    repo: Repository,
    storage: Storage,
    upload: UploadRecord,
    parts: list[PartRef],
    settings: Settings,
    now: datetime,
) -> Completed:
    """Complete with S3's own parts: their sizes summed (never the client's word), refused and aborted
    past MaxUploadBytes (REJECTED), then CompleteMultipartUpload, then the size recorded as declared
    (nothing is recorded if S3 refuses the parts: the client may fix them and complete again). The
    object lands in uploads/ and is checked there like any other (landing.py). A completion repeated
    after the landing decided is answered as the first was."""
    if _completed_and_decided(upload):
        return Completed(location=storage.location(upload.key), bucket=storage.bucket, key=upload.key)
    multipart_id = upload.multipart_id or ""
    try:
        held = storage.list_parts(upload.key, multipart_id)
    except MultipartGone:
        if storage.exists(upload.key):  # completed already (a retried request): say so again
            return Completed(location=storage.location(upload.key), bucket=storage.bucket, key=upload.key)
        raise UploadNotFound() from None
    total = sum(part.size for part in held)
    limit = min(settings.max_upload_bytes, upload.file_size)
    if total > limit:
        reason = TOO_LARGE.format(size=total, limit=limit)
        abort_open_upload(repo, storage, upload, reason, now, UploadStatus.REJECTED)
        raise UploadTooLarge(detail=f"S3 holds {total} bytes of it; at most {limit} are allowed.")
    if not held or {(p.PartNumber, _bare(p.ETag)) for p in parts} != {
        (p.number, _bare(p.etag)) for p in held
    }:
        raise BadRequest.single("parts", "The parts named are not the parts uploaded (list them to resume).")
    try:
        storage.complete_multipart(upload.key, multipart_id, held)
    except MultipartGone:
        raise UploadNotFound() from None
    except PartsRefused as refused:
        raise BadRequest.single("parts", _REFUSALS.get(refused.code, "S3 refused these parts.")) from None
    with suppress(UploadDecided):  # the landing (or a revoke) decided it meanwhile: its fate is theirs
        repo.declare_completed_size(upload, total)
    logger.info("multipart upload completed", extra={"uploadId": upload.upload_id, "size": total})
    # the object's URL as ours (not S3's `Location`), so a repeated completion answers the same
    return Completed(location=storage.location(upload.key), bucket=storage.bucket, key=upload.key)


_REFUSALS = {
    "EntityTooSmall": f"Every part but the last must be at least {MIN_PART_BYTES} bytes.",
    "InvalidPart": "A part changed since it was listed: list the parts and complete again.",
    "InvalidPartOrder": "The parts must be in ascending order.",
}


def abort(repo: Repository, storage: Storage, upload: UploadRecord, now: datetime) -> None:
    """`DELETE`: the S3 upload aborted (its parts dropped) and the upload EXPIRED, like a target
    handed out and never used; its allowance is given back, its attempt stays counted."""
    abort_open_upload(repo, storage, upload, ABORTED_BY_CLIENT, now, UploadStatus.EXPIRED)


def _bare(etag: str) -> str:
    return etag.strip().strip('"')
