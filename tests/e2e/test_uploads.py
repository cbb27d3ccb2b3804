"""The upload half, end to end: real presigned POSTs sent with requests, S3 -> SQS -> process-upload
through the running local stack, decisions checked on the API, in S3 and on EventBridge.

The test stack runs with MaxUploadBytes=1048576, UploadsPerToken=3, UploadTargetTtlSeconds=60.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import EventLog, assert_problem
from tests.media_files import mp4
from tests.waiting import PATIENCE, eventually

CLIP = mp4(b"x" * 100)
#: A PNG's first bytes: what S3 takes for a target declared video/mp4 (the POST's fields are as signed),
#: and the processor rejects ("content mismatch").
NOT_A_VIDEO = b"\x89PNG\r\n\x1a\n" + b"x" * 40


def start(
    stack: Stack, token: str, name: str = "clip.mp4", size: int = len(CLIP), content_type: str = "video/mp4"
) -> requests.Response:
    body = {"fileName": name, "fileSize": size, "contentType": content_type}
    return requests.post(f"{stack.api}/upload", params={"token": token}, json=body, timeout=10)


def post_file(target: dict[str, Any], content: bytes = CLIP, **changed: str) -> requests.Response:
    """What a browser does with the target: a multipart/form-data POST of the fields (any `changed`, as
    a client may try), then the file. S3 (the strict emulator) judges it by the target's policy."""
    fields = {**target["fields"], **changed}
    return requests.post(target["url"], data=fields, files={"file": ("f", content)}, timeout=30)


def send(target: dict[str, Any], content: bytes = CLIP) -> requests.Response:
    """The target used as handed out: S3 takes it."""
    response = post_file(target, content)
    assert response.status_code in (200, 201, 204), response.text
    return response


def s3_error(response: requests.Response) -> tuple[int, str, str]:
    """S3's refusal: status, `Code` and `Message` of its XML error."""
    error = ElementTree.fromstring(response.content)
    return response.status_code, error.findtext("Code", ""), error.findtext("Message", "")


def decided(
    stack: Stack, user: User, token: str, upload_id: str, timeout: float = PATIENCE
) -> dict[str, Any]:
    """The upload as GET /upload-tokens/{token} shows it, once it is no longer PENDING (timeout 0:
    decided already, by the request that just returned)."""

    def seen() -> dict[str, Any]:
        token_view = requests.get(
            f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=30
        ).json()
        upload = next(u for u in token_view["uploads"] if u["uploadId"] == upload_id)
        return {**upload, "token": token_view}

    return eventually(
        seen, lambda upload: upload["status"] != "PENDING", what=f"a decision on {upload_id}", timeout=timeout
    )


def keys(stack: Stack, prefix: str) -> list[str]:
    listing = stack.client("s3").list_objects_v2(Bucket=stack.info["bucketName"], Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def delivered(stack: Stack, prefix: str) -> list[str]:
    """The keys under `prefix` once an accepted upload's delivery (after its decision) put one there."""
    return eventually(lambda: keys(stack, prefix), bool, what=f"a delivery under {prefix}")


def test_accepted_upload_end_to_end(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    token = token_of(user)
    started = start(stack, token, name="My Holiday (1).mp4")
    assert started.status_code == 200, started.text
    target = started.json()
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Retry-After"):
        assert started.headers[header].isdigit()
    assert started.headers["X-RateLimit-Limit"] == "20"

    sent_at = time.monotonic()
    send(target)
    upload = decided(stack, user, token, target["uploadId"])
    elapsed = time.monotonic() - sent_at

    assert upload["status"] == "ACCEPTED", upload
    assert upload["fileSize"] == len(CLIP)
    assert upload["fileName"] == "My Holiday (1).mp4"
    assert upload["token"]["status"] == "PARTIAL_UPLOAD"
    media = f"media/{user.sub}/{target['uploadId']}/My Holiday (1).mp4"
    assert delivered(stack, f"media/{user.sub}/") == [media]
    eventually(lambda: keys(stack, f"uploads/{target['uploadId']}/"), lambda left: left == [], what="purged")
    body = stack.client("s3").get_object(Bucket=stack.info["bucketName"], Key=media)["Body"].read()
    assert body == CLIP
    events = eventually(lambda: event_log.about(target["uploadId"]), bool, what="the decision's event")
    assert [event["detail-type"] for event in events] == ["Upload Accepted"]
    assert events[0]["detail"]["userId"] == user.sub
    assert token not in json.dumps(events[0])  # the token is a credential: consumers get a masked hint
    print(f"\nupload -> ACCEPTED on the local stack: {elapsed:.2f} s")


def test_a_target_sent_again_with_the_same_bytes_after_its_decision_leaves_nothing(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    """S3 takes a POST to a target until its policy expires. Each repeat is another version of the
    key with its own notification (its own version and sequencer, though the ETag is the same), and
    the decided upload's processing deletes it."""
    token = token_of(user)
    target = start(stack, token).json()

    def versions_left() -> list[str]:
        listed = stack.client("s3").list_object_versions(
            Bucket=stack.info["bucketName"], Prefix=f"uploads/{target['uploadId']}/"
        )
        return [version["VersionId"] for version in listed.get("Versions", [])]

    send(target)
    assert decided(stack, user, token, target["uploadId"])["status"] == "ACCEPTED"
    eventually(versions_left, lambda left: left == [], what="the accepted object moved out of uploads/")

    for _ in range(3):
        send(target)

    eventually(versions_left, lambda left: left == [], what="every version sent again deleted")
    assert decided(stack, user, token, target["uploadId"], timeout=0)["status"] == "ACCEPTED"


def test_presigned_policy_pins_key_size_type_and_expiry(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user, ttl=30)
    target = start(stack, token, size=1234, content_type="video/webm").json()

    policy = json.loads(base64.b64decode(target["fields"]["policy"]))
    conditions = policy["conditions"]

    key = f"uploads/{target['uploadId']}/clip.mp4"  # ours, and no credential in it
    assert target["key"] == key and target["fields"]["key"] == key
    assert token not in json.dumps(target)
    assert {"key": key} in conditions
    assert {"bucket": stack.info["bucketName"]} in conditions
    assert ["content-length-range", 1, 1234] in conditions
    assert {"Content-Type": "video/webm"} in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    token_expiry = datetime.fromisoformat(
        requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=10)
        .json()["expiresAt"]
        .replace("Z", "+00:00")
    )
    assert expiration <= token_expiry + timedelta(seconds=1)  # never outlives the token (ttl 30 < 60)
    assert expiration - datetime.now(UTC) <= timedelta(seconds=31)
    assert target["expiresAt"].endswith("Z")


@pytest.mark.parametrize(
    ("declared", "sent", "changed", "refusal"),
    [
        (10, CLIP, {}, (400, "EntityTooLarge", "exceeds the maximum allowed size")),
        (
            len(CLIP),
            CLIP,
            {"Content-Type": "image/png"},
            (403, "AccessDenied", 'Policy Condition failed: ["eq", "$Content-Type", "video/mp4"]'),
        ),
        (len(CLIP), b"", {}, (400, "EntityTooSmall", "smaller than the minimum allowed size")),
        (
            len(CLIP),
            CLIP,
            {"key": "media/someone-else/clip.mp4"},
            (403, "AccessDenied", "Policy Condition failed"),
        ),
    ],
    ids=["over-size", "wrong-type", "empty", "another-key"],
)
def test_what_does_not_match_the_declaration_is_refused_by_s3_and_stored_nowhere(
    stack: Stack,
    user: User,
    token_of: Callable[..., str],
    event_log: EventLog,
    declared: int,
    sent: bytes,
    changed: dict[str, str],
    refusal: tuple[int, str, str],
) -> None:
    """The target's POST policy pins the size, the type and the key: S3 refuses the rest before a byte
    is stored (the processor checks the same again for what does arrive: tests/unit/test_uploads_logic.py)."""
    token = token_of(user)
    target = start(stack, token, size=declared).json()

    status, code, message = s3_error(post_file(target, sent, **changed))

    assert (status, code) == refusal[:2] and refusal[2] in message
    assert keys(stack, f"uploads/{target['uploadId']}/") == []
    assert keys(stack, "media/someone-else/") == []
    view = requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=30).json()
    assert [u["status"] for u in view["uploads"] if u["uploadId"] == target["uploadId"]] == ["PENDING"]
    assert event_log.about(target["uploadId"]) == []  # nothing landed: nothing to decide


def test_what_s3_takes_but_is_not_what_was_declared_is_rejected(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    token = token_of(user)
    target = start(stack, token).json()

    send(target, NOT_A_VIDEO)  # the POST as signed: only the bytes are not a video
    upload = decided(stack, user, token, target["uploadId"])

    assert upload["status"] == "REJECTED"
    assert upload["reason"] == "content mismatch: the file is image/png, not the video/mp4 declared"
    assert keys(stack, f"uploads/{target['uploadId']}/") == []
    assert keys(stack, f"media/{user.sub}/") == []
    assert [e["detail-type"] for e in event_log.about(target["uploadId"])] == ["Upload Rejected"]


def test_target_obtained_before_revocation_is_rejected_after_it(
    stack: Stack, http: requests.Session, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    token = token_of(user)
    target = start(stack, token).json()
    assert http.delete(f"{stack.api}/upload-tokens/{token}", headers=user.headers()).status_code == 204

    send(target)  # S3 does not re-check a URL handed out earlier

    eventually(
        lambda: keys(stack, f"uploads/{target['uploadId']}/"), lambda left: left == [], what="deletion"
    )
    assert keys(stack, f"media/{user.sub}/") == []
    events = eventually(lambda: event_log.about(target["uploadId"]), what="the decision's event")
    assert [e["detail-type"] for e in events] == ["Upload Rejected"]
    assert events[0]["detail"]["reason"] == "token revoked"
    assert_problem(start(stack, token), 404)  # and no new target for a dead token


def test_a_target_used_after_the_token_expired_is_refused_by_s3(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    """The POST policy expires with the token (never later): S3 refuses a file sent after it. (One sent
    in time that lands late is the processor's to reject: tests/integration/test_processing.py.)"""
    token = token_of(user, ttl=7)
    target = start(stack, token).json()
    time.sleep(7.2)

    status, code, message = s3_error(post_file(target))

    assert (status, code, message) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    assert keys(stack, f"uploads/{target['uploadId']}/") == []


def test_objects_under_unknown_keys_are_deleted(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    s3 = stack.client("s3")
    bucket = stack.info["bucketName"]
    strays = [
        f"uploads/{token}/{uuid.uuid4().hex}/clip.mp4",  # no such upload
        f"uploads/{token}/not-an-id/clip.mp4",
        "uploads/stray.mp4",
        f"uploads/to{'0' * 22}/{uuid.uuid4().hex}/a b+c.mp4",  # space and plus: URL-encoded in the event
    ]
    for key in strays:
        s3.put_object(Bucket=bucket, Key=key, Body=CLIP, ContentType="video/mp4")

    eventually(
        lambda: [key for key in strays if keys(stack, key)], lambda left: left == [], what="strays deleted"
    )


def test_allowance_closes_the_token(
    stack: Stack, http: requests.Session, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    targets = [start(stack, token, name=f"clip-{n}.mp4").json() for n in range(3)]
    assert_problem(start(stack, token), 403)  # three allowed, all reserved

    for target in targets:
        send(target)
    uploads = [decided(stack, user, token, target["uploadId"]) for target in targets]

    assert [u["status"] for u in uploads] == ["ACCEPTED"] * 3
    # the token is closed just after the last decision (an effect of it: docs/uploads-and-data.md)
    view = eventually(
        lambda: http.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers()).json(),
        lambda view: view["status"] != "PARTIAL_UPLOAD",
        what="the token closed",
    )
    assert view["status"] == "FULL_UPLOAD"
    listed = http.get(f"{stack.api}/upload-tokens", headers=user.headers()).json()
    assert token not in [item["token"] for item in listed["data"]]
    assert_problem(start(stack, token), 404)


def test_a_rejected_upload_gives_its_slot_back(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    targets = [start(stack, token, name=f"clip-{n}.mp4").json() for n in range(3)]
    send(targets[0], NOT_A_VIDEO)
    assert decided(stack, user, token, targets[0]["uploadId"])["status"] == "REJECTED"

    assert start(stack, token).status_code == 200


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"fileName": "../../etc/passwd", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "a/b.mp4", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "a\\b.mp4", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "..", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": ".hidden", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "a\u0000.mp4", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "a\nb.mp4", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "", "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "x" * 201, "fileSize": 10, "contentType": "video/mp4"}, "fileName"),
        ({"fileName": "a.mp4", "fileSize": 0, "contentType": "video/mp4"}, "fileSize"),
        ({"fileName": "a.mp4", "fileSize": -1, "contentType": "video/mp4"}, "fileSize"),
        ({"fileName": "a.mp4", "fileSize": 1048577, "contentType": "video/mp4"}, "fileSize"),
        ({"fileName": "a.mp4", "fileSize": 1.5, "contentType": "video/mp4"}, "fileSize"),
        ({"fileName": "a.mp4", "fileSize": "10", "contentType": "video/mp4"}, "fileSize"),
        ({"fileName": "a.mp4", "fileSize": 10, "contentType": "application/x-msdownload"}, "contentType"),
        ({"fileName": "a.mp4", "fileSize": 10}, "contentType"),
        ({"fileName": "a.mp4", "fileSize": 10, "contentType": "video/mp4", "acl": "public-read"}, "acl"),
    ],
)
def test_start_upload_refuses_bad_declarations(
    stack: Stack, user: User, token_of: Callable[..., str], body: dict[str, Any], name: str
) -> None:
    token = token_of(user)
    response = requests.post(f"{stack.api}/upload", params={"token": token}, json=body, timeout=10)
    assert_problem(response, 400, name)


def test_start_upload_names_every_problem_of_a_body_at_once(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    body = {"fileName": "../x.mp4", "contentType": "text/html", "acl": "public-read"}
    response = requests.post(f"{stack.api}/upload", params={"token": token_of(user)}, json=body, timeout=10)
    problems = assert_problem(response, 400, "fileName")["problems"]
    assert {problem["name"] for problem in problems} == {"fileName", "fileSize", "contentType", "acl"}


def test_start_upload_needs_a_body_and_a_token(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    assert_problem(requests.post(f"{stack.api}/upload", params={"token": token}, timeout=10), 400, "body")
    assert_problem(
        requests.post(f"{stack.api}/upload", params={"token": token}, data="{oops", timeout=10), 400, "body"
    )
    good = {"fileName": "a.mp4", "fileSize": 10, "contentType": "video/mp4"}
    assert_problem(requests.post(f"{stack.api}/upload", json=good, timeout=10), 400, "token")


@pytest.mark.parametrize("token", ["junk", "to" + "0" * 22, "' OR 1=1"])
def test_unknown_tokens_get_404(stack: Stack, token: str) -> None:
    assert_problem(start(stack, token), 404)


def test_expired_token_gets_404(stack: Stack, user: User, token_of: Callable[..., str]) -> None:
    token = token_of(user, ttl=1)
    time.sleep(1.1)
    assert_problem(start(stack, token), 404)


def test_upload_rate_limit_is_per_token(stack: Stack, user: User, token_of: Callable[..., str]) -> None:
    from tests.e2e.test_limits import wait_for_a_fresh_window

    wait_for_a_fresh_window()
    limited, other = token_of(user), token_of(user)
    statuses = [start(stack, limited, size=0).status_code for _ in range(21)]  # 400s count too
    assert statuses == [400] * 20 + [429]
    assert start(stack, other, size=0).status_code == 400
