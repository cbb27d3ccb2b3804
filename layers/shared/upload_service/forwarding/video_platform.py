"""The video platform accepted uploads go on to: api.video, fed from the bucket by ranged reads."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from upload_service.core.config import Settings
from upload_service.core.outbound import Deadline
from upload_service.core.records import UploadRecord
from upload_service.core.storage import Storage, default_storage
from upload_service.forwarding import apivideo
from upload_service.forwarding.apivideo import Progress


class SourceChanged(Exception):
    """The object in media/ is not the size that was accepted (the message, for the logs, names it)."""


class ChecksumMismatch(Exception):
    """The bytes of the accepted object are not those whose SHA-256 the client declared (final: the same
    bytes would be sent again). The message, for the logs, names both digests."""


class StoredRange:
    """One accepted object as api.video's upload reads it: any inclusive byte range, one ranged
    GetObject each, never held whole.

    The first read checks the object's size against the accepted size and learns its ETag; every
    later read is pinned to that ETag (IfMatch), so the chunks of one invocation come from one object.
    (media/ holds the checked version, copied by version and ETag at landing, but not always under its
    ETag: S3 gives the copy of a multipart-uploaded object an ETag of its own.)
    """

    def __init__(self, storage: Storage, key: str, size: int) -> None:
        self.storage = storage
        self.key = key
        self.size = size
        self.etag: str | None = None

    def open_range(self, first: int, last: int) -> Any:
        read: dict[str, Any] = {
            "Bucket": self.storage.bucket,
            "Key": self.key,
            "Range": f"bytes={first}-{last}",
        }
        if self.etag:
            read["IfMatch"] = self.etag
        answer = self.storage.client.get_object(**read)
        if self.etag is None:
            stored = int(str(answer["ContentRange"]).rsplit("/", 1)[1])
            if stored != self.size:
                answer["Body"].close()
                raise SourceChanged(f"{self.key} holds {stored} bytes, not the {self.size} accepted")
            self.etag = str(answer["ETag"])
        return answer["Body"]  # a botocore StreamingBody: read in blocks


class CheckedRange:
    """A `StoredRange` that hashes the bytes read from it, in order, as the chunks stream to api.video
    (bytes a retried request reads again are hashed once), and checks the whole file's SHA-256 against
    the one declared before the last chunk goes (`verify`): what is left unhashed then (the last chunk,
    and the bytes an earlier invocation sent) is read and hashed first, without sending it."""

    def __init__(self, source: StoredRange, expected: str) -> None:
        self.source = source
        self.expected = expected
        self._hash = hashlib.sha256()
        self._hashed = 0  # bytes 0.._hashed-1 are in the hash

    def open_range(self, first: int, last: int) -> Any:
        return _Hashing(self, self.source.open_range(first, last), first)

    def saw(self, position: int, data: bytes) -> None:
        """Bytes read at `position`: what extends the hashed prefix is hashed."""
        end = position + len(data)
        if position <= self._hashed < end:
            self._hash.update(data[self._hashed - position :])
            self._hashed = end

    def verify(self) -> None:
        """ChecksumMismatch unless the whole object's SHA-256 is the one declared."""
        if self._hashed < self.source.size:
            body = self.open_range(self._hashed, self.source.size - 1)
            try:
                while body.read(1024 * 1024):
                    pass
            finally:
                body.close()
        found = base64.b64encode(self._hash.digest()).decode()
        if found != self.expected:
            raise ChecksumMismatch(
                f"{self.source.key}: SHA-256 {found}, but the upload declared checksumSha256 {self.expected}"
            )


class _Hashing:
    """One ranged read's stream, telling its `CheckedRange` what it read where."""

    def __init__(self, owner: CheckedRange, body: Any, position: int) -> None:
        self.owner = owner
        self.body = body
        self.position = position

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self.body.read(size)
        self.owner.saw(self.position, data)
        self.position += len(data)
        return data

    def close(self) -> None:
        self.body.close()


class ApiVideoUploader:
    """`forwarder.Uploader` for api.video: the key from Secrets Manager (cached), the upload's one
    video (found or created), a fresh api.video upload token per attempt, chunks of
    `ForwardChunkBytes` streamed from the bucket."""

    def __init__(self, settings: Settings, deadline: Deadline, storage: Storage | None = None) -> None:
        self.settings = settings
        self.deadline = deadline
        self.storage = storage or default_storage()

    @property
    def retries(self) -> int:
        return self.deadline.retries

    def __call__(
        self, upload: UploadRecord, start: Progress, on_chunk: Callable[[Progress], None]
    ) -> Progress:
        key = apivideo.api_key(self.settings.api_video_api_key_secret)
        stored = StoredRange(self.storage, upload.media_key, upload.object_size or upload.file_size)
        source: StoredRange | CheckedRange = stored
        verify: Callable[[], None] = lambda: None  # noqa: E731
        if upload.checksum_sha256:  # the client declared the file's SHA-256: what goes must have it
            source = CheckedRange(stored, upload.checksum_sha256)
            verify = source.verify
        return apivideo.upload(
            apivideo.client(self.settings.api_video_base_url, key),
            source,
            upload_id=upload.upload_id,
            file_name=upload.file_name,
            size=upload.object_size or upload.file_size,
            chunk_bytes=self.settings.forward_chunk_bytes,
            content_type=upload.content_type,
            progress=start,
            on_chunk=on_chunk,
            before_last_chunk=verify,
            metadata=apivideo.media_metadata(upload.media),
        )
