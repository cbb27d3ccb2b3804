"""Forwarding as a frontend and its backend see it, through the running local stack: a file uploaded
with a token ends ACCEPTED, then FORWARDED to the api.video double with a videoId, byte for byte;
a rejected one never reaches api.video."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from typing import Any

import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import EventLog
from tests.e2e.test_uploads import CLIP, NOT_A_VIDEO, decided, send, start
from tests.media_files import mp4
from tests.waiting import eventually


def forwarded(stack: Stack, user: User, token: str, upload_id: str) -> dict[str, Any]:
    """The upload as GET /upload-tokens/{token} shows it once its forwarding has finished."""
    return eventually(
        lambda: decided(stack, user, token, upload_id),
        lambda upload: (upload.get("forwarding") or {}).get("status") in ("FORWARDED", "FAILED"),
        what=f"the forwarding of {upload_id}",
    )


def test_an_accepted_upload_is_forwarded_to_api_video_byte_for_byte(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    content = mp4(random.Random(11).randbytes(300_000))
    name = f"{uuid.uuid4().hex}.mp4"
    token = token_of(user)
    target = start(stack, token, name=name, size=len(content)).json()

    send(target, content)
    upload = forwarded(stack, user, token, target["uploadId"])

    assert upload["status"] == "ACCEPTED"
    forwarding = upload["forwarding"]
    assert forwarding["status"] == "FORWARDED" and forwarding["bytesSent"] == len(content)
    assert forwarding["videoId"].startswith("vi") and forwarding["error"] is None
    video = f"{stack.info['videoPlatform']['url']}/videos/{forwarding['videoId']}"
    assert hashlib.sha256(requests.get(f"{video}/source", timeout=30).content).digest() == (
        hashlib.sha256(content).digest()
    )
    kinds = eventually(
        lambda: [e["detail-type"] for e in event_log.about(target["uploadId"], forwarding=True)],
        lambda kinds: len(kinds) >= 2,
        what="the upload's events",
    )
    assert kinds == ["Upload Accepted", "Upload Forwarded"]


def test_a_rejected_upload_never_reaches_api_video(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    # given a rejected upload, then an accepted one of the same token, decided after it
    name = f"{uuid.uuid4().hex}.mp4"
    token = token_of(user)
    target = start(stack, token, name=name, size=len(CLIP)).json()
    send(target, NOT_A_VIDEO)
    upload = decided(stack, user, token, target["uploadId"])
    later = start(stack, token, name=f"later-{name}", size=len(CLIP)).json()
    send(later, CLIP)

    # when the later one has been forwarded (the pipeline had every chance to forward the first)
    assert forwarded(stack, user, token, later["uploadId"])["forwarding"]["status"] == "FORWARDED"

    # then the rejected one never reached api.video
    assert upload["status"] == "REJECTED" and upload["forwarding"] is None
    stats = requests.get(f"{stack.info['videoPlatform']['url']}/_double/stats", timeout=10).json()
    titles = [video["title"] for video in stats["videos"]]
    assert f"later-{name}" in titles and name not in titles


def test_a_multipart_upload_is_forwarded_byte_for_byte(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    """S3 gives the media/ copy of a multipart object an ETag of its own (not the `…-N` one), and
    the forwarder still reads it, pinned, whole."""
    from tests.e2e.test_multipart import Companion

    content = mp4(random.Random(12).randbytes(600_000))
    token = token_of(user)
    uppy = Companion(stack, token)
    upload = uppy.started(f"{uuid.uuid4().hex}.mp4")
    part = uppy.send_part(upload, 1, content)
    assert uppy.complete(upload, [part]).status_code == 200

    found = forwarded(stack, user, token, upload["uploadId"])

    assert found["status"] == "ACCEPTED", found
    forwarding = found["forwarding"]
    assert (forwarding["status"], forwarding["bytesSent"], forwarding["error"]) == (
        "FORWARDED",
        len(content),
        None,
    )
    video = f"{stack.info['videoPlatform']['url']}/videos/{forwarding['videoId']}"
    assert hashlib.sha256(requests.get(f"{video}/source", timeout=30).content).digest() == (
        hashlib.sha256(content).digest()
    )
