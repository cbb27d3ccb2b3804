"""The double's videos and counters: `POST /videos` (an empty video), `GET /videos` (filtered and
paginated as api.video does), and what `POST /upload` does with a parsed request."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.video_double.accounts import Accounts, pagination, positive_int, random_id
from local_stack.video_double.multipart import FilePart, Form
from local_stack.video_double.problems import (
    Problem,
    attribute_required,
    invalid_attribute,
    invalid_query,
    not_found,
    upload_refused,
)
from local_stack.video_double.uploads import Attempt, Chunk, ContentRange, Video, check_request

READ_BLOCK = 1024 * 1024
#: `GET /videos?sortBy=`: api.video's choices.
VIDEO_SORT_KEYS = ("title", "createdAt", "publishedAt", "updatedAt")
#: `POST /videos` fields the double keeps (api.video's others, e.g. `clip` or `watermark`, are
#: accepted and ignored: the double does not encode).
_TEXT_FIELDS = ("title", "description")
_FLAGS = {"public": "public", "panoramic": "panoramic", "mp4Support": "mp4_support"}


@dataclass(frozen=True)
class UploadRequest:
    """What `POST /upload` carried: its token, its Content-Range, and its form (None if unreadable)."""

    token: str | None
    content_range: str | None
    form: Form | None

    @property
    def video_id(self) -> str | None:
        return (self.form.fields.get("videoId") or None) if self.form else None

    @property
    def size(self) -> int:
        return sum(part.size for part in self.form.files) if self.form else 0


class Platform:
    """Videos built from upload requests, every request counted; thread-safe."""

    def __init__(self, accounts: Accounts, storage: Path, clock: Callable[[], float]) -> None:
        self.accounts = accounts
        self.storage = storage
        self.spool = storage / "incoming"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.base_url = ""
        self._clock = clock
        self._lock = threading.Lock()
        self.videos: dict[str, Video] = {}
        self.attempts: list[Attempt] = []
        self.bytes_received = 0

    def upload(self, request: UploadRequest) -> dict[str, Any]:
        """Stores the chunk and answers its video, or raises api.video's refusal; counted either way."""
        try:
            self.accounts.upload_credential(request.token)
            part = _single_file(request.form)
            chunk_range = ContentRange.parse(request.content_range, part.size)
            with self._lock:
                video = self._named_video(request.video_id)
                check_request(chunk_range, part.size, video)
                video = video or self._new_video(part, chunk_range)
                self._store(video, part, chunk_range, with_video_id=request.video_id is not None)
                self._count(request, 201, video.video_id)
                return video.document(self.base_url)
        except Problem as problem:
            self.refused(request, problem.status, problem.title)
            raise

    def create_video(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /videos`: an empty video ("video container") that uploads then name by its videoId."""
        video = Video(random_id("vi"), _title(body), self._clock(), None)
        video.description = _text(body, "description")
        for name, attribute in _FLAGS.items():
            if name in body:
                if not isinstance(body[name], bool):
                    raise invalid_attribute(name, "This value should be of type bool.")
                setattr(video, attribute, body[name])
        video.tags = _tags(body.get("tags", []))
        video.metadata = _metadata(body.get("metadata", []))
        with self._lock:
            (self.storage / video.video_id).mkdir()
            self.videos[video.video_id] = video
            return video.document(self.base_url)

    def list_videos(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """`GET /videos`: every filter given must hold (`title` and `description` contained,
        `metadata[key]=value` equal, every `tags[]` present), sorted, one page of `{data, pagination}`."""
        first = {name: values[0] for name, values in query.items()}
        sort_by = first.get("sortBy", "createdAt")
        sort_order = first.get("sortOrder", "asc")
        if sort_by not in VIDEO_SORT_KEYS:
            raise invalid_query("sortBy", f"This value should be one of: {', '.join(VIDEO_SORT_KEYS)}.")
        if sort_order not in ("asc", "desc"):
            raise invalid_query("sortOrder", "This value should be one of: asc, desc.")
        page = positive_int(first, "currentPage", 1, maximum=None)
        size = positive_int(first, "pageSize", 25, maximum=100)
        metadata = {
            name[len("metadata[") : -1]: value
            for name, value in first.items()
            if name.startswith("metadata[") and name.endswith("]")
        }
        tags = query.get("tags[]", [])
        with self._lock:
            found = [
                video
                for video in self.videos.values()
                if first.get("title", "") in video.title
                and first.get("description", "") in video.description
                and all({"key": key, "value": value} in video.metadata for key, value in metadata.items())
                and all(tag in video.tags for tag in tags)
            ]
            key = (lambda v: v.title) if sort_by == "title" else (lambda v: v.created_at)
            found.sort(key=key, reverse=sort_order == "desc")
            shown = [video.document(self.base_url) for video in found[(page - 1) * size : page * size]]
        extra = {
            name: value
            for name, value in first.items()
            if name in ("title", "description", "sortBy", "sortOrder") or name.startswith("metadata[")
        }
        return {"data": shown, "pagination": pagination("/videos", len(found), page, size, len(shown), extra)}

    def refused(self, request: UploadRequest, status: int, error: str | None) -> None:
        """Counts a request that stored nothing (refused, throttled, or answered by a scripted fault)."""
        if request.form is not None:
            request.form.discard()
        with self._lock:
            known = request.video_id if request.video_id in self.videos else None
            self._count(request, status, known, error)

    def video_document(self, video_id: str) -> dict[str, Any]:
        with self._lock:
            return self._video(video_id).document(self.base_url)

    def status_document(self, video_id: str) -> dict[str, Any]:
        with self._lock:
            return self._video(video_id).status_document()

    def source(self, video_id: str) -> tuple[int, Iterator[bytes]]:
        """The assembled source (the chunks in order, read from disk), once complete: 409 before."""
        with self._lock:
            video = self._video(video_id)
            if not video.complete:
                raise Problem(409, "video-source-incomplete", "The video's source is not complete yet.")
            paths = [chunk.path for chunk in video.in_order()]
            size = video.size
        return size, _read_files(paths)

    def sha256(self, video_id: str) -> str:
        digest = hashlib.sha256()
        for block in self.source(video_id)[1]:
            digest.update(block)
        return digest.hexdigest()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "uploadRequests": len(self.attempts),
                "bytesReceived": self.bytes_received,
                "videoIds": list(self.videos),
                "videos": [video.stats() for video in self.videos.values()],
                "attempts": [attempt.stats() for attempt in self.attempts],
            }

    def video_stats(self, video_id: str) -> dict[str, Any]:
        with self._lock:
            return self._video(video_id).stats()

    def reset(self) -> None:
        """Forget every video and counter (upload tokens and bearer tokens stay valid)."""
        with self._lock:
            for video_id in self.videos:
                shutil.rmtree(self.storage / video_id, ignore_errors=True)
            self.videos.clear()
            self.attempts.clear()
            self.bytes_received = 0

    def _video(self, video_id: str) -> Video:
        video = self.videos.get(video_id)
        if video is None:
            raise not_found("videoId")
        return video

    def _named_video(self, video_id: str | None) -> Video | None:
        return None if video_id is None else self._video(video_id)

    def _new_video(self, part: FilePart, chunk_range: ContentRange) -> Video:
        video = Video(random_id("vi"), part.filename or "video", self._clock(), chunk_range.form)
        (self.storage / video.video_id).mkdir()
        self.videos[video.video_id] = video
        return video

    def _store(self, video: Video, part: FilePart, chunk_range: ContentRange, with_video_id: bool) -> None:
        path = self.storage / video.video_id / f"{len(video.chunks):05d}.chunk"
        os.replace(part.path, path)
        video.chunks.append(Chunk(chunk_range, part.size, path, with_video_id))
        video.form = video.form or chunk_range.form
        video.total = video.total if chunk_range.total is None else chunk_range.total

    def _count(
        self, request: UploadRequest, status: int, video_id: str | None, error: str | None = None
    ) -> None:
        attempt = Attempt(
            status, video_id, request.content_range, request.size, request.video_id is not None, error
        )
        self.attempts.append(attempt)
        self.bytes_received += request.size
        if video_id is not None:
            self.videos[video_id].attempts.append(attempt)


def _title(body: dict[str, Any]) -> str:
    if "title" not in body:
        raise attribute_required("title")
    title = body["title"]
    if not isinstance(title, str) or not title.strip():
        raise invalid_attribute("title", "This value should not be blank.")
    return title


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise invalid_attribute(name, "This value should be of type string.")
    return value


def _tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise invalid_attribute("tags", "This value should be a list of strings.")
    return list(tags)


def _metadata(pairs: Any) -> list[dict[str, str]]:
    """api.video's `[{"key", "value"}]`, both strings, each key once."""
    if not isinstance(pairs, list) or not all(
        isinstance(pair, dict)
        and set(pair) == {"key", "value"}
        and isinstance(pair["key"], str)
        and isinstance(pair["value"], str)
        and pair["key"]
        for pair in pairs
    ):
        raise invalid_attribute(
            "metadata", 'This value should be a list of {"key": string, "value": string}.'
        )
    if len({pair["key"] for pair in pairs}) != len(pairs):
        raise invalid_attribute("metadata", "A metadata key appears more than once.")
    return [{"key": pair["key"], "value": pair["value"]} for pair in pairs]


def _single_file(form: Form | None) -> FilePart:
    files = form.files if form else []
    if not any(part.field == "file" for part in files):
        raise upload_refused("uploaded-file-no-file", "There is no uploaded file in the request.")
    if len(files) > 1:
        raise upload_refused(
            "uploaded-file-multiple-files", "There is more than one uploaded file in the request."
        )
    return files[0]


def _read_files(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        with path.open("rb") as source:
            while block := source.read(READ_BLOCK):
                yield block
