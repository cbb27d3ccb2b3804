"""`POST /upload`'s chunk rules and the videos they build, as api.video states them.

A video's source arrives whole (no Content-Range), or in chunks of one form: `bytes first-last/total`
or `part N/M` (`part N/*` until the last). The forms don't mix within a video, a total once given
is fixed, no range or part arrives twice, every chunk but the last is at least 5 MiB, one request
carries at most 200 MiB, a video has at most 10,000 parts. A first chunk without `videoId` creates
the video; every later one names it in the `videoId` field. A video made empty by `POST /videos`
(a "video container") is named by all its chunks, the first included; its first chunk sets its
form. Chunks stay on disk as they came, one file each; the source is them in order, complete once
they cover the total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from local_stack.video_double.problems import Problem, upload_refused

MIB = 1024 * 1024
MIN_CHUNK_BYTES = 5 * MIB
MAX_REQUEST_BYTES = 200 * MIB
MAX_PARTS = 10_000
_BYTES = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_PART = re.compile(r"part (\d+)/(\d+|\*)")

Form = Literal["bytes", "part"]


@dataclass(frozen=True)
class ContentRange:
    """One chunk's place: bytes `first`-`last` (inclusive) or part `part`; `total` None for `*`."""

    form: Form
    first: int | None
    last: int | None
    part: int | None
    total: int | None
    header: str | None

    @classmethod
    def parse(cls, header: str | None, size: int) -> ContentRange:
        """The header as sent; no header is the whole source in one request."""
        if header is None or not header.strip():
            return cls("bytes", 0, size - 1, None, size, None)
        text = header.strip()
        if found := _BYTES.fullmatch(text):
            first, last = int(found[1]), int(found[2])
            total = None if found[3] == "*" else int(found[3])
            return cls("bytes", first, last, None, total, text)
        if found := _PART.fullmatch(text):
            return cls("part", None, None, int(found[1]), None if found[2] == "*" else int(found[2]), text)
        raise upload_refused(
            "video-content-range-malformed",
            'The value of the "Content-Range" header is malformed, the expected format is '
            '"bytes <from_byte>-<to_byte>/<total_bytes>" or "part <part>/<total_parts>".',
            name="Content-Range",
        )

    @property
    def is_first(self) -> bool:
        return self.first == 0 if self.form == "bytes" else self.part == 1

    @property
    def is_last(self) -> bool:
        if self.total is None:
            return False
        return self.last == self.total - 1 if self.form == "bytes" else self.part == self.total

    def check_alone(self, size: int) -> None:
        """What one header says against its own chunk, before any video is looked at."""
        if self.form == "bytes":
            assert self.first is not None and self.last is not None
            if self.first > self.last or self.last - self.first + 1 != size:
                raise _range_problem(
                    "by-bytes-range-mismatch", "The range does not match the uploaded file's size."
                )
            if self.total is not None and self.last >= self.total:
                raise _range_problem(
                    "by-bytes-to-byte-too-high-total", "The range ends past the total bytes."
                )
            return
        assert self.part is not None
        if self.part < 1:
            raise _range_problem("by-part-part-zero", "The part number must be 1 or more.")
        if self.total is not None and self.total < 1:
            raise _range_problem("by-part-total-parts-zero", "The total of parts must be 1 or more.")
        if self.total is not None and self.part > self.total:
            raise _range_problem("by-part-part-too-high-total", "The part is higher than the total of parts.")
        if self.part > MAX_PARTS:
            raise _range_problem("by-part-part-too-high-allowed", f"A video has at most {MAX_PARTS} parts.")


@dataclass
class Chunk:
    """An accepted chunk, stored at `path`."""

    range: ContentRange
    size: int
    path: Path
    with_video_id: bool

    def stats(self) -> dict[str, Any]:
        return {
            "contentRange": self.range.header,
            "from": self.range.first,
            "to": self.range.last,
            "part": self.range.part,
            "total": self.range.total,
            "bytes": self.size,
            "withVideoId": self.with_video_id,
        }


@dataclass
class Attempt:
    """One `POST /upload` request, whatever its answer: what the counters are made of."""

    status: int
    video_id: str | None
    content_range: str | None
    size: int
    with_video_id: bool
    error: str | None = None

    def stats(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "videoId": self.video_id,
            "contentRange": self.content_range,
            "bytes": self.size,
            "withVideoId": self.with_video_id,
            "error": self.error,
        }


@dataclass
class Video:
    video_id: str
    title: str
    created_at: float
    form: Form | None  # None: created empty, no chunk yet
    total: int | None = None
    chunks: list[Chunk] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    description: str = ""
    public: bool = True
    panoramic: bool = False
    mp4_support: bool = True
    tags: list[str] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(chunk.size for chunk in self.chunks)

    @property
    def complete(self) -> bool:
        if self.total is None:
            return False
        if self.form == "bytes":
            return self.size == self.total  # ranges never overlap, so they cover it
        return {chunk.range.part for chunk in self.chunks} == set(range(1, self.total + 1))

    def in_order(self) -> list[Chunk]:
        return sorted(
            self.chunks, key=lambda c: (c.range.first if self.form == "bytes" else c.range.part) or 0
        )

    def check(self, chunk: ContentRange, size: int) -> None:
        """api.video's rules for a chunk that continues this video."""
        if self.complete:
            raise upload_refused(
                "video-source-already-uploaded", "The source of the video is already uploaded."
            )
        if self.form is None:  # an empty video: its first chunk starts it
            return
        if chunk.form != self.form:
            raise _range_problem(
                f"started-with-{self.form}",
                f'This "Content-Range" upload has been started with "{self.form}", '
                f'you cannot continue it with "{chunk.form}".',
                prefix="video-content-range-",
            )
        unit = "bytes" if self.form == "bytes" else "parts"
        if chunk.total is not None and self.total is not None and chunk.total != self.total:
            raise _range_problem(
                f"by-{self.form}-different-total-{unit}",
                f"The total of {unit} differs from the total already set.",
                detail=f"The total already set is {self.total}.",
            )
        if chunk.total is not None and chunk.total < self._highest_end():
            raise _range_problem(f"by-{self.form}-total-{unit}-too-low", f"The total of {unit} is too low.")
        self._check_not_received(chunk)

    def _highest_end(self) -> int:
        if self.form == "bytes":
            return max((c.range.last or 0) + 1 for c in self.chunks)
        return max(c.range.part or 0 for c in self.chunks)

    def _check_not_received(self, chunk: ContentRange) -> None:
        for received in self.chunks:
            if self.form == "part" and received.range.part == chunk.part:
                raise _range_problem(
                    "by-part-part-already-sent", f"The part {chunk.part} has already been sent."
                )
            if self.form == "bytes" and _overlap(received.range, chunk):
                raise _range_problem(
                    "by-bytes-range-overlap",
                    "The range overlaps a range already received.",
                    detail=f"Already received: {received.range.first}-{received.range.last}.",
                )

    def document(self, base_url: str) -> dict[str, Any]:
        """A Video object, with the fields api.video's clients' models parse."""
        created = iso_seconds(self.created_at)
        return {
            "videoId": self.video_id,
            "title": self.title,
            "createdAt": created,
            "updatedAt": created,
            "publishedAt": created,
            "discarded": False,
            "description": self.description,
            "public": self.public,
            "panoramic": self.panoramic,
            "mp4Support": self.mp4_support,
            "tags": list(self.tags),
            "metadata": [dict(pair) for pair in self.metadata],
            "source": {"uri": f"/videos/{self.video_id}/source"},
            "assets": {
                "iframe": f'<iframe src="{base_url}/vod/{self.video_id}" width="100%" height="100%" '
                'frameborder="0" scrolling="no" allowfullscreen=""></iframe>',
                "player": f"{base_url}/vod/{self.video_id}",
                "hls": f"{base_url}/vod/{self.video_id}/hls/manifest.m3u8",
                "thumbnail": f"{base_url}/vod/{self.video_id}/thumbnail.jpg",
                "mp4": f"{base_url}/vod/{self.video_id}/mp4/source.mp4",
            },
        }

    def status_document(self) -> dict[str, Any]:
        """`GET /videos/{id}/status`: what the ingest holds, for a client resuming an upload (an empty
        video is `missing` its source, as api.video says of a video created but not uploaded)."""
        status = "uploaded" if self.complete else "uploading" if self.chunks else "missing"
        ingest: dict[str, Any] = {"status": status, "filesize": self.size if self.complete else None}
        if self.form in ("bytes", None):
            ingest["receivedBytes"] = [
                {"from": c.range.first, "to": c.range.last, "total": self.total or c.range.total}
                for c in self.in_order()
            ]
        else:
            ingest["receivedParts"] = {"parts": [c.range.part for c in self.in_order()], "total": self.total}
        return {"ingest": ingest, "encoding": {"playable": False, "qualities": []}}

    def stats(self) -> dict[str, Any]:
        return {
            "videoId": self.video_id,
            "title": self.title,
            "metadata": [dict(pair) for pair in self.metadata],
            "form": self.form,
            "total": self.total,
            "complete": self.complete,
            "bytesReceived": self.size,
            "chunks": [chunk.stats() for chunk in self.chunks],
            "uploadRequests": len(self.attempts),
            "attempts": [attempt.stats() for attempt in self.attempts],
        }


def check_request(chunk: ContentRange, size: int, video: Video | None) -> None:
    """Everything api.video checks of one upload request, except its token."""
    if size == 0:
        raise upload_refused("uploaded-file-empty", "The uploaded file is empty.")
    if size > MAX_REQUEST_BYTES:
        raise upload_refused("uploaded-file-too-large", "The uploaded file is too large.")
    chunk.check_alone(size)
    if video is None and not chunk.is_first:
        # api.video would start another video with this chunk (and never finish it); the double
        # refuses, so a client that forgets the videoId fails loudly.
        raise upload_refused(
            "attribute-required",
            "This attribute is required.",
            name="videoId",
            detail="Every chunk after the first must carry the videoId the first chunk returned.",
        )
    if video is not None:
        video.check(chunk, size)
    if not chunk.is_last and size < MIN_CHUNK_BYTES:
        slug = "by-bytes-range-too-small" if chunk.form == "bytes" else "by-part-uploaded-file-too-small"
        raise _range_problem(slug, "Every chunk but the last must be at least 5 MiB.")


def iso_seconds(epoch: float) -> str:
    """`2019-12-16T08:25:51+00:00`, as api.video dates videos."""
    return datetime.fromtimestamp(int(epoch), UTC).isoformat()


def _overlap(one: ContentRange, other: ContentRange) -> bool:
    assert (
        one.first is not None and one.last is not None and other.first is not None and other.last is not None
    )
    return one.first <= other.last and other.first <= one.last


def _range_problem(
    slug: str, title: str, detail: str | None = None, prefix: str = "video-content-range-"
) -> Problem:
    return upload_refused(prefix + slug, title, name="Content-Range", detail=detail)
