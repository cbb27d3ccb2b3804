"""The api.video double (local_stack/video_double), proven against api.video's official Python client
unchanged, and its chunk rules, rate limits, scripted faults and counters over plain HTTP."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apivideo
import pytest
import requests
from apivideo.api.upload_tokens_api import UploadTokensApi
from apivideo.api.videos_api import VideosApi
from apivideo.exceptions import ApiException, NotFoundException, UnauthorizedException
from apivideo.model.metadata import Metadata
from apivideo.model.token_creation_payload import TokenCreationPayload
from apivideo.model.video_creation_payload import VideoCreationPayload

from local_stack.video_double import VideoDouble
from local_stack.video_double.multipart import parse_form
from tests.isolation import loggers_as_they_were

MIB = 1024 * 1024
DOCS = "https://docs.api.video/reference/"
FIVE = 5 * MIB
TOTAL = 12 * MIB
SECOND = f"bytes {FIVE}-{2 * FIVE - 1}/{TOTAL}"  # the second 5 MiB of a 12 MiB upload
RATE_HEADERS = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Retry-After"}


@pytest.fixture(autouse=True)
def official_client_logging() -> Iterator[None]:
    with loggers_as_they_were("urllib3", "apivideo"):
        yield


@pytest.fixture
def double(tmp_path: Path) -> Iterator[VideoDouble]:
    with VideoDouble(storage_dir=tmp_path) as started:
        yield started


@pytest.fixture
def client(double: VideoDouble) -> apivideo.AuthenticatedApiClient:
    """The official client, unchanged; only its host points at the double."""
    api_client = apivideo.AuthenticatedApiClient(double.api_key)
    api_client.configuration.host = double.url
    api_client.connect()
    return api_client


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def named_file(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def bearer(double: VideoDouble) -> dict[str, str]:
    grant = requests.post(f"{double.url}/auth/api-key", json={"apiKey": double.api_key}, timeout=10).json()
    return {"Authorization": f"Bearer {grant['access_token']}"}


def new_upload_token(double: VideoDouble, ttl: int = 0) -> str:
    answer = requests.post(
        f"{double.url}/upload-tokens", json={"ttl": ttl}, headers=bearer(double), timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def post_chunk(
    double: VideoDouble,
    token: str,
    data: bytes,
    content_range: str | None = None,
    video_id: str | None = None,
    filename: str = "clip.mp4",
) -> requests.Response:
    """`POST /upload?token=` as our forwarder sends it: multipart, field `file`, `videoId` after the first."""
    return requests.post(
        f"{double.url}/upload",
        params={"token": token},
        data={"videoId": video_id} if video_id else {},
        files={"file": (filename, data, "video/mp4")},
        headers={"Content-Range": content_range} if content_range else {},
        timeout=30,
    )


def source(double: VideoDouble, video_id: str) -> requests.Response:
    return requests.get(f"{double.url}/videos/{video_id}/source", timeout=30)


def problem(answer: requests.Response, status: int, slug: str, name: str | None = None) -> dict[str, Any]:
    """Asserts an api.video problem document and returns it."""
    assert answer.status_code == status, answer.text
    document: dict[str, Any] = answer.json()
    assert document["type"] == DOCS + slug
    assert document["status"] == status
    assert document["title"]
    if name is not None:
        assert document["name"] == name
    return document


# --- api.video's official client, unchanged ---


def test_the_official_client_manages_upload_tokens(client: apivideo.AuthenticatedApiClient) -> None:
    tokens = UploadTokensApi(client)

    created = [tokens.create_token(TokenCreationPayload(ttl=ttl)) for ttl in (3600, 0, 60)]
    shown = tokens.get_token(created[0].token)
    first_page = tokens.list(sort_by="ttl", sort_order="desc", page_size=2)
    second_page = tokens.list(sort_by="ttl", sort_order="desc", page_size=2, current_page=2)
    tokens.delete_token(created[1].token)

    assert re.fullmatch(r"to[0-9A-Za-z]{22}", created[0].token)
    assert (shown.token, shown.ttl) == (created[0].token, 3600)
    assert (shown.expires_at - shown.created_at).total_seconds() == 3600
    assert created[1].get("expires_at") is None  # ttl 0: never expires
    assert [t.ttl for t in first_page.data] + [t.ttl for t in second_page.data] == [3600, 60, 0]
    pagination = first_page.pagination
    assert (pagination.items_total, pagination.pages_total, pagination.current_page_items) == (3, 2, 2)
    assert [link.rel for link in pagination.links] == ["self", "first", "next", "last"]
    assert pagination.links[2].uri == "/upload-tokens?sortBy=ttl&sortOrder=desc&currentPage=2&pageSize=2"
    assert [link.rel for link in second_page.pagination.links] == ["self", "first", "previous", "last"]
    with pytest.raises(NotFoundException):
        tokens.get_token(created[1].token)
    assert tokens.list().pagination.items_total == 2


def test_the_official_client_uploads_a_small_file_in_one_request(
    double: VideoDouble, client: apivideo.AuthenticatedApiClient
) -> None:
    token = UploadTokensApi(client).create_token(TokenCreationPayload(ttl=600)).token
    data = random_bytes(300_000)

    video = VideosApi(client).upload_with_upload_token(token, named_file(data, "holiday.mp4"))
    fetched = VideosApi(client).get(video.video_id)
    status = VideosApi(client).get_status(video.video_id)

    assert re.fullmatch(r"vi[0-9A-Za-z]{22}", video.video_id)
    assert (fetched.video_id, fetched.title, fetched.source.uri) == (
        video.video_id,
        "holiday.mp4",
        f"/videos/{video.video_id}/source",
    )
    assert (status.ingest.status, status.ingest.filesize) == ("uploaded", len(data))
    assert source(double, video.video_id).content == data
    stats = double.video_stats(video.video_id)
    assert [chunk["contentRange"] for chunk in stats["chunks"]] == ["part 1/1"]  # what the client sends


def test_the_official_clients_plain_chunked_upload_omits_the_video_id_and_is_refused(
    double: VideoDouble, client: apivideo.AuthenticatedApiClient
) -> None:
    """api.video's Python client sends `part 2/3` without `videoId`; api.video would start a second
    (never complete) video with it. The double refuses, so a forwarder making that mistake fails loudly."""
    client.configuration.chunk_size = 5 * MIB
    token = UploadTokensApi(client).create_token(TokenCreationPayload(ttl=600)).token

    with pytest.raises(ApiException) as refused:
        VideosApi(client).upload_with_upload_token(token, named_file(random_bytes(12 * MIB), "big.mp4"))

    assert refused.value.status == 400
    assert json.loads(refused.value.body)["name"] == "videoId"
    assert len(double.video_ids) == 1
    assert [a["contentRange"] for a in double.stats()["attempts"]] == ["part 1/3", "part 2/3"]


def test_the_official_progressive_session_assembles_a_12_mib_file_from_5_mib_parts(
    double: VideoDouble, client: apivideo.AuthenticatedApiClient, tmp_path: Path
) -> None:
    data = random_bytes(12 * MIB)
    path = tmp_path / "long-take.mp4"
    path.write_bytes(data)
    token = UploadTokensApi(client).create_token(TokenCreationPayload(ttl=600)).token
    session = VideosApi(client).create_upload_with_upload_token_progressive_session(token)

    with path.open("rb") as file:
        answers = [session.uploadPart(named_file(file.read(5 * MIB), path.name)) for _ in range(2)]
        last = session.uploadLastPart(named_file(file.read(), path.name))

    assert {answer.video_id for answer in answers} == {last.video_id}
    assert last.title == "long-take.mp4"
    assembled = source(double, last.video_id)
    assert hashlib.sha256(assembled.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert double.sha256(last.video_id) == hashlib.sha256(data).hexdigest()
    stats = double.video_stats(last.video_id)
    assert [(c["contentRange"], c["bytes"], c["withVideoId"]) for c in stats["chunks"]] == [
        ("part 1/*", 5 * MIB, False),
        ("part 2/*", 5 * MIB, True),
        ("part 3/3", 2 * MIB, True),
    ]
    assert (double.video_ids, double.upload_requests, double.bytes_received) == ([last.video_id], 3, 12 * MIB)


def test_the_official_client_creates_videos_and_lists_them_by_metadata(
    double: VideoDouble, client: apivideo.AuthenticatedApiClient
) -> None:
    videos = VideosApi(client)

    created = videos.create(
        VideoCreationPayload(
            title="take-1.mp4",
            description="the first take",
            public=False,
            tags=["forwarded"],
            metadata=[Metadata(key="uploadId", value="u1"), Metadata(key="owner", value="alice")],
        )
    )
    others = [
        videos.create(VideoCreationPayload(title=title, metadata=[Metadata(key="uploadId", value=upload)]))
        for title, upload in (("take-2.mp4", "u2"), ("another take-1.mp4", "u3"))
    ]
    by_upload = videos.list(metadata={"uploadId": "u1"})
    by_both = videos.list(metadata={"uploadId": "u1", "owner": "alice"}, tags=["forwarded"])
    by_title = videos.list(title="take-1", sort_by="title", sort_order="desc")
    paged = videos.list(sort_by="createdAt", page_size=2, current_page=2)
    nothing = videos.list(metadata={"uploadId": "u9"})

    assert re.fullmatch(r"vi[0-9A-Za-z]{22}", created.video_id)
    assert (created.title, created.description, created.public, created.tags) == (
        "take-1.mp4",
        "the first take",
        False,
        ["forwarded"],
    )
    assert [(m.key, m.value) for m in created.metadata] == [("uploadId", "u1"), ("owner", "alice")]
    assert videos.get(created.video_id).metadata == created.metadata
    assert [v.video_id for v in by_upload.data] == [created.video_id]
    assert (by_upload.pagination.items_total, by_upload.pagination.pages_total) == (1, 1)
    assert [v.video_id for v in by_both.data] == [created.video_id]
    assert [v.title for v in by_title.data] == ["take-1.mp4", "another take-1.mp4"]
    assert [v.video_id for v in paged.data] == [others[1].video_id]
    assert [link.rel for link in paged.pagination.links] == ["self", "first", "previous", "last"]
    assert (nothing.data, nothing.pagination.items_total) == ([], 0)
    assert double.upload_requests == 0  # creating a video uploads nothing


def test_the_official_progressive_session_uploads_into_a_created_video(
    double: VideoDouble, client: apivideo.AuthenticatedApiClient
) -> None:
    """api.video's two-step way (its "privatedelegatedtoken" example): the backend creates the video
    with the API key, an upload token carries the bytes into it, every part naming it."""
    data = random_bytes(12 * MIB)
    container = VideosApi(client).create(VideoCreationPayload(title="container.mp4"))
    token = UploadTokensApi(client).create_token(TokenCreationPayload(ttl=600)).token
    session = VideosApi(client).create_upload_with_upload_token_progressive_session(
        token, video_id=container.video_id
    )

    answers = [session.uploadPart(named_file(data[n * FIVE : (n + 1) * FIVE], "other.mp4")) for n in range(2)]
    last = session.uploadLastPart(named_file(data[2 * FIVE :], "other.mp4"))

    assert {answer.video_id for answer in [*answers, last]} == {container.video_id}
    assert last.title == "container.mp4"  # the video's, not the file's
    assert double.sha256(container.video_id) == hashlib.sha256(data).hexdigest()
    stats = double.video_stats(container.video_id)
    assert [(c["contentRange"], c["withVideoId"]) for c in stats["chunks"]] == [
        ("part 1/*", True),
        ("part 2/*", True),
        ("part 3/3", True),
    ]
    assert double.video_ids == [container.video_id]


def test_the_official_client_must_refresh_an_expired_access_token(
    double: VideoDouble, client: apivideo.AuthenticatedApiClient
) -> None:
    tokens = UploadTokensApi(client)
    tokens.list()

    double.expire_access_tokens()
    with pytest.raises(UnauthorizedException) as expired:
        tokens.list()
    client.refresh_token()

    assert expired.value.status == 401
    assert tokens.list().pagination.items_total == 0


def test_a_wrong_api_key_is_refused_as_api_video_does(double: VideoDouble) -> None:
    wrong = apivideo.AuthenticatedApiClient("not-the-key")
    wrong.configuration.host = double.url

    with pytest.raises(ApiException) as refused:
        wrong.connect()

    assert refused.value.status == 400
    assert json.loads(refused.value.body)["type"] == DOCS + "authentication-invalid-user-credentials"


# --- our forwarder's form: bytes ranges, videoId on every later chunk ---


def test_bytes_ranges_build_one_video_and_the_status_shows_what_arrived(double: VideoDouble) -> None:
    data = random_bytes(11 * MIB)
    token = new_upload_token(double, ttl=600)
    ranges = [(0, 5 * MIB - 1), (5 * MIB, 10 * MIB - 1), (10 * MIB, 11 * MIB - 1)]

    first = post_chunk(double, token, data[: 5 * MIB], f"bytes 0-{5 * MIB - 1}/{len(data)}")
    video_id = first.json()["videoId"]
    status_midway = requests.get(f"{double.url}/videos/{video_id}/status", headers=bearer(double), timeout=10)
    too_soon = source(double, video_id)
    later = [
        post_chunk(double, token, data[start : end + 1], f"bytes {start}-{end}/{len(data)}", video_id)
        for start, end in ranges[1:]
    ]

    assert [answer.status_code for answer in [first, *later]] == [201, 201, 201]
    assert {answer.json()["videoId"] for answer in later} == {video_id}
    assert status_midway.json()["ingest"] == {
        "status": "uploading",
        "filesize": None,
        "receivedBytes": [{"from": 0, "to": 5 * MIB - 1, "total": len(data)}],
    }
    problem(too_soon, 409, "video-source-incomplete")
    assert source(double, video_id).content == data
    stats = double.video_stats(video_id)
    assert [(c["from"], c["to"]) for c in stats["chunks"]] == ranges
    assert [c["withVideoId"] for c in stats["chunks"]] == [False, True, True]
    assert (stats["complete"], stats["uploadRequests"], double.video_ids) == (True, 3, [video_id])


def test_a_video_goes_on_with_another_live_upload_token(double: VideoDouble) -> None:
    """Our forwarder mints a fresh api.video upload token per attempt (an assumption the double makes)."""
    data = random_bytes(6 * MIB)
    first = post_chunk(double, new_upload_token(double), data[: 5 * MIB], f"bytes 0-{5 * MIB - 1}/{6 * MIB}")

    video_id = first.json()["videoId"]
    rest = post_chunk(
        double,
        new_upload_token(double),
        data[5 * MIB :],
        f"bytes {5 * MIB}-{6 * MIB - 1}/{6 * MIB}",
        video_id,
    )

    assert rest.status_code == 201
    assert source(double, video_id).content == data


def test_a_whole_file_without_content_range_is_one_video(double: VideoDouble) -> None:
    answer = post_chunk(double, new_upload_token(double), b"tiny", filename="a b.mov")

    assert answer.status_code == 201
    assert answer.json()["title"] == "a b.mov"
    assert source(double, answer.json()["videoId"]).content == b"tiny"


def create_video(double: VideoDouble, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{double.url}/videos", json=body, headers=bearer(double), timeout=10)


def test_a_created_video_is_empty_until_chunks_naming_it_arrive_the_first_included(
    double: VideoDouble,
) -> None:
    data = random_bytes(TOTAL)
    created = create_video(double, {"title": "clip.mp4", "metadata": [{"key": "uploadId", "value": "u1"}]})
    video_id = created.json()["videoId"]
    empty = requests.get(f"{double.url}/videos/{video_id}/status", headers=bearer(double), timeout=10)
    token = new_upload_token(double)

    chunks = [
        post_chunk(double, token, data[first : last + 1], f"bytes {first}-{last}/{TOTAL}", video_id)
        for first, last in ((0, FIVE - 1), (FIVE, 2 * FIVE - 1), (2 * FIVE, TOTAL - 1))
    ]

    assert created.status_code == 201
    assert created.json()["metadata"] == [{"key": "uploadId", "value": "u1"}]
    assert empty.json()["ingest"] == {"status": "missing", "filesize": None, "receivedBytes": []}
    assert [chunk.status_code for chunk in chunks] == [201, 201, 201]
    assert {chunk.json()["videoId"] for chunk in chunks} == {video_id}
    assert source(double, video_id).content == data
    stats = double.video_stats(video_id)
    assert [c["withVideoId"] for c in stats["chunks"]] == [True, True, True]
    assert (stats["form"], stats["title"], double.video_ids) == ("bytes", "clip.mp4", [video_id])


@pytest.mark.parametrize("size", [3 * MIB, TOTAL])
def test_a_first_chunk_into_a_created_video_resent_after_its_answer_was_lost_is_refused(
    double: VideoDouble, size: int
) -> None:
    """What makes a lost answer harmless: the resent first chunk names its video, so it cannot start
    another one; api.video refuses it as already received, and the status says what it holds."""
    data = random_bytes(size)
    video_id = create_video(double, {"title": "clip.mp4"}).json()["videoId"]
    token = new_upload_token(double)
    first = min(size, FIVE) - 1
    content_range = None if size <= FIVE else f"bytes 0-{first}/{size}"
    double.lose_next_response()

    with pytest.raises(requests.ConnectionError):
        post_chunk(double, token, data[: first + 1], content_range, video_id)
    resent = post_chunk(double, token, data[: first + 1], content_range, video_id)
    status = requests.get(f"{double.url}/videos/{video_id}/status", headers=bearer(double), timeout=10).json()

    slug = "video-source-already-uploaded" if size <= FIVE else "video-content-range-by-bytes-range-overlap"
    problem(resent, 400, slug)
    assert status["ingest"]["receivedBytes"][0]["to"] == first
    assert double.video_ids == [video_id]


def test_a_lost_answer_to_a_video_creation_still_made_the_video_found_by_its_metadata(
    double: VideoDouble,
) -> None:
    double.lose_next_response(route="videos", method="POST")
    headers = bearer(double)

    with pytest.raises(requests.ConnectionError):
        create_video(double, {"title": "clip.mp4", "metadata": [{"key": "uploadId", "value": "u7"}]})
    found = requests.get(
        f"{double.url}/videos", params={"metadata[uploadId]": "u7"}, headers=headers, timeout=10
    ).json()

    assert [video["videoId"] for video in found["data"]] == double.video_ids
    assert len(double.video_ids) == 1
    assert found["pagination"]["itemsTotal"] == 1
    assert double.stats()["faults"] == []


@pytest.mark.parametrize(
    ("body", "slug", "name"),
    [
        ({}, "attribute-required", "title"),
        ({"title": " "}, "invalid-attribute", "title"),
        ({"title": "a", "metadata": [{"key": "k"}]}, "invalid-attribute", "metadata"),
        ({"title": "a", "metadata": {"k": "v"}}, "invalid-attribute", "metadata"),
        ({"title": "a", "metadata": [{"key": "k", "value": 1}]}, "invalid-attribute", "metadata"),
        ({"title": "a", "public": "yes"}, "invalid-attribute", "public"),
        ({"title": "a", "tags": "one"}, "invalid-attribute", "tags"),
    ],
)
def test_a_video_creation_api_video_would_refuse_is_a_400(
    double: VideoDouble, body: dict[str, Any], slug: str, name: str
) -> None:
    problem(create_video(double, body), 400, slug, name)
    assert double.video_ids == []


def test_listing_videos_needs_a_bearer_and_valid_paging(double: VideoDouble) -> None:
    headers = bearer(double)

    anonymous = requests.post(f"{double.url}/videos", json={"title": "a"}, timeout=10)
    bad_sort = requests.get(f"{double.url}/videos", params={"sortBy": "size"}, headers=headers, timeout=10)
    bad_page = requests.get(f"{double.url}/videos", params={"pageSize": "101"}, headers=headers, timeout=10)

    problem(anonymous, 401, "authentication-missing-authorization-header")
    problem(bad_sort, 400, "invalid-query-parameter", "sortBy")
    problem(bad_page, 400, "invalid-query-parameter", "pageSize")


# --- api.video's chunk rules ---


@pytest.fixture
def started(double: VideoDouble) -> tuple[str, str]:
    """A bytes-form upload with its first 5 MiB acknowledged: (upload token, videoId)."""
    token = new_upload_token(double)
    answer = post_chunk(double, token, random_bytes(FIVE), f"bytes 0-{FIVE - 1}/{TOTAL}")
    assert answer.status_code == 201
    return token, str(answer.json()["videoId"])


def test_a_duplicate_range_is_refused_and_counted(double: VideoDouble, started: tuple[str, str]) -> None:
    token, video_id = started

    again = post_chunk(double, token, random_bytes(FIVE), f"bytes 0-{FIVE - 1}/{TOTAL}", video_id)
    overlapping = post_chunk(
        double, token, random_bytes(FIVE), f"bytes {FIVE - 1}-{2 * FIVE - 2}/{TOTAL}", video_id
    )

    problem(again, 400, "video-content-range-by-bytes-range-overlap", "Content-Range")
    problem(overlapping, 400, "video-content-range-by-bytes-range-overlap", "Content-Range")
    stats = double.video_stats(video_id)
    assert len(stats["chunks"]) == 1
    assert [attempt["status"] for attempt in stats["attempts"]] == [201, 400, 400]


@pytest.mark.parametrize(
    ("content_range", "size", "slug"),
    [
        ("part 2/3", FIVE, "video-content-range-started-with-bytes"),
        (
            f"bytes {FIVE}-{2 * FIVE - 1}/{TOTAL + 1}",
            FIVE,
            "video-content-range-by-bytes-different-total-bytes",
        ),
        (f"bytes {FIVE}-{FIVE + MIB - 1}/{TOTAL}", MIB, "video-content-range-by-bytes-range-too-small"),
        (SECOND, FIVE - 1, "video-content-range-by-bytes-range-mismatch"),
        (
            f"bytes {FIVE}-{TOTAL}/{TOTAL}",
            TOTAL - FIVE + 1,
            "video-content-range-by-bytes-to-byte-too-high-total",
        ),
        ("bytes=5-6/7", FIVE, "video-content-range-malformed"),
    ],
)
def test_chunks_breaking_api_videos_rules_are_refused(
    double: VideoDouble, started: tuple[str, str], content_range: str, size: int, slug: str
) -> None:
    token, video_id = started

    answer = post_chunk(double, token, random_bytes(size, seed=2), content_range, video_id)

    problem(answer, 400, slug)
    assert len(double.video_stats(video_id)["chunks"]) == 1


def test_part_rules_no_part_twice_and_no_mixing_with_bytes(double: VideoDouble) -> None:
    token = new_upload_token(double)
    video_id = post_chunk(double, token, random_bytes(FIVE), "part 1/*").json()["videoId"]

    twice = post_chunk(double, token, random_bytes(FIVE), "part 1/*", video_id)
    mixed = post_chunk(double, token, random_bytes(FIVE), SECOND, video_id)
    small = post_chunk(double, token, random_bytes(MIB), "part 2/*", video_id)
    last = post_chunk(double, token, random_bytes(MIB), "part 2/2", video_id)
    after = post_chunk(double, token, random_bytes(MIB), "part 3/3", video_id)

    problem(twice, 400, "video-content-range-by-part-part-already-sent")
    problem(mixed, 400, "video-content-range-started-with-part")
    problem(small, 400, "video-content-range-by-part-uploaded-file-too-small")
    assert last.status_code == 201
    problem(after, 400, "video-source-already-uploaded")
    assert len(source(double, video_id).content) == FIVE + MIB


def test_a_later_chunk_without_video_id_is_refused(double: VideoDouble, started: tuple[str, str]) -> None:
    token, _ = started

    answer = post_chunk(double, token, random_bytes(FIVE), SECOND)

    problem(answer, 400, "attribute-required", "videoId")
    assert len(double.video_ids) == 1


def test_wrong_expired_and_deleted_upload_tokens_are_refused(double: VideoDouble) -> None:
    expiring = new_upload_token(double, ttl=60)
    deleted = new_upload_token(double)
    requests.delete(f"{double.url}/upload-tokens/{deleted}", headers=bearer(double), timeout=10)
    double.advance_clock(61)

    for token in ("to" + "x" * 22, expiring, deleted):
        problem(post_chunk(double, token, b"data"), 400, "authentication-invalid-upload-token", "token")
    problem(post_chunk(double, "", b"data"), 400, "authentication-missing-upload-token")
    assert double.video_ids == []
    assert [a["status"] for a in double.stats()["attempts"]] == [400, 400, 400, 400]


def test_an_unknown_video_id_is_not_found_and_bad_requests_are_problems(double: VideoDouble) -> None:
    token = new_upload_token(double)

    unknown = post_chunk(double, token, random_bytes(FIVE), SECOND, "vi" + "0" * 22)
    not_a_form = requests.post(f"{double.url}/upload", params={"token": token}, data=b"raw", timeout=10)
    bad_json = requests.post(f"{double.url}/auth/api-key", data=b"{", timeout=10)
    nowhere = requests.get(f"{double.url}/nowhere", timeout=10)

    problem(unknown, 404, "resource-not-found", "videoId")
    problem(not_a_form, 400, "uploaded-file-no-file")
    problem(bad_json, 400, "invalid-payload")
    problem(nowhere, 404, "unrecognized-request-url")
    problem(requests.put(f"{double.url}/upload-tokens", timeout=10), 405, "method-not-allowed")
    problem(source(double, "vi" + "0" * 22), 404, "resource-not-found")


# --- authentication ---


def test_bearer_routes_need_a_live_access_token(tmp_path: Path) -> None:
    with VideoDouble(access_token_ttl=30, storage_dir=tmp_path) as double:
        grant = requests.post(
            f"{double.url}/auth/api-key", json={"apiKey": double.api_key}, timeout=10
        ).json()
        headers = {"Authorization": f"Bearer {grant['access_token']}"}

        live = requests.get(f"{double.url}/upload-tokens", headers=headers, timeout=10)
        double.advance_clock(31)
        expired = requests.get(f"{double.url}/upload-tokens", headers=headers, timeout=10)
        missing = requests.get(f"{double.url}/upload-tokens", timeout=10)
        renewed = requests.post(
            f"{double.url}/auth/refresh", json={"refreshToken": grant["refresh_token"]}, timeout=10
        )
        reused = requests.post(
            f"{double.url}/auth/refresh", json={"refreshToken": grant["refresh_token"]}, timeout=10
        )
        basic = requests.get(f"{double.url}/upload-tokens", auth=(double.api_key, ""), timeout=10)

    assert (grant["token_type"], grant["expires_in"]) == ("Bearer", 30)
    assert re.fullmatch(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", grant["access_token"])
    assert live.status_code == 200
    problem(expired, 401, "authentication-invalid-access-token")
    problem(missing, 401, "authentication-missing-authorization-header")
    assert renewed.status_code == 200
    assert renewed.json()["access_token"] != grant["access_token"]
    problem(reused, 400, "authentication-invalid-refresh-token")
    assert basic.status_code == 200


@pytest.mark.parametrize("ttl", [-1, "60", 1.5, True])
def test_an_invalid_ttl_is_a_400(double: VideoDouble, ttl: object) -> None:
    answer = requests.post(
        f"{double.url}/upload-tokens", json={"ttl": ttl}, headers=bearer(double), timeout=10
    )

    problem(answer, 400, "invalid-attribute", "ttl")


# --- rate limits and scripted faults ---


def test_upload_requests_past_the_per_minute_limit_get_a_429(tmp_path: Path) -> None:
    with VideoDouble(rate_limit_per_minute=2, storage_dir=tmp_path) as double:
        token = new_upload_token(double)
        answers = [post_chunk(double, token, b"clip") for _ in range(3)]
        double.advance_clock(60)
        next_minute = post_chunk(double, token, b"clip")

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"2"}
    assert 1 <= int(answers[2].headers["X-RateLimit-Retry-After"]) <= 60
    assert answers[2].json() == {
        "type": DOCS + "too-many-requests",
        "title": "Too many requests.",
        "status": 429,
    }
    assert next_minute.status_code == 201
    assert [a["status"] for a in double.stats()["attempts"]] == [201, 201, 429, 201]


def test_every_answer_carries_the_rate_limit_headers(double: VideoDouble) -> None:
    answers = [
        requests.post(f"{double.url}/auth/api-key", json={"apiKey": "wrong"}, timeout=10),
        requests.get(f"{double.url}/upload-tokens", headers=bearer(double), timeout=10),
        requests.get(f"{double.url}/nowhere", timeout=10),
    ]

    for answer in answers:
        assert set(answer.headers) >= RATE_HEADERS


def test_scripted_faults_answer_the_next_requests_of_a_route(double: VideoDouble) -> None:
    token = new_upload_token(double)
    double.throttle_next(2, retry_after=7)
    double.fail_next(503, route="upload-tokens")
    double.fail_next(400, body={"type": DOCS + "uploaded-file-invalid", "title": "Invalid.", "status": 400})

    throttled = [post_chunk(double, token, b"clip") for _ in range(2)]
    unavailable = requests.get(f"{double.url}/upload-tokens", headers=bearer(double), timeout=10)
    scripted = post_chunk(double, token, b"clip")
    normal = post_chunk(double, token, b"clip")

    assert [a.status_code for a in throttled] == [429, 429]
    assert {a.headers["X-RateLimit-Retry-After"] for a in throttled} == {"7"}
    problem(throttled[0], 429, "too-many-requests")
    problem(unavailable, 503, "server-error")
    assert scripted.json() == {"type": DOCS + "uploaded-file-invalid", "title": "Invalid.", "status": 400}
    assert normal.status_code == 201
    assert double.stats()["faults"] == []
    assert [a["status"] for a in double.stats()["attempts"]] == [429, 429, 400, 201]


def test_a_lost_response_still_stores_the_chunk_so_a_resend_is_a_duplicate(double: VideoDouble) -> None:
    token = new_upload_token(double)
    first = post_chunk(double, token, random_bytes(FIVE), f"bytes 0-{FIVE - 1}/{TOTAL}")
    video_id = first.json()["videoId"]
    double.lose_next_response()

    with pytest.raises(requests.ConnectionError):
        post_chunk(double, token, random_bytes(FIVE, 3), SECOND, video_id)
    resent = post_chunk(double, token, random_bytes(FIVE, 3), SECOND, video_id)
    status = requests.get(f"{double.url}/videos/{video_id}/status", headers=bearer(double), timeout=10).json()

    problem(resent, 400, "video-content-range-by-bytes-range-overlap")
    assert [r["to"] for r in status["ingest"]["receivedBytes"]] == [FIVE - 1, 2 * FIVE - 1]


def test_the_test_hooks_work_over_http_for_tests_in_another_process(double: VideoDouble) -> None:
    control = f"{double.url}/_double"
    token = new_upload_token(double)
    headers = bearer(double)

    added = requests.post(f"{control}/faults", json={"status": 429, "times": 1, "retryAfter": 3}, timeout=10)
    pending = requests.get(f"{control}/stats", timeout=10).json()["faults"]
    throttled = post_chunk(double, token, b"clip")
    created = post_chunk(double, token, b"clip")
    video = requests.get(f"{control}/videos/{created.json()['videoId']}", timeout=10).json()
    expired = requests.post(f"{control}/expire-access-tokens", timeout=10)
    refused = requests.get(f"{double.url}/upload-tokens", headers=headers, timeout=10)
    limited = requests.post(f"{control}/rate-limit", json={"uploadsPerMinute": 0}, timeout=10)
    over_limit = post_chunk(double, token, b"clip")
    moved = requests.post(f"{control}/clock", json={"advanceSeconds": 60}, timeout=10)
    requests.post(f"{control}/rate-limit", json={"uploadsPerMinute": 5}, timeout=10)
    reset = requests.post(f"{control}/reset", timeout=10)
    bad = requests.post(f"{control}/faults", json={"status": 200}, timeout=10)
    cleared = requests.delete(f"{control}/faults", timeout=10)
    stats = requests.get(f"{control}/stats", timeout=10).json()

    assert [r.status_code for r in (added, expired, limited, moved, reset, cleared)] == [204] * 6
    assert pending == [
        {
            "times": 1,
            "route": "upload",
            "status": 429,
            "retryAfter": 3,
            "body": None,
            "loseResponse": False,
            "method": None,
        }
    ]
    assert (throttled.status_code, throttled.headers["X-RateLimit-Retry-After"]) == (429, "3")
    assert (video["uploadRequests"], video["complete"], video["chunks"][0]["bytes"]) == (1, True, 4)
    assert refused.status_code == 401
    assert over_limit.status_code == 429
    problem(bad, 400, "invalid-payload")
    assert (stats["uploadRequests"], stats["videoIds"], stats["faults"]) == (0, [], [])


# --- streaming: bodies go to disk, not to memory ---


def test_a_chunked_transfer_encoded_body_is_read_as_a_stream(double: VideoDouble) -> None:
    data = random_bytes(3 * MIB)
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:  # no length known: requests sends it chunked
        yield head
        for start in range(0, len(data), 100_003):
            yield data[start : start + 100_003]
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = requests.post(
        f"{double.url}/upload",
        params={"token": new_upload_token(double)},
        data=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=30,
    )

    assert answer.status_code == 201, answer.text
    assert source(double, answer.json()["videoId"]).content == data


def test_multipart_parsing_holds_a_block_not_the_body(tmp_path: Path) -> None:
    """64 MiB through the parser, in reads of odd sizes: memory stays about one read block."""
    boundary = b"xyz"
    pattern = random_bytes(1_000_003)
    parts = [
        b"preamble\r\n--xyz\r\n",
        b'Content-Disposition: form-data; name="videoId"\r\n\r\nvi123\r\n--xyz\r\n',
        b'Content-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n',
    ]
    file_size = 64 * MIB

    def stream() -> Iterator[bytes]:
        yield from parts
        sent = 0
        while sent < file_size:
            block = pattern[: min(len(pattern), file_size - sent)]
            sent += len(block)
            yield block
        yield b"\r\n--xyz--\r\nepilogue"

    pieces = stream()
    pending = b""

    def read(size: int) -> bytes:
        nonlocal pending
        while len(pending) < 777_777 and (piece := next(pieces, None)) is not None:
            pending += piece
        taken, pending = pending[:777_777], pending[777_777:]
        return taken

    tracemalloc.start()
    form = parse_form(read, boundary, tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert form.fields == {"videoId": "vi123"}
    assert [(part.field, part.filename, part.size) for part in form.files] == [("file", "big.mp4", file_size)]
    assert form.files[0].path.stat().st_size == file_size
    with form.files[0].path.open("rb") as spooled:
        assert spooled.read(len(pattern)) == pattern
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_the_double_logs_no_tokens(double: VideoDouble, capfd: pytest.CaptureFixture[str]) -> None:
    token = new_upload_token(double)
    post_chunk(double, token, b"clip")
    post_chunk(double, "to" + "y" * 22, b"clip")

    output = "".join(capfd.readouterr())

    assert token not in output
    assert "eyJ" not in output
    assert double.api_key not in output
