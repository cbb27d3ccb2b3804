"""The video platform accepted uploads go on to: api.video, fed from the bucket by ranged reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from upload_service import apivideo
from upload_service.apivideo import Progress
from upload_service.config import Settings
from upload_service.outbound import Deadline
from upload_service.records import UploadRecord
from upload_service.storage import Storage, default_storage


class StoredRange:
    """One accepted object as api.video's upload reads it: any inclusive byte range, one ranged
    GetObject each, pinned to the object's ETag (the copy in media/ kept the checked one)."""

    def __init__(self, storage: Storage, key: str, etag: str | None) -> None:
        self.storage = storage
        self.key = key
        self.etag = etag

    def open_range(self, first: int, last: int) -> Any:
        answer = self.storage.client.get_object(
            Bucket=self.storage.bucket,
            Key=self.key,
            Range=f"bytes={first}-{last}",
            IfMatch=f'"{self.etag}"' if self.etag else "*",
        )
        return answer["Body"]  # a botocore StreamingBody: read in blocks, never held whole


class ApiVideoUploader:
    """`forwarding.Uploader` for api.video: the key from Secrets Manager (cached), a fresh api.video
    upload token per attempt, chunks of `ForwardChunkBytes` streamed from the bucket."""

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
            StoredRange(self.storage, upload.media_key, upload.etag),
            file_name=upload.file_name,
            size=upload.object_size or upload.file_size,
            chunk_bytes=self.settings.forward_chunk_bytes,
            content_type=upload.content_type,
            progress=start,
            on_chunk=on_chunk,
        )
