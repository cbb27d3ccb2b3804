"""A delegated upload to api.video, chunked and resumable, into one video made once per upload.

1. the video: an empty one ("video container", `POST /videos`, titled with the file name, metadata
   `uploadId`), or the one an earlier attempt made (`GET /videos?metadata[uploadId]=`); reported to
   `on_chunk` with 0 bytes, so the caller records its videoId durably **before any byte is sent**;
2. a fresh api.video upload token with a short ttl (one per call, i.e. per attempt);
3. `POST /upload?token=`: one request for a file up to `chunk_bytes`, else chunks of `chunk_bytes`
   with `Content-Range: bytes first-last/total`; **every** request, the first included, names the
   video (`videoId`), so no request can start another video, however often it is resent;
4. the token deleted, in a `finally`, best effort.

Exactly one video per upload: the video exists and is recorded before any chunk, so a lost answer
to a chunk, or a crash, is resumed in that video. The only request that makes a video is
`POST /videos`: it is never resent by the session (`outbound.at_most_once`), and a lost answer to
it, or a crash before its videoId is recorded, is found by the lookup that precedes every creation.

Resume: given the progress so far (`video_id`, `bytes_sent`), the upload continues at byte
`bytes_sent` of the same video, or further on if api.video holds more (its status's received bytes);
`on_chunk(progress)` runs once the video exists and after every acknowledged chunk, before the next
request, so the caller can record it durably. Acknowledged bytes are never sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from upload_service.core.ids import mask
from upload_service.core.observability import logger
from upload_service.core.outbound import RetryLater
from upload_service.core.publisher import media_detail
from upload_service.core.records import Media
from upload_service.forwarding.apivideo.body import ByteSource, ChunkBody
from upload_service.forwarding.apivideo.client import ApiVideoClient
from upload_service.forwarding.apivideo.errors import ApiVideoError, ApiVideoFinalError, ApiVideoUnavailable

MIB = 1024 * 1024
#: api.video's limits: parts of at least 5 MiB (but the last), at most 200 MiB a request, 10,000 parts.
MIN_CHUNK_BYTES = 5 * MIB
MAX_CHUNK_BYTES = 200 * MIB
MAX_PARTS = 10_000
#: Lambda's 15-minute maximum plus a minute: the token outlives any invocation that created it.
UPLOAD_TOKEN_TTL_SECONDS = 960
#: The video's metadata key naming the upload it holds: how an earlier attempt's video is found.
UPLOAD_ID_KEY = "uploadId"


@dataclass(frozen=True)
class Progress:
    """What api.video has acknowledged: the video started, and the bytes it holds (from byte 0)."""

    video_id: str | None = None
    bytes_sent: int = 0


def upload(
    client: ApiVideoClient,
    source: ByteSource,
    *,
    upload_id: str,
    file_name: str,
    size: int,
    chunk_bytes: int,
    progress: Progress | None = None,
    on_chunk: Callable[[Progress], None] = lambda _: None,
    content_type: str = "application/octet-stream",
    token_ttl: int = UPLOAD_TOKEN_TTL_SECONDS,
    before_last_chunk: Callable[[], None] = lambda: None,
    metadata: Mapping[str, str] | None = None,
) -> Progress:
    """Upload (or finish uploading) `size` bytes of `source` as `file_name`, the upload `upload_id`
    (the video's metadata, with `metadata`: what the landing found of the media); the final progress.
    `before_last_chunk` runs before the request that completes the video is sent (a check that raises
    keeps the video incomplete)."""
    done = progress or Progress()
    _check(size, chunk_bytes, done)
    if done.bytes_sent == size:
        return done
    if done.video_id is None:
        done = Progress(video_of(client, upload_id, file_name, metadata), 0)
        on_chunk(done)  # recorded before any byte is sent
    else:  # a resumed upload: api.video may hold more than was recorded
        held = min(size, client.received_bytes(done.video_id))
        if held > done.bytes_sent:
            done = Progress(done.video_id, held)
            on_chunk(done)
        if done.bytes_sent == size:
            return done
    token = client.create_upload_token(token_ttl)
    sender = _ChunkSender(client, token, source, file_name, content_type, size, chunk_bytes)
    try:
        for first, last in chunk_ranges(size, chunk_bytes, start=done.bytes_sent):
            if last == size - 1:
                before_last_chunk()
            done = sender.send(first, last, done)
            on_chunk(done)
    finally:
        _delete_quietly(client, token)
    return done


def video_of(
    client: ApiVideoClient, upload_id: str, title: str, metadata: Mapping[str, str] | None = None
) -> str:
    """The upload's video: the one an earlier attempt made (its creation's answer lost, or the
    attempt ended before recording it), else a new, empty one. No byte was sent to either: bytes go
    only to a recorded video."""
    found = client.videos_with(UPLOAD_ID_KEY, upload_id)
    if not found:
        try:
            return client.create_video(title, {UPLOAD_ID_KEY: upload_id, **(metadata or {})})
        except ApiVideoUnavailable:  # no answer, or a 5xx: it may have been made all the same
            found = client.videos_with(UPLOAD_ID_KEY, upload_id)
            if not found:
                raise
    if len(found) > 1:
        logger.warning(
            "Several api.video videos name one upload", extra={"uploadId": upload_id, "videoIds": found}
        )
    return found[0]


def chunk_ranges(size: int, chunk_bytes: int, start: int = 0) -> Iterator[tuple[int, int]]:
    """Inclusive byte ranges of `chunk_bytes` from `start` to the end, the last one shorter."""
    for first in range(start, size, chunk_bytes):
        yield first, min(first + chunk_bytes, size) - 1


@dataclass(frozen=True)
class _ChunkSender:
    client: ApiVideoClient
    token: str
    source: ByteSource
    file_name: str
    content_type: str
    size: int
    chunk_bytes: int

    def send(self, first: int, last: int, done: Progress) -> Progress:
        """One request for bytes `first..last`; the progress once api.video acknowledged them."""
        body = ChunkBody(
            self.source,
            first,
            last,
            file_name=self.file_name,
            content_type=self.content_type,
            video_id=done.video_id,
        )
        try:
            video = self.client.upload(self.token, body, self.content_range(first, last))
        except ApiVideoFinalError:
            # A chunk resent after its answer was lost is refused as already received: so it is.
            if done.video_id and self.client.received_bytes(done.video_id) > last:
                return Progress(done.video_id, last + 1)
            raise
        finally:
            body.close()
        video_id = video.get("videoId")
        if video_id != done.video_id:
            raise ApiVideoError(200, "api.video answered with another video, or none", str(video_id))
        return Progress(done.video_id, last + 1)

    def content_range(self, first: int, last: int) -> str | None:
        """None for a file sent whole in one request, else `bytes first-last/total`."""
        whole = first == 0 and last == self.size - 1
        return None if whole else f"bytes {first}-{last}/{self.size}"


def _check(size: int, chunk_bytes: int, progress: Progress) -> None:
    if size <= 0:
        raise ValueError("api.video takes no empty file")
    if not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise ValueError(f"chunk_bytes must be within {MIN_CHUNK_BYTES}-{MAX_CHUNK_BYTES}")
    if -(-size // chunk_bytes) > MAX_PARTS:
        raise ValueError(f"more than {MAX_PARTS} parts: use larger chunks")
    if not 0 <= progress.bytes_sent <= size or (progress.bytes_sent and not progress.video_id):
        raise ValueError("progress must name its video and lie within the file")


def _delete_quietly(client: ApiVideoClient, token: str) -> None:
    """Best effort: the token expires by itself after its short ttl anyway."""
    try:
        client.delete_upload_token(token)
    except (ApiVideoError, RetryLater) as exc:
        logger.warning(
            "Could not delete an api.video upload token", extra={"token": mask(token), "error": str(exc)}
        )


def media_metadata(media: Media | None) -> dict[str, str]:
    """What the landing found of the media, as api.video metadata: the members of the events' `media`
    (strings; absent facts left out)."""
    return {
        key: f"{value:g}" if isinstance(value, float) else str(value)
        for key, value in (media_detail(media) or {}).items()
        if value is not None
    }
