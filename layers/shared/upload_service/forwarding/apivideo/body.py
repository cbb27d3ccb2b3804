"""The streamed, replayable multipart/form-data body of one upload request.

Memory: requests-toolbelt's `MultipartEncoder` reads the file part from a `RangeStream` as urllib3
sends (`outbound.SEND_BLOCK_BYTES` at a time), so a request holds a few blocks, never the chunk.

Replay: urllib3's `Retry` resends the *same* body object on a retry (a 429/5xx or a dropped
connection mid-body), after `seek(0)` when the body has `tell()`. A consumed S3 stream can't be
resent, so `ChunkBody.seek(0)` builds a fresh encoder over the range, re-opened lazily on the next
read. Retries stay in urllib3 (no loop of ours), and each attempt re-reads its bytes from the source.
"""

from __future__ import annotations

import io
from typing import Any, Protocol
from uuid import uuid4

from requests_toolbelt import MultipartEncoder


class Readable(Protocol):
    """A readable stream, e.g. botocore's StreamingBody of a ranged GetObject."""

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class ByteSource(Protocol):
    """Where the file's bytes come from: any inclusive byte range, opened as a stream."""

    def open_range(self, first: int, last: int) -> Readable: ...


class SourceEndedEarly(OSError):
    """The source gave fewer bytes than the range holds (an OSError: urllib3 retries it, re-opening)."""


class RangeStream:
    """Bytes `first..last` of a source, opened on the first read. `len` is what is left to read,
    which is how MultipartEncoder sizes a part and knows when it is done."""

    def __init__(self, source: ByteSource, first: int, last: int) -> None:
        self._source = source
        self._first = first
        self._last = last
        self._stream: Readable | None = None
        self.len = last - first + 1

    def read(self, size: int = -1) -> bytes:
        if self.len <= 0:
            return b""
        if self._stream is None:
            self._stream = self._source.open_range(self._first, self._last)
        data = self._stream.read(self.len if size < 0 else min(size, self.len))
        if not data:
            raise SourceEndedEarly(f"the source ended {self.len} bytes before the end of its range")
        self.len -= len(data)
        return data

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class ChunkBody:
    """`videoId` (when known) then `file` (one byte range, named `file_name`), streamed; `seek(0)`
    starts over with the range re-opened. Length and boundary stay the same across attempts."""

    def __init__(
        self,
        source: ByteSource,
        first: int,
        last: int,
        *,
        file_name: str,
        content_type: str,
        video_id: str | None,
    ) -> None:
        self._range_args = (source, first, last)
        self._fields: list[tuple[str, Any]] = [("videoId", video_id)] if video_id else []
        self._file = (file_name, content_type)
        self._boundary = uuid4().hex
        self._encoder, self._range = self._encode()
        self.content_type: str = self._encoder.content_type
        self._length: int = self._encoder.len
        self._position = 0

    def _encode(self) -> tuple[Any, RangeStream]:
        part = RangeStream(*self._range_args)
        name, content_type = self._file
        fields = [*self._fields, ("file", (name, part, content_type))]
        return MultipartEncoder(fields, boundary=self._boundary), part

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._encoder.read(size)
        self._position += len(data)
        return data

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("a chunk body rewinds to its start only")
        if self._position:
            self.close()
            self._encoder, self._range = self._encode()
            self._position = 0
        return 0

    def close(self) -> None:
        self._range.close()
