"""Checksums, over HTTP through the local stack: a `checksumSha256` declared when an upload starts is
bound into its presigned POST (S3 refuses other bytes, 400 BadDigest) and recorded; a multipart upload
started with `checksumAlgorithm` SHA256 has each part signed with its SHA-256, whose header the PUT
must send (S3 refuses a part whose bytes differ). A checksum of the wrong shape is a 400 problem.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import EventLog, assert_problem
from tests.e2e.test_multipart import Companion, companion_problem, content, s3_holds
from tests.e2e.test_uploads import CLIP, decided, keys, post_file, s3_error, send
from tests.waiting import eventually


def sha256(data: bytes) -> str:
    """S3's `x-amz-checksum-sha256`: the base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def flipped(data: bytes, at: int = -1) -> bytes:
    """The same bytes but one."""
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def start(stack: Stack, token: str, checksum: str, data: bytes = CLIP) -> requests.Response:
    body = {
        "fileName": "clip.mp4",
        "fileSize": len(data),
        "contentType": "video/mp4",
        "checksumSha256": checksum,
    }
    return requests.post(f"{stack.api}/upload", params={"token": token}, json=body, timeout=10)


MALFORMED = [
    pytest.param("abc", id="short"),
    pytest.param("A" * 44, id="no-padding"),
    pytest.param(sha256(b"x")[:-1] + "!", id="not-base64"),
    pytest.param(base64.b64encode(hashlib.sha1(b"x").digest()).decode(), id="a-sha1"),
    pytest.param(hashlib.sha256(b"x").hexdigest(), id="hex"),
    pytest.param(base64.b64encode(b"\x00" * 33).decode()[:44], id="33-bytes"),
]


# --- POST /upload ----------------------------------------------------------------------------------


def test_a_right_checksum_is_bound_into_the_post_accepted_and_recorded(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    token = token_of(user)
    checksum = sha256(CLIP)

    response = start(stack, token, checksum)
    assert response.status_code == 200, response.text
    target = response.json()
    assert target["fields"]["x-amz-checksum-sha256"] == checksum
    assert target["fields"]["x-amz-checksum-algorithm"] == "SHA256"
    send(target)

    result = decided(stack, user, token, target["uploadId"])
    assert result["status"] == "ACCEPTED", result
    assert result["checksumSha256"] == checksum
    events = eventually(lambda: event_log.about(target["uploadId"]), what="the decision's event")
    assert [(e["detail-type"], e["detail"]["checksumSha256"]) for e in events] == [
        ("Upload Accepted", checksum)
    ]


def test_an_upload_without_a_checksum_records_none(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    body = {"fileName": "clip.mp4", "fileSize": len(CLIP), "contentType": "video/mp4"}
    target = requests.post(f"{stack.api}/upload", params={"token": token}, json=body, timeout=10).json()
    assert not any(name.startswith("x-amz-checksum") for name in target["fields"])
    send(target)
    assert decided(stack, user, token, target["uploadId"])["checksumSha256"] is None


def test_a_flipped_byte_is_refused_by_s3_and_stored_nowhere(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    token = token_of(user)
    target = start(stack, token, sha256(CLIP)).json()

    status, code, _ = s3_error(post_file(target, flipped(CLIP)))

    assert (status, code) == (400, "BadDigest")
    assert keys(stack, f"uploads/{target['uploadId']}/") == []
    assert event_log.about(target["uploadId"]) == []


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"x-amz-checksum-sha256": sha256(flipped(CLIP))}, id="another-checksum"),
        pytest.param({"x-amz-checksum-algorithm": "CRC32"}, id="another-algorithm"),
    ],
)
def test_the_checksum_fields_are_pinned_by_the_policy(
    stack: Stack, user: User, token_of: Callable[..., str], changed: dict[str, str]
) -> None:
    """A client cannot swap the declared checksum for that of other bytes: the policy names it."""
    token = token_of(user)
    target = start(stack, token, sha256(CLIP)).json()

    status, code, _ = s3_error(post_file(target, flipped(CLIP), **changed))

    assert (status, code) == (403, "AccessDenied")
    assert keys(stack, f"uploads/{target['uploadId']}/") == []


@pytest.mark.parametrize("checksum", MALFORMED)
def test_a_malformed_checksum_is_a_400_problem(
    stack: Stack, user: User, token_of: Callable[..., str], checksum: str
) -> None:
    response = start(stack, token_of(user), checksum)
    body = assert_problem(response, 400, "checksumSha256")
    assert "44 characters" in str(body)


# --- Companion: /s3/params -------------------------------------------------------------------------


def test_params_bind_a_checksum_from_the_query_or_uppys_meta(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    checksum = sha256(CLIP)
    for name in ("checksumSha256", "metadata[checksumSha256]"):
        query = {
            "filename": "clip.mp4",
            "type": "video/mp4",
            "metadata[size]": str(len(CLIP)),
            name: checksum,
        }
        response = requests.get(f"{stack.api}/uploads/{token}/s3/params", params=query, timeout=10)
        assert response.status_code == 200, response.text
        target = response.json()
        assert target["fields"]["x-amz-checksum-sha256"] == checksum
        assert s3_error(post_file(target, flipped(CLIP)))[:2] == (400, "BadDigest")
        sent = post_file(target, CLIP)
        assert sent.status_code in (200, 201, 204), sent.text


@pytest.mark.parametrize("checksum", MALFORMED[:3])
def test_params_refuse_a_malformed_checksum(
    stack: Stack, user: User, token_of: Callable[..., str], checksum: str
) -> None:
    query = {"filename": "clip.mp4", "type": "video/mp4", "checksumSha256": checksum}
    response = requests.get(f"{stack.api}/uploads/{token_of(user)}/s3/params", params=query, timeout=10)
    companion_problem(response, 400, "checksumSha256")


# --- Companion: multipart parts ----------------------------------------------------------------------


def start_with_checksums(uppy: Companion, whole: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "clip.mp4", "checksumAlgorithm": "SHA256"}
    if whole:
        meta["checksumSha256"] = whole
    body = {"filename": "clip.mp4", "type": "video/mp4", "metadata": meta}
    response = requests.post(f"{uppy.base}/multipart", json=body, timeout=10)
    assert response.status_code == 200, response.text
    started: dict[str, Any] = response.json()
    return started


def sign(uppy: Companion, upload: dict[str, Any], number: int, checksum: str | None) -> requests.Response:
    params = {"key": upload["key"], **({"checksumSha256": checksum} if checksum else {})}
    return requests.get(f"{uppy.base}/multipart/{upload['uploadId']}/{number}", params=params, timeout=10)


def test_a_part_signed_with_its_checksum_answers_the_header_and_completes(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    uppy = Companion(stack, token)
    data = content(200 * 1024)
    upload = start_with_checksums(uppy, whole=sha256(data))

    signed = sign(uppy, upload, 1, sha256(data))
    assert signed.status_code == 200, signed.text
    assert signed.json()["headers"] == {"x-amz-checksum-sha256": sha256(data)}
    put = requests.put(signed.json()["url"], data=data, headers=signed.json()["headers"], timeout=30)
    assert put.status_code == 200, put.text

    part = {"PartNumber": 1, "ETag": put.headers["ETag"]}
    completed = uppy.complete(upload, [part])
    assert completed.status_code == 200, completed.text
    result = decided(stack, user, token, upload["uploadId"])
    assert result["status"] == "ACCEPTED", result
    assert result["checksumSha256"] == sha256(data)


def test_a_part_whose_bytes_differ_is_refused_by_s3(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    uppy = Companion(stack, token_of(user))
    data = content(200 * 1024)
    upload = start_with_checksums(uppy)
    signed = sign(uppy, upload, 1, sha256(data)).json()

    refused = requests.put(signed["url"], data=flipped(data, 1000), headers=signed["headers"], timeout=30)
    assert s3_error(refused)[:2] == (400, "BadDigest")
    # without the header the URL was signed with, S3 refuses the signature
    unsigned = requests.put(signed["url"], data=data, timeout=30)
    assert s3_error(unsigned)[:2] == (403, "SignatureDoesNotMatch")

    assert uppy.stored(upload).json() == []  # nothing stored
    assert s3_holds(stack, upload)


def test_a_batch_signs_each_part_with_its_checksum(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    uppy = Companion(stack, token_of(user))
    upload = start_with_checksums(uppy)
    sums = [sha256(b"one"), sha256(b"two")]
    # the declared size is MaxUploadBytes (1 MiB): one part at most, so sign part 1 twice over two requests
    response = requests.get(
        f"{uppy.base}/multipart/{upload['uploadId']}/batch",
        params={"key": upload["key"], "partNumbers": "1", "checksumSha256": sums[0]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["headers"] == {"1": {"x-amz-checksum-sha256": sums[0]}}
    assert set(response.json()["presignedUrls"]) == {"1"}

    too_few = requests.get(
        f"{uppy.base}/multipart/{upload['uploadId']}/batch",
        params={"key": upload["key"], "partNumbers": "1", "checksumSha256": ",".join(sums)},
        timeout=10,
    )
    companion_problem(too_few, 400, "checksumSha256")


def test_parts_and_their_upload_must_agree_on_checksums(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    """S3 refuses a part without a checksum of an upload created with one (and, before S3 changed its
    defaults in 2025, one with a SHA-256 of an upload created without): the routes say so first."""
    uppy = Companion(stack, token_of(user))
    with_sums = start_with_checksums(uppy)
    companion_problem(sign(uppy, with_sums, 1, None), 400, "checksumSha256")
    companion_problem(sign(uppy, with_sums, 1, "nope"), 400, "checksumSha256")

    without = uppy.started()
    companion_problem(sign(uppy, without, 1, sha256(b"x")), 400, "checksumSha256")
    assert sign(uppy, without, 1, None).json()["headers"] == {}


def test_an_unknown_checksum_algorithm_is_a_400(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    uppy = Companion(stack, token_of(user))
    body = {"filename": "clip.mp4", "type": "video/mp4", "metadata": {"checksumAlgorithm": "MD5"}}
    companion_problem(
        requests.post(f"{uppy.base}/multipart", json=body, timeout=10), 400, "checksumAlgorithm"
    )
