"""Uppy's Companion S3 routes under /uploads/{token}, over HTTP through the local stack: multipart
uploads sent part by part with `requests` to moto's presigned UploadPart URLs, completed, checked
at landing (S3 -> SQS -> process-upload) and decided like any upload of the token.

The shared test stack has MaxUploadBytes=1 MiB (one part at most: S3's parts but the last are
5 MiB at least); uploads of several parts run against a stack of their own (`large_stack`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import Stack, User, new_user, running_stack
from tests.e2e.conftest import assert_problem
from tests.e2e.test_uploads import decided, keys
from tests.media_files import mp4
from tests.waiting import eventually
from upload_service.core.ids import token_ref

MIB = 1024**2
LARGE_MAX = 12 * MIB
LARGE_PARAMETERS = (
    f"MaxUploadBytes={LARGE_MAX} UploadsPerToken=3 UploadRateLimitPerMinute=100 RateLimitPerMinute=1000 "
    "MaxActiveTokensPerUser=20 UploadTargetTtlSeconds=600 CleanupGraceSeconds=0 CleanupSchedule='rate(1 day)'"
)


def content(size: int) -> bytes:
    """A well-formed MP4 of `size` bytes (the landing walks its structure) whose samples differ from
    part to part (no two parts alike)."""
    payload = size - len(mp4(b""))
    return mp4((hashlib.sha256(str(size).encode()).digest() * (payload // 32 + 1))[:payload])


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Companion:
    """What Uppy's `@uppy/aws-s3` does against `companionEndpoint: <apiUrl>/uploads/<token>`."""

    def __init__(self, stack: Stack, token: str) -> None:
        self.stack = stack
        self.base = f"{stack.api}/uploads/{token}/s3"

    def start(self, name: str = "clip.mp4", type_: str = "video/mp4") -> requests.Response:
        body = {"filename": name, "type": type_, "metadata": {"name": name, "type": type_}}
        return requests.post(f"{self.base}/multipart", json=body, timeout=10)

    def started(self, name: str = "clip.mp4", size: int | None = None) -> dict[str, Any]:
        if size is None:
            response = self.start(name)
        else:  # as a page that puts the file's size in Uppy's meta
            meta = {"filename": name, "type": "video/mp4", "metadata": {"name": name, "size": size}}
            response = requests.post(f"{self.base}/multipart", json=meta, timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def sign(
        self, upload: dict[str, Any], part: int | str, key: str | None = None, size: int | str | None = None
    ) -> requests.Response:
        params = {"key": key or upload["key"], **({"size": str(size)} if size is not None else {})}
        return requests.get(f"{self.base}/multipart/{upload['uploadId']}/{part}", params=params, timeout=10)

    def sign_batch(self, upload: dict[str, Any], numbers: str) -> requests.Response:
        return requests.get(
            f"{self.base}/multipart/{upload['uploadId']}/batch",
            params={"key": upload["key"], "partNumbers": numbers},
            timeout=10,
        )

    def put(self, url: str, data: bytes) -> str:
        """One part to its presigned URL, as the browser's XHR does; S3's ETag."""
        response = requests.put(url, data=data, timeout=60)
        assert response.status_code == 200, response.text
        return str(response.headers["ETag"])

    def send_part(self, upload: dict[str, Any], number: int, data: bytes) -> dict[str, Any]:
        signed = self.sign(upload, number)
        assert signed.status_code == 200, signed.text
        return {"PartNumber": number, "ETag": self.put(signed.json()["url"], data)}

    def stored(self, upload: dict[str, Any]) -> requests.Response:
        return requests.get(
            f"{self.base}/multipart/{upload['uploadId']}", params={"key": upload["key"]}, timeout=10
        )

    def complete(self, upload: dict[str, Any], parts: list[dict[str, Any]]) -> requests.Response:
        return requests.post(
            f"{self.base}/multipart/{upload['uploadId']}/complete",
            params={"key": upload["key"]},
            json={"parts": parts},
            timeout=30,
        )

    def abort(self, upload: dict[str, Any]) -> requests.Response:
        return requests.delete(
            f"{self.base}/multipart/{upload['uploadId']}", params={"key": upload["key"]}, timeout=10
        )


def companion_problem(response: requests.Response, status: int, name: str | None = None) -> dict[str, Any]:
    """A problem document with the `message` Uppy shows its user."""
    body = assert_problem(response, status, name)
    assert body["message"] and body["title"] in body["message"], body
    return body


def mint(stack: Stack, user: User, ttl: int = 3600) -> str:
    response = requests.post(
        f"{stack.api}/upload-tokens", json={"ttl": ttl}, headers=user.headers(), timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def media(stack: Stack, user: User, upload: dict[str, Any], name: str = "clip.mp4") -> bytes:
    """The accepted object in media/ (copied there just after the decision: waited for)."""
    key = f"media/{user.sub}/{upload['uploadId']}/{name}"
    s3 = stack.client("s3")

    def stored() -> bytes | None:
        try:
            return bytes(s3.get_object(Bucket=stack.info["bucketName"], Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    found = eventually(stored, lambda body: body is not None, what=f"{key} in media/")
    assert found is not None
    return found


def s3_holds(stack: Stack, upload: dict[str, Any]) -> bool:
    """Whether S3 still has the multipart upload (not completed, not aborted)."""
    listing = stack.client("s3").list_multipart_uploads(Bucket=stack.info["bucketName"], Prefix=upload["key"])
    return any(item["Key"] == upload["key"] for item in listing.get("Uploads", []))


def stored_upload(stack: Stack, token: str, upload_id: str) -> dict[str, Any]:
    key = {"PK": {"S": f"TOKEN#{token_ref(token)}"}, "SK": {"S": f"UPLOAD#{upload_id}"}}
    item: dict[str, Any] = stack.client("dynamodb").get_item(TableName=stack.info["tableName"], Key=key)[
        "Item"
    ]
    return item


@pytest.fixture
def token(stack: Stack, user: User) -> str:
    return mint(stack, user)


# --- on the shared stack (MaxUploadBytes = 1 MiB) ------------------------------------------------


def test_one_part_upload_is_accepted_and_listed_like_any_upload(stack: Stack, user: User, token: str) -> None:
    uppy = Companion(stack, token)
    data = content(300 * 1024)

    started = uppy.start(name="My Holiday (1).mp4")
    assert started.status_code == 200, started.text
    upload = started.json()
    assert set(upload) == {"key", "uploadId", "bucket"}
    assert upload["key"] == f"uploads/{upload['uploadId']}/My Holiday (1).mp4"  # ours, no token
    assert upload["bucket"] == stack.info["bucketName"]
    assert started.headers["X-RateLimit-Limit"] == "20"  # POST /upload's per-token limit
    assert s3_holds(stack, upload)

    part = uppy.send_part(upload, 1, data)
    listed = uppy.stored(upload)
    assert listed.status_code == 200, listed.text
    assert listed.json() == [{"PartNumber": 1, "Size": len(data), "ETag": part["ETag"]}]
    completed = uppy.complete(upload, [part])
    assert completed.status_code == 200, completed.text
    assert completed.json()["key"] == upload["key"] and completed.json()["bucket"] == upload["bucket"]
    assert completed.json()["location"]

    result = decided(stack, user, token, upload["uploadId"])
    assert result["status"] == "ACCEPTED", result
    assert (result["fileSize"], result["contentType"], result["detectedType"]) == (
        len(data),
        "video/mp4",
        "video/mp4",
    )
    assert digest(media(stack, user, upload, "My Holiday (1).mp4")) == digest(data)
    assert keys(stack, f"uploads/{upload['uploadId']}/") == []
    assert not s3_holds(stack, upload)


def test_params_give_a_presigned_post_in_companions_shape(stack: Stack, user: User, token: str) -> None:
    response = requests.get(
        f"{stack.api}/uploads/{token}/s3/params",
        params={"filename": "clip.mp4", "type": "video/mp4", "metadata[name]": "clip.mp4"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    target = response.json()
    assert set(target) == {"method", "url", "fields", "expires"} and target["method"] == "POST"
    assert 0 < target["expires"] <= 60
    key = target["fields"]["key"]
    upload_id = key.split("/")[1]
    assert key == f"uploads/{upload_id}/clip.mp4"
    data = content(2000)
    sent = requests.post(target["url"], data=target["fields"], files={"file": ("f", data)}, timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text
    assert decided(stack, user, token, upload_id)["status"] == "ACCEPTED"


@pytest.mark.parametrize("declared", [{}, {"size": "1234"}, {"metadata[size]": "1234"}])
def test_params_take_a_size_from_the_query_or_uppys_meta(
    stack: Stack, user: User, token: str, declared: dict[str, str]
) -> None:
    # given a file whose size the page put in Uppy's meta (sent as metadata[size]=), or none
    query = {"filename": "clip.mp4", "type": "video/mp4", "metadata[name]": "clip.mp4", **declared}
    # when
    response = requests.get(f"{stack.api}/uploads/{token}/s3/params", params=query, timeout=10)
    # then the target takes that many bytes exactly, or up to MaxUploadBytes
    assert response.status_code == 200, response.text
    target = response.json()
    upload_id = target["fields"]["key"].split("/")[1]
    listed = stored_upload(stack, token, upload_id)
    size = 1234 if declared else MIB
    assert int(listed["fileSize"]["N"]) == size
    conditions = json.loads(base64.b64decode(target["fields"]["policy"]))["conditions"]
    assert ["content-length-range", 1, size] in conditions


def test_start_takes_the_size_uppys_meta_declares_and_holds_the_upload_to_it(
    stack: Stack, user: User, token: str
) -> None:
    # given a multipart upload whose page declared 1000 bytes in Uppy's meta
    uppy = Companion(stack, token)
    body = {"filename": "clip.mp4", "type": "video/mp4", "metadata": {"name": "clip.mp4", "size": 1000}}
    started = requests.post(f"{uppy.base}/multipart", json=body, timeout=10)
    assert started.status_code == 200, started.text
    upload = started.json()
    shown = requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=10).json()[
        "uploads"
    ]
    assert [(u["uploadId"], u["fileSize"], u["status"]) for u in shown] == [
        (upload["uploadId"], 1000, "PENDING")
    ]
    # when more than that is sent
    part = uppy.send_part(upload, 1, content(1001))
    refused = uppy.complete(upload, [part])
    # then it is refused, aborted and rejected, as past MaxUploadBytes
    assert "1001" in companion_problem(refused, 413)["message"]
    assert not s3_holds(stack, upload)
    assert decided(stack, user, token, upload["uploadId"], timeout=0)["status"] == "REJECTED"


def test_parts_beyond_what_the_declared_size_needs_are_a_400(stack: Stack, token: str) -> None:
    """MaxUploadBytes is 1 MiB here: one part at most (S3's parts but the last are 5 MiB or more),
    so S3 can never be made to hold more than the upload may be."""
    uppy = Companion(stack, token)
    upload = uppy.started()

    assert uppy.sign(upload, 1).status_code == 200
    body = companion_problem(uppy.sign(upload, 2), 400, "partNumber")
    assert "at most 1 parts" in body["message"]
    companion_problem(uppy.sign_batch(upload, "1,2"), 400, "partNumbers")
    uppy.abort(upload)


def test_a_part_signed_with_its_size_binds_its_content_length(stack: Stack, token: str) -> None:
    uppy = Companion(stack, token)
    upload = uppy.started(size=1000)

    signed = uppy.sign(upload, 1, size=1000)

    assert signed.status_code == 200, signed.text
    query = parse_qs(urlsplit(signed.json()["url"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
    uppy.put(signed.json()["url"], content(1000))
    for size in ("0", "1001", "-5", "1e3"):  # nothing, more than declared, not a number of bytes
        assert "size" in companion_problem(uppy.sign(upload, 1, size=size), 400, "size")["message"]
    unsized = parse_qs(urlsplit(uppy.sign(upload, 1).json()["url"]).query)
    assert unsized["X-Amz-SignedHeaders"] == ["host"]
    uppy.abort(upload)


def test_a_completion_retried_after_the_decision_is_answered_as_the_first(stack: Stack, user: User) -> None:
    """Uppy retries a completion whose answer was lost (after 1-5 s); by then the landing may have
    decided, and the token have ended (full with this very upload, revoked): the same 200, not a
    404 that shows the user a failure for an accepted file."""
    token = mint(stack, user)
    uppy = Companion(stack, token)
    upload = uppy.started()
    parts = [uppy.send_part(upload, 1, content(1000))]
    first = uppy.complete(upload, parts)
    assert first.status_code == 200, first.text
    assert decided(stack, user, token, upload["uploadId"])["status"] == "ACCEPTED"

    again = [uppy.complete(upload, parts) for _ in range(4)]

    assert [(r.status_code, r.json()) for r in again] == [(200, first.json())] * 4
    # the token ended since (here: revoked): the completion it answered stays answered
    revoked = requests.delete(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=10)
    assert revoked.status_code == 204
    late = uppy.complete(upload, parts)
    assert (late.status_code, late.json()) == (200, first.json())


def test_completing_an_upload_s3_no_longer_holds_is_a_404(stack: Stack, user: User, token: str) -> None:
    """S3 aborted it (the lifecycle rule after a day, a revoke racing the completion): S3 answers
    NoSuchUpload (the emulator answered 500), the route a 404, never a 500."""
    uppy = Companion(stack, token)
    upload = uppy.started()
    parts = [uppy.send_part(upload, 1, content(1000))]
    multipart_id = stored_upload(stack, token, upload["uploadId"])["multipartId"]["S"]
    stack.client("s3").abort_multipart_upload(
        Bucket=stack.info["bucketName"], Key=upload["key"], UploadId=multipart_id
    )

    companion_problem(uppy.complete(upload, parts), 404)
    companion_problem(uppy.stored(upload), 404)


def test_batch_signs_several_parts(large_stack: Stack, large_user: User) -> None:
    uppy = Companion(large_stack, mint(large_stack, large_user))
    upload = uppy.started()  # up to 12 MiB: three parts
    companion_problem(uppy.sign_batch(upload, "1,2,3,4"), 400, "partNumbers")
    signed = uppy.sign_batch(upload, "1,2,3")
    assert signed.status_code == 200, signed.text
    urls = signed.json()["presignedUrls"]
    assert sorted(urls) == ["1", "2", "3"]
    assert all(f"partNumber={n}" in urls[n] for n in urls)
    assert uppy.abort(upload).json() == {}


@pytest.mark.parametrize("part", ["0", "10001", "abc", "-1", "1.0"])
def test_part_numbers_outside_1_to_10000_are_a_400(stack: Stack, token: str, part: str) -> None:
    uppy = Companion(stack, token)
    upload = uppy.started()
    body = companion_problem(uppy.sign(upload, part), 400, "partNumber")
    assert "10000" in body["message"]
    companion_problem(uppy.sign_batch(upload, f"1,{part}"), 400, "partNumbers")
    uppy.abort(upload)


def test_unknown_token_and_another_tokens_upload_are_404(
    stack: Stack, user: User, other_user: User, token: str
) -> None:
    mine = Companion(stack, token)
    upload = mine.started()
    other = Companion(stack, mint(stack, other_user))
    theirs = other.started()

    companion_problem(Companion(stack, "to" + "x" * 22).start(), 404)
    companion_problem(Companion(stack, "nonsense").sign(upload, 1), 404)
    companion_problem(mine.sign(theirs, 1), 404)  # their uploadId, their key
    companion_problem(mine.sign(upload, 1, key=theirs["key"]), 404)  # my uploadId, their key
    companion_problem(mine.sign(upload, 1, key=f"uploads/{upload['uploadId']}/other.mp4"), 404)
    companion_problem(mine.stored(theirs), 404)
    companion_problem(mine.complete(theirs, [{"PartNumber": 1, "ETag": '"x"'}]), 404)
    companion_problem(mine.abort(theirs), 404)
    companion_problem(mine.sign({**upload, "uploadId": "f" * 32}, 1), 404)
    missing_key = requests.get(f"{mine.base}/multipart/{upload['uploadId']}/1", timeout=10)
    companion_problem(missing_key, 400, "key")
    assert other.sign(theirs, 1).status_code == 200  # theirs is untouched
    assert s3_holds(stack, theirs)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"filename": "../etc/passwd", "type": "video/mp4"}, "filename"),
        ({"filename": "clip.exe", "type": "application/x-msdownload"}, "type"),
        ({"type": "video/mp4"}, "filename"),
        ({"filename": "clip.mp4", "type": "video/mp4", "size": 2 * MIB}, "size"),
        ({"filename": "clip.mp4", "type": "video/mp4", "metadata": {"size": str(2 * MIB)}}, "size"),
        ({"filename": "clip.mp4", "type": "video/mp4", "metadata": {"size": "lots"}}, "size"),
        ({"filename": "clip.mp4", "type": "video/mp4", "metadata": {"size": "0"}}, "size"),
    ],
)
def test_start_applies_post_uploads_name_and_type_rules(
    stack: Stack, token: str, body: dict[str, Any], name: str
) -> None:
    response = requests.post(f"{stack.api}/uploads/{token}/s3/multipart", json=body, timeout=10)
    companion_problem(response, 400, name)


def test_completion_past_max_upload_bytes_is_refused_aborted_and_rejected(
    stack: Stack, user: User, token: str
) -> None:
    uppy = Companion(stack, token)
    upload = uppy.started()
    part = uppy.send_part(upload, 1, content(MIB + 1))  # the one (last) part: no minimum size

    refused = uppy.complete(upload, [part])

    body = companion_problem(refused, 413)
    assert str(MIB + 1) in body["message"]
    assert not s3_holds(stack, upload)  # aborted: its parts are gone
    result = decided(stack, user, token, upload["uploadId"], timeout=0)
    assert result["status"] == "REJECTED" and str(MIB + 1) in result["reason"], result
    companion_problem(uppy.sign(upload, 2), 404)
    assert keys(stack, f"uploads/{upload['uploadId']}/") == []


def test_parts_named_must_be_the_parts_stored(stack: Stack, token: str) -> None:
    uppy = Companion(stack, token)
    upload = uppy.started()
    part = uppy.send_part(upload, 1, content(1000))
    companion_problem(uppy.complete(upload, [{**part, "ETag": '"0000"'}]), 400, "parts")
    companion_problem(uppy.complete(upload, [part, {"PartNumber": 2, "ETag": part["ETag"]}]), 400, "parts")
    companion_problem(uppy.complete(upload, []), 400, "parts")
    companion_problem(uppy.complete(upload, [{"PartNumber": 0, "ETag": "x"}]), 400, "parts.0.PartNumber")
    assert uppy.abort(upload).json() == {}


def test_abort_answers_empty_json_and_the_upload_expires(stack: Stack, user: User, token: str) -> None:
    uppy = Companion(stack, token)
    upload = uppy.started()
    uppy.send_part(upload, 1, content(1000))

    aborted = uppy.abort(upload)

    assert aborted.status_code == 200 and aborted.json() == {}
    assert aborted.headers["Content-Type"] == "application/json"
    assert not s3_holds(stack, upload)
    result = decided(stack, user, token, upload["uploadId"], timeout=0)
    assert (result["status"], result["reason"]) == ("EXPIRED", "upload aborted by the client")
    companion_problem(uppy.abort(upload), 404)  # once
    companion_problem(uppy.stored(upload), 404)


def test_revoked_token_mid_upload_aborts_and_rejects(stack: Stack, user: User, token: str) -> None:
    uppy = Companion(stack, token)
    upload = uppy.started()
    uppy.send_part(upload, 1, content(1000))

    revoked = requests.delete(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=10)
    assert revoked.status_code == 204, revoked.text

    companion_problem(uppy.sign(upload, 2), 404)
    companion_problem(uppy.complete(upload, [{"PartNumber": 1, "ETag": '"x"'}]), 404)
    assert not s3_holds(stack, upload)
    stored = stored_upload(stack, token, upload["uploadId"])  # the token is gone from the API: the table
    assert (stored["status"]["S"], stored["reason"]["S"]) == ("REJECTED", "token revoked")


def test_the_allowance_counts_multipart_uploads(stack: Stack, user: User, token: str) -> None:
    # UploadsPerToken=3: two multipart uploads and one POST /upload take them all
    uppy = Companion(stack, token)
    uploads = [uppy.started(), uppy.started()]
    posted = requests.post(
        f"{stack.api}/upload",
        params={"token": token},
        json={"fileName": "a.mp4", "fileSize": 10, "contentType": "video/mp4"},
        timeout=10,
    )
    assert posted.status_code == 200, posted.text

    body = companion_problem(uppy.start(), 403)
    assert "allows" in body["message"]
    view = requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=10).json()
    assert {u["uploadId"] for u in view["uploads"]} >= {u["uploadId"] for u in uploads}
    assert all(u["status"] == "PENDING" for u in view["uploads"])
    uppy.abort(uploads[0])  # an aborted one gives its place back
    assert uppy.start().status_code == 200


# --- several parts, on a stack of their own (MaxUploadBytes = 12 MiB) -----------------------------


@pytest.fixture(scope="module")
def large_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("multipart"), LARGE_PARAMETERS) as started:
        yield started


@pytest.fixture
def large_user(large_stack: Stack) -> User:
    return new_user(large_stack)


def parts_of(data: bytes, size: int = 5 * MIB) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_parts_signed_in_a_batch_make_the_file_byte_for_byte(large_stack: Stack, large_user: User) -> None:
    token = mint(large_stack, large_user)
    uppy = Companion(large_stack, token)
    data = content(11 * MIB + 12345)
    chunks = parts_of(data)
    upload = uppy.started()

    urls = uppy.sign_batch(upload, ",".join(str(n) for n in range(1, len(chunks) + 1))).json()[
        "presignedUrls"
    ]
    parts = [{"PartNumber": n, "ETag": uppy.put(urls[str(n)], chunk)} for n, chunk in enumerate(chunks, 1)]
    completed = uppy.complete(upload, parts)

    assert completed.status_code == 200, completed.text
    result = decided(large_stack, large_user, token, upload["uploadId"])
    assert result["status"] == "ACCEPTED", result
    assert result["fileSize"] == len(data)
    assert digest(media(large_stack, large_user, upload)) == digest(data)


def test_resume_uploads_only_the_missing_parts(large_stack: Stack, large_user: User) -> None:
    token = mint(large_stack, large_user)
    data = content(10 * MIB + 999)
    chunks = parts_of(data)  # 5 MiB, 5 MiB, 999 bytes
    first = Companion(large_stack, token)
    upload = first.started()
    first.send_part(upload, 1, chunks[0])
    first.send_part(upload, 3, chunks[2])
    del first  # the client is lost: a new page, with only the key and uploadId it had kept

    again = Companion(large_stack, token)
    stored = again.stored(upload)
    assert stored.status_code == 200, stored.text
    held = stored.json()
    assert [(p["PartNumber"], p["Size"]) for p in held] == [(1, len(chunks[0])), (3, len(chunks[2]))]
    missing = sorted(set(range(1, len(chunks) + 1)) - {p["PartNumber"] for p in held})
    assert missing == [2]
    sent = [again.send_part(upload, n, chunks[n - 1]) for n in missing]
    parts = sorted(
        [*({"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in held), *sent],
        key=lambda p: p["PartNumber"],
    )
    completed = again.complete(upload, parts)

    assert completed.status_code == 200, completed.text
    assert again.complete(upload, parts).status_code == 200  # a retried completion says the same
    assert decided(large_stack, large_user, token, upload["uploadId"])["status"] == "ACCEPTED"
    assert digest(media(large_stack, large_user, upload)) == digest(data)


def test_a_declared_size_bounds_the_parts(large_stack: Stack, large_user: User) -> None:
    """Declared at 6 MiB: parts 1 and 2 (5 MiB and 1 MiB) are all it can need; a third is refused,
    so S3 never holds 15 MiB of it."""
    token = mint(large_stack, large_user)
    uppy = Companion(large_stack, token)
    upload = uppy.started(size=6 * MIB)

    companion_problem(uppy.sign(upload, 3), 400, "partNumber")
    companion_problem(uppy.sign_batch(upload, "1,2,3"), 400, "partNumbers")
    data = content(6 * MIB)
    parts = [uppy.send_part(upload, n, chunk) for n, chunk in enumerate(parts_of(data), 1)]
    assert uppy.complete(upload, parts).status_code == 200
    assert (
        decided(large_stack, large_user, uppy.base.split("/")[-2], upload["uploadId"])["status"] == "ACCEPTED"
    )


def test_sizes_are_counted_from_s3s_parts(large_stack: Stack, large_user: User) -> None:
    token = mint(large_stack, large_user)
    uppy = Companion(large_stack, token)
    upload = uppy.started()
    chunks = parts_of(content(LARGE_MAX + 1))  # 5 MiB, 5 MiB, 2 MiB + 1: over by one byte
    parts = [uppy.send_part(upload, n, chunk) for n, chunk in enumerate(chunks, 1)]

    companion_problem(uppy.complete(upload, parts), 413)

    assert not s3_holds(large_stack, upload)
    assert decided(large_stack, large_user, token, upload["uploadId"], timeout=0)["status"] == "REJECTED"


def test_parts_under_5_mib_but_the_last_are_a_400_and_can_be_sent_again(
    large_stack: Stack, large_user: User
) -> None:
    token = mint(large_stack, large_user)
    uppy = Companion(large_stack, token)
    upload = uppy.started(size=7 * MIB)
    parts = [uppy.send_part(upload, n, content(MIB + n)) for n in (1, 2)]

    body = companion_problem(uppy.complete(upload, parts), 400, "parts")

    assert "5242880" in body["message"]
    # nothing was recorded of the refused completion: the declared size stands, the upload is open
    shown = requests.get(f"{large_stack.api}/upload-tokens/{token}", headers=large_user.headers(), timeout=10)
    assert [(u["fileSize"], u["status"]) for u in shown.json()["uploads"]] == [(7 * MIB, "PENDING")]
    # the client sends the parts again, right, and completes
    data = content(7 * MIB)
    parts = [uppy.send_part(upload, n, chunk) for n, chunk in enumerate(parts_of(data), 1)]
    assert uppy.complete(upload, parts).status_code == 200
    assert decided(large_stack, large_user, token, upload["uploadId"])["status"] == "ACCEPTED"
    assert digest(media(large_stack, large_user, upload)) == digest(data)
