"""The api.video client against a scripted stand-in for api.video (stdlib, in this file).

The stand-in reads upload bodies as a stream (hashing the file part, keeping none of it), so the
memory test measures the client alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from local_stack.http_handler import Server
from tests.unit.scripted import FakeClock, serving
from upload_service.core import outbound
from upload_service.forwarding import apivideo
from upload_service.forwarding.apivideo import (
    ApiVideoClient,
    ApiVideoError,
    ApiVideoFinalError,
    ApiVideoNotFound,
    ApiVideoUnauthorized,
    ApiVideoUnavailable,
    Progress,
    RetryLater,
    upload,
)

MIB = 1024 * 1024
API_KEY = "test-api-key-0123456789"
#: The bytes of every test file repeat this block; its prime length puts each chunk at a new phase.
PATTERN = random.Random(7).randbytes(1_000_003)


# --- the source of the file's bytes ----------------------------------------------------------------


class PatternStream:
    def __init__(self, first: int, last: int) -> None:
        self.position = first
        self.end = last + 1
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        wanted = self.end - self.position if size < 0 else min(size, self.end - self.position)
        pieces = []
        while wanted > 0:
            offset = self.position % len(PATTERN)
            piece = PATTERN[offset : offset + wanted]
            pieces.append(piece)
            self.position += len(piece)
            wanted -= len(piece)
        return b"".join(pieces)

    def close(self) -> None:
        self.closed = True


class PatternSource:
    """A file of `size` bytes generated on demand; records every range opened."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.opened: list[tuple[int, int]] = []
        self.streams: list[PatternStream] = []

    def open_range(self, first: int, last: int) -> PatternStream:
        assert 0 <= first <= last < self.size
        self.opened.append((first, last))
        self.streams.append(PatternStream(first, last))
        return self.streams[-1]

    def sha256(self, first: int, last: int) -> str:
        stream = PatternStream(first, last)
        digest = hashlib.sha256()
        while block := stream.read(MIB):
            digest.update(block)
        return digest.hexdigest()


# --- a scripted stand-in for api.video --------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 0  # 0: no answer, the connection closed after `drop_after` bytes of the body
    headers: dict[str, str] = field(default_factory=dict)
    problem: dict[str, Any] | None = None
    drop_after: int = 0
    lost: bool = False  # handled as usual (a video made, a chunk kept), then the connection closed


LOST = Reply(lost=True)


@dataclass(frozen=True)
class Chunk:
    """One upload request as received: what the multipart body held, and the answer given."""

    token: str
    content_range: str | None
    video_id: str | None
    file_name: str
    length: int
    sha256: str
    status: int


class FakeApiVideo(Server):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeApiVideoHandler)
        self.lock = threading.Lock()
        self.calls: list[str] = []  # "POST /auth/api-key", ...
        self.headers_seen: list[dict[str, str]] = []
        self.scripts: dict[str, list[Reply | None]] = {}
        self.bearers: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.tokens: set[str] = set()
        self.deleted: list[str] = []
        self.chunks: list[Chunk] = []
        self.videos: dict[str, list[tuple[int, int]]] = {}
        self.metadata: dict[str, dict[str, str]] = {}  # videoId -> its metadata, for POST /videos' videos
        self.titles: dict[str, str] = {}
        self.counter = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def script(self, route: str, *replies: Reply | None) -> None:
        """The next answers for `route` ("POST /upload"); None lets one request through."""
        self.scripts[route] = list(replies)

    def scripted(self, route: str) -> Reply | None:
        queue = self.scripts.get(route) or []
        return queue.pop(0) if queue else None

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:022d}"

    def count(self, route: str) -> int:
        return self.calls.count(route)

    @property
    def acknowledged(self) -> list[Chunk]:
        return [chunk for chunk in self.chunks if chunk.status == 200]


def problem(status: int, title: str, **extra: Any) -> dict[str, Any]:
    return {"type": f"https://docs.api.video/reference/{status}", "title": title, "status": status, **extra}


class FakeApiVideoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a body shorter than its Content-Length fails the test instead of hanging it
    server: FakeApiVideo

    def do_POST(self) -> None:
        self.handle_call()

    do_DELETE = do_POST
    do_GET = do_POST

    def handle_call(self) -> None:
        path = urlsplit(self.path).path
        route = f"{self.command} {re.sub(r'^/upload-tokens/.+', '/upload-tokens/{t}', path)}"
        with self.server.lock:
            self.server.calls.append(route)
            self.server.headers_seen.append(dict(self.headers))
            reply = self.server.scripted(route)
        if reply and reply.drop_after:
            self.rfile.read(reply.drop_after)
            self.close_connection = True
            return
        lost = reply is not None and reply.lost
        if lost:
            reply = None
        if route == "POST /upload":
            answer = self.receive_chunk(reply)
        else:
            self.read_json()
            answer = reply or self.answer(route)
        if lost:
            self.close_connection = True
            return
        self.reply(answer)

    def answer(self, route: str) -> Reply:
        server = self.server
        if route in ("POST /auth/api-key", "POST /auth/refresh"):
            return self.authenticate(route)
        if f"Bearer {self.headers.get('Authorization', '')[7:]}" not in {
            f"Bearer {b}" for b in server.bearers
        }:
            return Reply(401, problem=problem(401, "Unauthorized"))
        if route.startswith("GET /videos/") and route.endswith("/status"):  # what a resume asks first
            received = sorted(server.videos.get(route.split("/")[2], []))
            ingest = {"receivedBytes": [{"from": first, "to": last} for first, last in received]}
            return Reply(200, problem={"ingest": ingest})
        if route == "POST /videos":
            video_id = server.new_id("vi")
            server.videos[video_id] = []
            server.titles[video_id] = self.body["title"]
            server.metadata[video_id] = {pair["key"]: pair["value"] for pair in self.body["metadata"]}
            return Reply(201, problem={"videoId": video_id, "title": self.body["title"]})
        if route == "GET /videos":
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            wanted = {k[len("metadata[") : -1]: v for k, v in query.items() if k.startswith("metadata[")}
            found = [
                {"videoId": video_id}
                for video_id, metadata in server.metadata.items()
                if wanted.items() <= metadata.items()
            ]
            return Reply(200, problem={"data": found, "pagination": {"itemsTotal": len(found)}})
        if route == "POST /upload-tokens":
            token = server.new_id("to")
            server.tokens.add(token)
            return Reply(200, problem={"token": token, "ttl": self.body["ttl"]})
        token = urlsplit(self.path).path.rsplit("/", 1)[1]
        server.tokens.discard(token)
        server.deleted.append(token)
        return Reply(204)

    def authenticate(self, route: str) -> Reply:
        server = self.server
        if route == "POST /auth/api-key":
            valid = self.body.get("apiKey") == API_KEY
        else:
            valid = self.body.get("refreshToken") in server.refresh_tokens
        if not valid:
            return Reply(401, problem=problem(401, "Unauthorized"))
        access, refresh = server.new_id("access"), server.new_id("refresh")
        server.bearers.add(access)
        server.refresh_tokens.add(refresh)
        body = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": 3600}
        return Reply(200, problem=body)

    def receive_chunk(self, scripted: Reply | None) -> Reply:
        token = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
        fields, length, sha256 = self.read_multipart()
        reply = scripted or self.accept_chunk(token, fields, length)
        video_id = fields.get("videoId")
        with self.server.lock:
            chunk = Chunk(
                token,
                self.headers.get("Content-Range"),
                video_id,
                fields["filename"],
                length,
                sha256,
                reply.status,
            )
            self.server.chunks.append(chunk)
        return reply

    def accept_chunk(self, token: str, fields: dict[str, str], length: int) -> Reply:
        server = self.server
        if token not in server.tokens:
            return Reply(404, problem=problem(404, "The upload token was not found."))
        video_id = fields.get("videoId") or server.new_id("vi")
        if video_id not in server.videos and "videoId" in fields:
            return Reply(404, problem=problem(404, "The video was not found."))
        first, last = self.range_received(length)
        if any(
            first <= held_last and held_first <= last
            for held_first, held_last in server.videos.get(video_id, [])
        ):
            return Reply(400, problem=problem(400, "The range overlaps a range already received."))
        server.videos.setdefault(video_id, []).append((first, last))
        return Reply(200, problem={"videoId": video_id})

    def range_received(self, length: int) -> tuple[int, int]:
        """The chunk's `Content-Range`, or the whole file (no header)."""
        found = re.fullmatch(r"bytes (\d+)-(\d+)/\d+", self.headers.get("Content-Range") or "")
        return (int(found[1]), int(found[2])) if found else (0, length - 1)

    def read_multipart(self) -> tuple[dict[str, str], int, str]:
        """Fields before the file part, and the file part's length and sha256, read as a stream."""
        length = int(self.headers["Content-Length"])
        boundary = self.headers["Content-Type"].split("boundary=")[1].encode()
        head = self.rfile.read(min(length, 64 * 1024))
        file_header = head.index(b'name="file"')
        start = head.index(b"\r\n\r\n", file_header) + 4
        fields = dict(re.findall(rb'name="(\w+)"\r\n\r\n([^\r]*)\r\n', head[:file_header]))
        fields[b"filename"] = re.search(rb'filename="([^"]*)"', head[file_header:start])[1]  # type: ignore[index]
        trailer = b"\r\n--" + boundary + b"--\r\n"
        file_length = length - start - len(trailer)
        digest, seen, rest = hashlib.sha256(), 0, b""
        for block in self.blocks(head[start:], length - len(head)):
            taken = block[: max(0, file_length - seen)]
            digest.update(taken)
            seen += len(taken)
            rest += block[len(taken) :]
        assert rest == trailer, rest[:100]
        return {k.decode(): v.decode() for k, v in fields.items()}, file_length, digest.hexdigest()

    def blocks(self, first: bytes, left: int) -> Iterator[bytes]:
        yield first
        while left > 0:
            block = self.rfile.read(min(left, 64 * 1024))
            left -= len(block)
            yield block

    def read_json(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.body: dict[str, Any] = json.loads(raw) if raw else {}

    def reply(self, reply: Reply) -> None:
        payload = json.dumps(reply.problem).encode() if reply.problem is not None else b""
        self.send_response(reply.status)
        for name, value in {**reply.headers, "Content-Length": str(len(payload))}.items():
            self.send_header(name, value)
        if payload:
            self.send_header(
                "Content-Type", "application/problem+json" if reply.status >= 400 else "application/json"
            )
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[FakeApiVideo]:
    with serving(FakeApiVideo()) as httpd:
        yield httpd


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(api: FakeApiVideo, clock: FakeClock) -> ApiVideoClient:
    return ApiVideoClient(api.url, API_KEY, http=outbound.build_session(sleep=clock.sleep), clock=clock)


UPLOAD_ID = "0123456789abcdef0123456789abcdef"


def send_file(client: ApiVideoClient, source: PatternSource, chunk: int, **kwargs: Any) -> list[Progress]:
    """Uploads `source` as "clip.mp4" (the upload UPLOAD_ID); the progress reported once the video
    exists and after each chunk."""
    reported: list[Progress] = []
    final = upload(
        client,
        source,
        upload_id=UPLOAD_ID,
        file_name="clip.mp4",
        size=source.size,
        chunk_bytes=chunk,
        on_chunk=reported.append,
        **kwargs,
    )
    assert final == reported[-1]
    return reported


# --- authentication ---------------------------------------------------------------------------------


def test_one_bearer_token_serves_many_calls_until_it_nears_expiry(
    api: FakeApiVideo, client: ApiVideoClient, clock: FakeClock
) -> None:
    for _ in range(3):
        client.create_upload_token(60)
    assert api.count("POST /auth/api-key") == 1

    clock.now += 3600 - 30  # inside the early-renewal window
    client.create_upload_token(60)
    assert api.count("POST /auth/api-key") == 2


@pytest.mark.parametrize(("refresh_works", "key_calls"), [(True, 1), (False, 2)])
def test_a_401_renews_the_bearer_once_and_retries_the_call(
    api: FakeApiVideo, client: ApiVideoClient, refresh_works: bool, key_calls: int
) -> None:
    client.create_upload_token(60)
    api.bearers.clear()  # every bearer token issued so far is now refused
    if not refresh_works:
        api.refresh_tokens.clear()

    token = client.create_upload_token(60)

    assert token in api.tokens
    assert api.count("POST /auth/refresh") == 1
    assert api.count("POST /auth/api-key") == key_calls
    assert api.count("POST /upload-tokens") == 3


def test_a_401_after_renewal_is_unauthorized(api: FakeApiVideo, client: ApiVideoClient) -> None:
    deny = Reply(401, problem=problem(401, "Unauthorized"))
    api.script("POST /upload-tokens", deny, deny)

    with pytest.raises(ApiVideoUnauthorized) as raised:
        client.create_upload_token(60)

    assert not raised.value.final
    assert api.count("POST /upload-tokens") == 2


def test_a_wrong_api_key_is_unauthorized(api: FakeApiVideo, clock: FakeClock) -> None:
    wrong = ApiVideoClient(api.url, "not-the-key", http=outbound.build_session(sleep=clock.sleep))
    with pytest.raises(ApiVideoUnauthorized):
        wrong.create_upload_token(60)


# --- problem documents ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "final", "attempts"),
    [
        (400, ApiVideoFinalError, True, 1),
        (403, ApiVideoFinalError, True, 1),
        (409, ApiVideoFinalError, True, 1),
        (404, ApiVideoNotFound, False, 1),
        (500, ApiVideoUnavailable, False, 1),
        (503, ApiVideoUnavailable, False, 6),  # retried by the session, then given up
    ],
)
def test_problem_documents_become_typed_errors(
    api: FakeApiVideo, client: ApiVideoClient, status: int, error_type: type, final: bool, attempts: int
) -> None:
    reply = Reply(status, problem=problem(status, "It went wrong.", detail="Some detail.", name="ttl"))
    api.script("POST /upload-tokens", *[reply] * 6)

    with pytest.raises(ApiVideoError) as raised:
        client.create_upload_token(60)

    error = raised.value
    assert type(error) is error_type
    assert (error.status, error.title, error.detail, error.name) == (
        status,
        "It went wrong.",
        "Some detail.",
        "ttl",
    )
    assert error.final is final
    assert api.count("POST /upload-tokens") == attempts


def test_a_429_that_outlives_the_retries_is_retry_later(
    api: FakeApiVideo, client: ApiVideoClient, clock: FakeClock
) -> None:
    limited = Reply(429, {"X-RateLimit-Retry-After": "2"}, problem(429, "Too many requests."))
    api.script("POST /upload-tokens", *[limited] * 6)

    with pytest.raises(RetryLater) as raised:
        client.create_upload_token(60)

    assert raised.value.after_seconds == 2
    assert clock.slept == [2.0] * 5


def test_no_answer_at_all_is_unavailable(clock: FakeClock) -> None:
    nowhere = ApiVideoClient("http://127.0.0.1:9", API_KEY, http=outbound.build_session(sleep=clock.sleep))
    with pytest.raises(ApiVideoUnavailable) as raised:
        nowhere.create_upload_token(60)
    assert raised.value.status is None
    assert raised.value.__cause__ is None  # requests' message holds the URL, hence no chain


# --- delegated upload -------------------------------------------------------------------------------


def test_a_small_file_is_one_request_without_content_range(api: FakeApiVideo, client: ApiVideoClient) -> None:
    source = PatternSource(3 * MIB + 17)

    reported = send_file(client, source, chunk=5 * MIB)

    [chunk] = api.chunks
    [video_id] = api.videos
    assert (chunk.content_range, chunk.video_id, chunk.file_name) == (None, video_id, "clip.mp4")
    assert (chunk.length, chunk.sha256) == (source.size, source.sha256(0, source.size - 1))
    assert reported == [Progress(video_id, 0), Progress(video_id, source.size)]
    assert "Authorization" not in api.headers_seen[api.calls.index("POST /upload")]
    assert api.deleted == [chunk.token]
    assert api.tokens == set()


def test_a_26_mib_file_goes_in_6_chunks_each_naming_the_video(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    size = 26 * MIB
    source = PatternSource(size)

    reported = send_file(client, source, chunk=5 * MIB)

    ranges = [(first, min(first + 5 * MIB, size) - 1) for first in range(0, size, 5 * MIB)]
    assert [c.content_range for c in api.chunks] == [f"bytes {a}-{b}/{size}" for a, b in ranges]
    [video_id] = api.videos
    assert [c.video_id for c in api.chunks] == [video_id] * 6
    assert [c.sha256 for c in api.chunks] == [source.sha256(a, b) for a, b in ranges]
    assert reported == [Progress(video_id, 0)] + [Progress(video_id, b + 1) for _, b in ranges]
    assert api.count("POST /upload-tokens") == 1
    assert api.deleted == [api.chunks[0].token]


def test_the_video_is_made_and_reported_before_any_byte_is_sent(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    source = PatternSource(12 * MIB)
    reported: list[Progress] = []
    calls_when_reported: list[list[str]] = []

    def record(progress: Progress) -> None:
        reported.append(progress)
        calls_when_reported.append(list(api.calls))

    final = upload(
        client,
        source,
        upload_id=UPLOAD_ID,
        file_name="clip.mp4",
        size=source.size,
        chunk_bytes=5 * MIB,
        on_chunk=record,
    )

    [video_id] = api.videos
    assert (api.titles[video_id], api.metadata[video_id]) == ("clip.mp4", {"uploadId": UPLOAD_ID})
    assert reported[0] == Progress(video_id, 0)
    assert calls_when_reported[0] == ["POST /auth/api-key", "GET /videos", "POST /videos"]  # no byte yet
    assert api.calls[3:] == ["POST /upload-tokens", *["POST /upload"] * 3, "DELETE /upload-tokens/{t}"]
    assert [c.video_id for c in api.chunks] == [video_id] * 3
    assert final == Progress(video_id, source.size)


def test_the_video_an_earlier_attempt_made_is_used_not_made_again(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    """An attempt that made the video but ended before recording it (a crash): the next one finds it."""
    earlier = client.create_video("clip.mp4", {"uploadId": UPLOAD_ID})
    client.create_video("other.mp4", {"uploadId": "f" * 32})

    reported = send_file(client, PatternSource(6 * MIB), chunk=5 * MIB)

    assert reported[0] == Progress(earlier, 0)
    assert api.count("POST /videos") == 2  # the two above, none by the upload
    assert {c.video_id for c in api.chunks} == {earlier}
    assert api.videos[earlier] == [(0, 5 * MIB - 1), (5 * MIB, 6 * MIB - 1)]


def test_a_lost_answer_to_the_video_creation_is_not_resent_and_the_video_is_found(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    api.script("POST /videos", LOST)

    reported = send_file(client, PatternSource(6 * MIB), chunk=5 * MIB)

    [video_id] = api.videos
    assert reported[0] == Progress(video_id, 0)
    assert (api.count("POST /videos"), api.count("GET /videos")) == (1, 2)  # made once, looked up twice
    assert reported[-1] == Progress(video_id, 6 * MIB)


@pytest.mark.parametrize("reply", [Reply(503, problem=problem(503, "Busy")), LOST])
def test_a_creation_that_failed_sends_no_byte_and_is_not_resent(
    api: FakeApiVideo, client: ApiVideoClient, reply: Reply
) -> None:
    """A 503 is not resent at once (it may have made the video all the same): the lookup after it
    decides; finding nothing, the attempt ends and the next one looks again before making one."""
    api.script("POST /videos", reply)
    api.script("GET /videos", None, Reply(200, problem={"data": [], "pagination": {}}))  # as if not made yet
    reported: list[Progress] = []

    with pytest.raises(ApiVideoUnavailable):
        upload(
            client,
            PatternSource(6 * MIB),
            upload_id=UPLOAD_ID,
            file_name="clip.mp4",
            size=6 * MIB,
            chunk_bytes=5 * MIB,
            on_chunk=reported.append,
        )

    assert (api.count("POST /videos"), api.count("GET /videos"), api.chunks, reported) == (1, 2, [], [])


@pytest.mark.parametrize("size", [3 * MIB, 12 * MIB])
def test_a_lost_answer_to_the_first_chunk_makes_no_second_video(
    api: FakeApiVideo, client: ApiVideoClient, size: int
) -> None:
    """The first chunk names its video too: resent by the session after its answer was lost, it is
    refused as already received (not taken as a new video's first chunk), and the status says so."""
    source = PatternSource(size)
    api.script("POST /upload", LOST)

    reported = send_file(client, source, chunk=5 * MIB)

    [video_id] = api.videos
    assert [c.status for c in api.chunks][:2] == [200, 400]
    assert {c.video_id for c in api.chunks} == {video_id}
    assert reported[-1] == Progress(video_id, size)
    held = sorted(api.videos[video_id])
    assert held == [(a, min(a + 5 * MIB, size) - 1) for a in range(0, size, 5 * MIB)]


def test_a_crash_after_chunk_2_resumes_at_chunk_3_with_the_same_video(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    size = 26 * MIB
    source = PatternSource(size)
    saved: list[Progress] = []

    def record_then_crash(progress: Progress) -> None:
        saved.append(progress)
        if progress.bytes_sent == 10 * MIB:
            raise RuntimeError("the function died")

    with pytest.raises(RuntimeError):
        upload(
            client,
            source,
            upload_id=UPLOAD_ID,
            file_name="clip.mp4",
            size=size,
            chunk_bytes=5 * MIB,
            on_chunk=record_then_crash,
        )
    source.opened.clear()

    reported = send_file(client, source, chunk=5 * MIB, progress=saved[-1])

    [video_id] = api.videos
    assert saved[-1] == Progress(video_id, 10 * MIB)
    assert source.opened[0] == (10 * MIB, 15 * MIB - 1)  # nothing acknowledged is read again
    assert sorted(api.videos[video_id]) == [(a, min(a + 5 * MIB, size) - 1) for a in range(0, size, 5 * MIB)]
    assert [c.video_id for c in api.chunks[2:]] == [video_id] * 4
    assert (api.count("GET /videos"), api.count("POST /videos")) == (1, 1)  # the resume knew its video
    assert reported[-1] == Progress(video_id, size)
    first_token, second_token = api.chunks[0].token, api.chunks[2].token
    assert first_token != second_token
    assert api.deleted == [first_token, second_token]


def test_a_resumed_upload_whose_rest_fits_one_chunk_still_names_its_range(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    source = PatternSource(12 * MIB)
    send_file(client, source, chunk=5 * MIB)
    [video_id] = api.videos
    api.videos[video_id] = [(0, 5 * MIB - 1)]  # as if only the first chunk had arrived

    send_file(
        client, source, chunk=20 * MIB, progress=Progress(video_id, 5 * MIB)
    )  # ForwardChunkBytes changed

    assert (api.chunks[-1].content_range, api.chunks[-1].video_id) == (
        f"bytes {5 * MIB}-{12 * MIB - 1}/{12 * MIB}",
        video_id,
    )


def test_a_finished_upload_sends_nothing(api: FakeApiVideo, client: ApiVideoClient) -> None:
    done = Progress("vi1", 6 * MIB)
    assert (
        upload(
            client,
            PatternSource(6 * MIB),
            upload_id=UPLOAD_ID,
            file_name="a",
            size=6 * MIB,
            chunk_bytes=5 * MIB,
            progress=done,
        )
        == done
    )
    assert api.calls == []


def test_a_retried_chunk_re_reads_its_range_from_the_source(
    api: FakeApiVideo, client: ApiVideoClient, clock: FakeClock
) -> None:
    size = 12 * MIB
    source = PatternSource(size)
    api.script("POST /upload", None, Reply(503, {"Retry-After": "1"}, problem(503, "Busy")))

    send_file(client, source, chunk=5 * MIB)

    assert source.opened == [
        (0, 5 * MIB - 1),
        (5 * MIB, 10 * MIB - 1),
        (5 * MIB, 10 * MIB - 1),
        (10 * MIB, size - 1),
    ]
    assert [c.status for c in api.chunks] == [200, 503, 200, 200]
    assert api.chunks[1].sha256 == api.chunks[2].sha256 == source.sha256(5 * MIB, 10 * MIB - 1)
    assert all(stream.closed for stream in source.streams)
    assert clock.slept == [1.0]


def test_a_connection_lost_mid_chunk_resends_the_chunk_from_its_first_byte(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    source = PatternSource(12 * MIB)
    api.script("POST /upload", None, Reply(drop_after=MIB))

    send_file(client, source, chunk=5 * MIB)

    assert source.opened.count((5 * MIB, 10 * MIB - 1)) == 2
    [video_id] = api.videos
    assert sorted(api.videos[video_id]) == [
        (0, 5 * MIB - 1),
        (5 * MIB, 10 * MIB - 1),
        (10 * MIB, 12 * MIB - 1),
    ]
    assert [c.sha256 for c in api.acknowledged] == [
        source.sha256(a, b) for a, b in sorted(api.videos[video_id])
    ]


def test_a_400_fails_at_once_and_still_deletes_the_token(api: FakeApiVideo, client: ApiVideoClient) -> None:
    api.script("POST /upload", Reply(400, problem=problem(400, "The file is invalid.", name="file")))

    with pytest.raises(ApiVideoFinalError) as raised:
        send_file(client, PatternSource(12 * MIB), chunk=5 * MIB)

    assert (raised.value.title, raised.value.name) == ("The file is invalid.", "file")
    assert len(api.chunks) == 1
    assert api.deleted == [api.chunks[0].token]


def test_a_wait_past_the_deadline_stops_with_progress_saved(
    api: FakeApiVideo, client: ApiVideoClient, clock: FakeClock
) -> None:
    api.script(
        "POST /upload", None, Reply(429, {"X-RateLimit-Retry-After": "60"}, problem(429, "Slow down."))
    )
    reported: list[Progress] = []

    with outbound.deadline(lambda: 30 - clock.now, margin=5), pytest.raises(RetryLater) as raised:
        upload(
            client,
            PatternSource(12 * MIB),
            upload_id=UPLOAD_ID,
            file_name="a",
            size=12 * MIB,
            chunk_bytes=5 * MIB,
            on_chunk=reported.append,
        )

    assert raised.value.after_seconds == 60
    assert clock.slept == []
    [video_id] = api.videos
    assert reported == [Progress(video_id, 0), Progress(video_id, 5 * MIB)]
    assert len(api.deleted) == 1


@pytest.mark.parametrize(
    ("size", "chunk", "progress"),
    [
        (0, 5 * MIB, Progress()),
        (10 * MIB, 4 * MIB, Progress()),
        (10 * MIB, 201 * MIB, Progress()),
        (10 * MIB, 5 * MIB, Progress(None, 5 * MIB)),
        (10 * MIB, 5 * MIB, Progress("vi1", 11 * MIB)),
    ],
)
def test_impossible_uploads_are_refused_before_any_call(
    api: FakeApiVideo, client: ApiVideoClient, size: int, chunk: int, progress: Progress
) -> None:
    with pytest.raises(ValueError):
        upload(
            client,
            PatternSource(max(size, 1)),
            upload_id=UPLOAD_ID,
            file_name="a",
            size=size,
            chunk_bytes=chunk,
            progress=progress,
        )
    assert api.calls == []


def test_memory_stays_under_one_chunk_whatever_the_file_size(
    api: FakeApiVideo, client: ApiVideoClient
) -> None:
    source = PatternSource(64 * MIB)
    chunk = 16 * MIB
    client.create_upload_token(60)  # authenticated before measuring

    tracemalloc.start()
    try:
        send_file(client, source, chunk=chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(api.acknowledged) == 4
    print(f"peak {peak / MIB:.1f} MiB")
    assert peak < chunk + MIB, f"peak {peak / MIB:.1f} MiB"


def test_no_key_or_bearer_token_in_any_log_line(
    api: FakeApiVideo, client: ApiVideoClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.script("POST /upload", Reply(503, problem=problem(503, "Busy")))
    with caplog.at_level(logging.DEBUG):
        send_file(client, PatternSource(6 * MIB), chunk=5 * MIB)
        api.bearers.clear()
        client.create_upload_token(60)

    assert "DELETE /upload-tokens/to" in caplog.text  # urllib3's own lines were captured, masked
    logged = caplog.text + repr([r.__dict__ for r in caplog.records]) + repr(client)
    secrets = [API_KEY, *(c.token for c in api.chunks), *api.refresh_tokens]
    secrets += [h["Authorization"][7:] for h in api.headers_seen if "Authorization" in h]
    assert not [secret for secret in secrets if secret in logged]


# --- the API key ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fresh_process_caches")  # the secrets provider's boto3 client is made in the mock
def test_the_api_key_is_read_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in process, not a running stack's server
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name="apivideo-key", SecretString=API_KEY)

        assert apivideo.api_key("apivideo-key") == API_KEY
