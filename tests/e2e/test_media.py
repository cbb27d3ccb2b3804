"""What landed is read for its structure (DESIGN.md §8), end to end through the local stack: a
well-formed file's `media` in the API's answer and its event, each kind of malformed file REJECTED with
its reason, and a token's `maxDurationSeconds` taken, shown and enforced."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import EventLog, assert_problem
from tests.e2e.test_uploads import decided, send, start
from tests.media_files import fixture, mp4
from tests.waiting import eventually

CLIP = fixture("clip.mp4")


def _html_inside_mdat(data: bytes) -> bytes:
    """The clip with HTML at the end of its mdat, the box's size grown to hold it: sizes add up."""
    out, offset = b"", 0
    while offset < len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        box = data[offset : offset + size]
        if kind == b"mdat":
            hidden = b"<html><script>alert(document.domain)</script></html>"
            box = struct.pack(">I", size + len(hidden)) + box[4:] + hidden
        out += box
        offset += size
    return out


def land(
    stack: Stack,
    user: User,
    token: str,
    content: bytes,
    name: str = "clip.mp4",
    content_type: str = "video/mp4",
) -> dict[str, Any]:
    """Start an upload of `content`, send it, and wait for the decision."""
    started = start(stack, token, name=name, size=len(content), content_type=content_type)
    assert started.status_code == 200, started.text
    target = started.json()
    send(target, content)
    return decided(stack, user, token, target["uploadId"])


def mint(stack: Stack, user: User, **body: Any) -> requests.Response:
    return requests.post(
        f"{stack.api}/upload-tokens", json={"ttl": 300, **body}, headers=user.headers(), timeout=10
    )


def test_an_accepted_upload_shows_its_media(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    token = token_of(user)

    upload = land(stack, user, token, CLIP)

    media = {
        "container": "mp4",
        "durationSeconds": 0.5,
        "width": 64,
        "height": 64,
        "videoCodec": "h264",
        "audioCodec": None,
    }
    assert (upload["status"], upload["media"]) == ("ACCEPTED", media)
    (event,) = eventually(lambda: event_log.about(upload["uploadId"]), what="the decision's event")
    assert (event["detail-type"], event["detail"]["media"]) == ("Upload Accepted", media)


def test_an_image_has_width_and_height_only(stack: Stack, user: User, token_of: Callable[..., str]) -> None:
    upload = land(stack, user, token_of(user), fixture("still.png"), "still.png", "image/png")
    assert upload["media"] == {
        "container": "png",
        "durationSeconds": None,
        "width": 64,
        "height": 64,
        "videoCodec": None,
        "audioCodec": None,
    }


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (CLIP[: len(CLIP) // 3], "bytes missing: truncated, or not ISO BMFF"),
        (CLIP[:32] + random.Random(1).randbytes(2000), "not an ISO BMFF box at offset 32"),  # after ftyp
        (CLIP + b"<html><script>alert(1)</script></html>", "bytes missing: truncated, or not ISO BMFF"),
        (
            b"<!--ftypisom-->\n<html><script>alert(document.domain)</script></html>" * 20,
            "claims 1008807213 bytes",
        ),
        (b"////ftypisom\nfetch('/steal?c=' + document.cookie);\n" * 20, "claims 791621423 bytes"),
        (_html_inside_mdat(CLIP), "of the mdat are not referenced by the index"),
    ],
    ids=[
        "truncated",
        "noise after the signature",
        "html appended",
        "html polyglot",
        "script polyglot",
        "html in mdat",
    ],
)
def test_a_malformed_file_is_rejected_with_its_reason(
    stack: Stack, user: User, token_of: Callable[..., str], content: bytes, reason: str
) -> None:
    upload = land(stack, user, token_of(user), content)

    assert upload["status"] == "REJECTED", upload
    assert upload["reason"].startswith("malformed video/mp4: ") and reason in upload["reason"], upload[
        "reason"
    ]
    assert upload["media"] is None


@pytest.mark.parametrize("bad", [0, 86401, -5, 1.5, "60", True])
def test_max_duration_outside_its_range_is_a_400(stack: Stack, user: User, bad: Any) -> None:
    assert_problem(mint(stack, user, maxDurationSeconds=bad), 400, "maxDurationSeconds")


def test_max_duration_is_stored_and_shown(stack: Stack, user: User) -> None:
    created = mint(stack, user, maxDurationSeconds=86400)
    assert created.status_code == 200, created.text
    token = created.json()["token"]
    assert created.json()["maxDurationSeconds"] == 86400

    shown = requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=10).json()
    listed = requests.get(
        f"{stack.api}/upload-tokens",
        params={"pageSize": "100", "sortOrder": "desc"},
        headers=user.headers(),
        timeout=10,
    ).json()
    unlimited = mint(stack, user).json()

    assert shown["maxDurationSeconds"] == 86400
    assert [t["maxDurationSeconds"] for t in listed["data"] if t["token"] == token] == [86400]
    assert unlimited["maxDurationSeconds"] is None


def test_max_duration_is_enforced_at_landing(stack: Stack, user: User) -> None:
    created = mint(stack, user, maxDurationSeconds=2)
    assert created.status_code == 200, created.text
    token = created.json()["token"]

    short = land(stack, user, token, mp4(200, seconds=2))
    long = land(stack, user, token, mp4(200, seconds=2.5))

    assert (short["status"], short["media"]["durationSeconds"]) == ("ACCEPTED", 2.0)
    assert long["status"] == "REJECTED"
    assert long["reason"] == "media runs 2.5 seconds, longer than the 2 seconds the token allows"
    assert long["media"]["durationSeconds"] == 2.5  # what was read, kept with the rejection
