"""Delivering an accepted upload: its object copied into media/, exactly the version that was checked.

- Up to `SINGLE_COPY_BYTES`: one CopyObject, pinned to the checked version and ETag (the copy keeps
  that ETag).
- Larger: an S3 multipart copy, its parts (UploadPartCopy, each pinned the same way) copied
  `CONCURRENCY` at a time while the invocation has time left. Its UploadId is recorded on the upload
  (data/delivery.py; the first writer wins), so an attempt cut off by its time goes on where the last
  one stopped: the processor's retry, or the cleanup's sweep of accepted uploads not yet delivered.
  Any size S3 takes is delivered, whatever the function's timeout; each attempt copies what its
  time allows (`DeliveryUnfinished` says how far it got).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import ClientError

from upload_service.core import aws
from upload_service.core.records import UploadRecord
from upload_service.core.storage import MultipartGone, Storage, StoredObject, StoredPart
from upload_service.data.delivery import DeliveryStore

MIB = 1024**2
#: What one CopyObject copies at most (S3 takes up to 5 GiB; a few seconds at this size).
SINGLE_COPY_BYTES = 256 * MIB
#: A multipart copy's parts: this size, or larger where S3's 10,000 parts would not hold the object.
PART_BYTES = 256 * MIB
MAX_PARTS = 10_000
#: Parts copied at once.
CONCURRENCY = 8
#: No part is started with less time left than this (the one started last must finish in time: a
#: 256 MiB part copied inside S3 takes a few seconds).
MARGIN_SECONDS = 10.0
#: Source refusals: the checked object is gone, or replaced (its ETag is not the one checked).
_GONE = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion", "PreconditionFailed", "412"})


class DeliveryFailed(Exception):
    """An accepted upload's object is neither where it landed nor in media/ (someone deleted it)."""


class DeliveryUnfinished(Exception):
    """The invocation's time ran out with parts left to copy: the next attempt goes on from there."""

    def __init__(self, done: int, parts: int) -> None:
        super().__init__(f"delivery unfinished: {done} of {parts} parts copied; the next attempt goes on")
        self.done = done
        self.parts = parts


@dataclass(frozen=True)
class Plan:
    """How an object of `size` bytes is copied: in one request, or in parts of `part_bytes`."""

    size: int
    part_bytes: int

    @classmethod
    def of(cls, size: int) -> Plan:
        return cls(size, max(PART_BYTES, -(-size // MAX_PARTS)))

    @property
    def in_one_copy(self) -> bool:
        return self.size <= SINGLE_COPY_BYTES

    def ranges(self) -> dict[int, tuple[int, int]]:
        """Part number -> its inclusive byte range."""
        starts = range(0, self.size, self.part_bytes)
        return {n: (first, min(first + self.part_bytes, self.size) - 1) for n, first in enumerate(starts, 1)}


def deliver(
    storage: Storage, store: DeliveryStore, upload: UploadRecord, time_left: Callable[[], float]
) -> None:
    """The accepted upload's object into media/ (repeatable; nothing to do once delivered). Raises
    DeliveryUnfinished when time runs out first, DeliveryFailed when the object is gone."""
    if upload.delivered_at is not None:
        return
    checked = StoredObject(
        upload.key, upload.object_size or 0, upload.content_type, upload.etag or "", upload.version_id
    )
    plan = Plan.of(checked.size)
    copied = (
        copy_whole(storage, checked, upload.media_key)
        if plan.in_one_copy
        else _copy_in_parts(storage, store, upload, checked, plan, time_left)
    )
    if not copied and not storage.exists(upload.media_key):
        raise DeliveryFailed(f"accepted upload {upload.upload_id}: its object is gone and not in media/")


def copy_whole(storage: Storage, checked: StoredObject, destination: str) -> bool:
    """Copy exactly the object that was checked (its version, and its ETag) in one CopyObject, so the
    copy keeps that ETag. False if it is gone or was replaced."""
    try:
        with aws.unavailable_when_throttled():
            aws.copy_client().copy_object(
                CopySource=_source(storage, checked),
                CopySourceIfMatch=f'"{checked.etag}"',
                Bucket=storage.bucket,
                Key=destination,
                # The landing stage's tags stay behind (a multipart copy copies none either): copying
                # them would need s3:GetObjectVersionTagging on the source and s3:PutObjectTagging here.
                TaggingDirective="REPLACE",
            )
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _GONE:
            return False
        raise
    return True


def _copy_in_parts(
    storage: Storage,
    store: DeliveryStore,
    upload: UploadRecord,
    checked: StoredObject,
    plan: Plan,
    time_left: Callable[[], float],
) -> bool:
    """The multipart copy recorded on the upload (started if there is none), its missing parts copied
    while there is time, then completed. False if the source is gone."""
    copy_id = upload.copy_id or _start_copy(storage, store, upload)
    try:
        held = {part.number: part for part in storage.list_parts(upload.media_key, copy_id)}
    except MultipartGone:  # completed by another attempt, or aborted by the lifecycle rule
        store.forget_copy(upload, copy_id)
        if storage.exists(upload.media_key):
            return True
        copy_id, held = _start_copy(storage, store, upload), {}
    missing = {number: span for number, span in plan.ranges().items() if number not in held}
    copy = _PartCopier(storage, checked, upload.media_key, copy_id, time_left)
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        # Each copy runs in the invocation's context (contextvars), as code in the handler's own thread.
        copies = [
            pool.submit(contextvars.copy_context().run, copy, number, first, last)
            for number, (first, last) in missing.items()
        ]
        for part in (each.result() for each in copies):
            if part is _GONE_SOURCE:
                return False
            if isinstance(part, StoredPart):
                held[part.number] = part
    if len(held) < len(plan.ranges()):
        raise DeliveryUnfinished(len(held), len(plan.ranges()))
    try:
        storage.complete_multipart(upload.media_key, copy_id, [held[n] for n in sorted(held)])
    except MultipartGone:  # another attempt completed it meanwhile
        return False
    return True


def _start_copy(storage: Storage, store: DeliveryStore, upload: UploadRecord) -> str:
    """A multipart upload of the media key, recorded on the upload; if another attempt recorded one
    first, that one (ours is aborted)."""
    with aws.unavailable_when_throttled():
        started = storage.client.create_multipart_upload(
            Bucket=storage.bucket, Key=upload.media_key, ContentType=upload.content_type
        )["UploadId"]
    recorded = store.record_copy(upload, started)
    if recorded != started:
        storage.abort_multipart(upload.media_key, started)
    return recorded


_GONE_SOURCE = object()


@dataclass(frozen=True)
class _PartCopier:
    storage: Storage
    checked: StoredObject
    destination: str
    copy_id: str
    time_left: Callable[[], float]

    def __call__(self, number: int, first: int, last: int) -> StoredPart | object | None:
        """UploadPartCopy of bytes first..last of exactly the checked object: the part copied,
        `_GONE_SOURCE` if that object is gone, None if too little time is left to start it (checked
        as each part starts, so the one started last still ends in time)."""
        if self.time_left() < MARGIN_SECONDS:
            return None
        try:
            with aws.unavailable_when_throttled():
                copied = aws.copy_client().upload_part_copy(
                    Bucket=self.storage.bucket,
                    Key=self.destination,
                    UploadId=self.copy_id,
                    PartNumber=number,
                    CopySource=_source(self.storage, self.checked),
                    CopySourceIfMatch=f'"{self.checked.etag}"',
                    CopySourceRange=f"bytes={first}-{last}",
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                return _GONE_SOURCE
            raise
        return StoredPart(number, last - first + 1, str(copied["CopyPartResult"]["ETag"]))


def _source(storage: Storage, checked: StoredObject) -> dict[str, str]:
    source = {"Bucket": storage.bucket, "Key": checked.key}
    if checked.version_id:
        source["VersionId"] = checked.version_id
    return source
