"""The video platform accepted uploads go on to: api.video, fed from the bucket by ranged reads."""

from __future__ import annotations

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
        return apivideo.upload(
            apivideo.client(self.settings.api_video_base_url, key),
            StoredRange(self.storage, upload.media_key, upload.object_size or upload.file_size),
            upload_id=upload.upload_id,
            file_name=upload.file_name,
            size=upload.object_size or upload.file_size,
            chunk_bytes=self.settings.forward_chunk_bytes,
            content_type=upload.content_type,
            progress=start,
            on_chunk=on_chunk,
            metadata=apivideo.media_metadata(upload.media),
        )
