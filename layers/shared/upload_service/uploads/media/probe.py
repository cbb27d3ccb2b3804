"""The entry: is this stored object a well-formed file of its declared family, and what does it hold?
Read through ranged GETs pinned to the version checked, within a budget whatever the file's size."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from struct import error as struct_error

from upload_service.core.observability import logger
from upload_service.core.records import Media
from upload_service.core.storage import Storage, StoredObject
from upload_service.uploads.media.images import check_jpeg, check_png
from upload_service.uploads.media.isobmff import check_isobmff
from upload_service.uploads.media.matroska import check_matroska
from upload_service.uploads.media.reading import Budget, Found, Gone, Malformed, RangedReader, Source

_WALKERS: dict[str, Callable[[RangedReader, str], Found]] = {
    "video/mp4": check_isobmff,
    "video/quicktime": check_isobmff,
    "video/x-m4v": check_isobmff,
    "video/webm": lambda reader, _: check_matroska(reader),
    "video/x-matroska": lambda reader, _: check_matroska(reader),
    "image/jpeg": lambda reader, _: check_jpeg(reader),
    "image/png": lambda reader, _: check_png(reader),
}


#: What the landing reads first, for the content check and the walkers both: one ranged GET.
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Rejection:
    """Why the file is not what it was declared to be."""

    reason: str


@dataclass(frozen=True)
class StorageSource:
    """The bytes of exactly the object checked, each read one ranged GetObject."""

    storage: Storage
    stored: StoredObject

    def read(self, offset: int, n: int) -> bytes:
        data = self.storage.read_range(self.stored, offset, n)
        if data is None:
            raise Gone(self.stored.key)
        return data


def walks(declared: str) -> bool:
    """Whether files of this type have their structure checked."""
    return declared in _WALKERS


def check(
    source: Source, size: int, declared: str, budget: Budget | None = None, head: bytes = b""
) -> Media | Rejection:
    """The media in `size` bytes of `source` declared `declared`, or why they are not well formed;
    `head` is the file's first bytes if they were read already. Raises Gone when the object changed
    under the reads."""
    walker = _WALKERS.get(declared)
    if walker is None:
        return Rejection(f"no structural check for {declared}")
    reader = RangedReader(source, size, budget or Budget(), head)
    try:
        media: Media | Rejection = walker(reader, declared).media()
    except Malformed as exc:
        media = Rejection(f"malformed {declared}: {exc}")
    except (struct_error, IndexError, ValueError, UnicodeDecodeError) as exc:  # a field past its box
        media = Rejection(f"malformed {declared}: {type(exc).__name__} reading its structure")
    logger.debug(  # what the check cost: at debug level, so that a landing's log stays one line
        "media probed",
        extra={
            "declared": declared,
            "size": size,
            "requests": reader.requests,
            "bytesRead": reader.bytes_read,
            "ms": round((time.monotonic() - reader.started) * 1000, 1),
            "verdict": media.reason if isinstance(media, Rejection) else "well formed",
        },
    )
    return media


def probe(
    storage: Storage, stored: StoredObject, declared: str, head: bytes = b"", budget: Budget | None = None
) -> Media | Rejection | None:
    """`check` on the stored object (whose first bytes, `head`, may be read already), or None if it
    was replaced or deleted meanwhile (look again)."""
    try:
        return check(StorageSource(storage, stored), stored.size, declared, budget, head)
    except Gone:
        return None
