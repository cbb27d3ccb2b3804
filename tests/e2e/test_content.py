"""What a new user of `make dev` tries first: files that are not what they claim, sent through a real
presigned POST with the declared type, are refused at landing; real files of allowed types are kept."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Stack, User
from tests.e2e.conftest import EventLog
from tests.e2e.test_uploads import decided, delivered, keys, send, start

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "content"
IMPOSTORS = {
    "linux-executable": (FIXTURES / "hello.elf").read_bytes(),
    "windows-executable": (FIXTURES / "launcher.exe").read_bytes(),
    "html-page": b"<html><head><title>x</title></head><body><script>fetch('/')</script></body></html>",
    "png-image": (FIXTURES / "still.png").read_bytes(),
    "random-bytes": random.Random(7).randbytes(2048),
}


@pytest.mark.parametrize("content", IMPOSTORS.values(), ids=IMPOSTORS.keys())
def test_a_file_that_is_not_the_video_it_claims_is_rejected(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog, content: bytes
) -> None:
    token = token_of(user)
    target = start(stack, token, name="holiday.mp4", size=len(content)).json()

    send(target, content)  # with the declared Content-Type, video/mp4, as the policy asks
    upload = decided(stack, user, token, target["uploadId"])

    assert upload["status"] == "REJECTED"
    assert upload["reason"].startswith("content ")
    assert upload["detectedType"] != "video/mp4"
    assert keys(stack, f"uploads/{target['uploadId']}/") == []
    assert keys(stack, f"media/{user.sub}/") == []
    (event,) = event_log.about(target["uploadId"])
    assert event["detail-type"] == "Upload Rejected"
    assert event["detail"]["detectedType"] == upload["detectedType"]


@pytest.mark.parametrize(
    ("name", "declared", "detected"),
    [
        ("clip.mp4", "video/mp4", "video/mp4"),
        ("clip.mkv", "video/webm", "video/x-matroska"),  # WebM is a Matroska profile
        ("still.jpg", "image/jpeg", "image/jpeg"),
    ],
)
def test_a_real_file_is_accepted_and_shows_what_it_was_found_to_be(
    stack: Stack, user: User, token_of: Callable[..., str], name: str, declared: str, detected: str
) -> None:
    token = token_of(user)
    content = (FIXTURES / name).read_bytes()
    target = start(stack, token, name=name, size=len(content), content_type=declared).json()

    send(target, content)
    upload = decided(stack, user, token, target["uploadId"])

    assert (upload["status"], upload["reason"], upload["detectedType"]) == ("ACCEPTED", None, detected)
    assert delivered(stack, f"media/{user.sub}/{target['uploadId']}/") == [
        f"media/{user.sub}/{target['uploadId']}/{name}"
    ]
