"""content.sniff on real file headers: what agrees with a declared type, and what is named otherwise."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from upload_service.core.config import Settings
from upload_service.uploads.content import SNIFF_BYTES, Sniffed, sniff
from upload_service.uploads.landing import content_reason

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "content"


def head(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()[:SNIFF_BYTES]


@pytest.mark.parametrize(
    ("name", "declared", "detected"),
    [
        ("clip.mp4", "video/mp4", "video/mp4"),
        ("clip.mp4", "video/quicktime", "video/mp4"),
        ("clip.mov", "video/quicktime", "video/quicktime"),
        ("clip.mov", "video/mp4", "video/quicktime"),
        ("clip.webm", "video/webm", "video/webm"),
        ("clip.webm", "video/x-matroska", "video/webm"),
        ("clip.mkv", "video/webm", "video/x-matroska"),
        ("still.jpg", "image/jpeg", "image/jpeg"),
        ("still.png", "image/png", "image/png"),
    ],
)
def test_real_headers_agree_with_their_own_type_family(name: str, declared: str, detected: str) -> None:
    assert sniff(head(name), declared) == Sniffed(detected, agrees=True)


@pytest.mark.parametrize(
    ("content", "declared", "detected"),
    [
        (head("still.png"), "video/mp4", "image/png"),
        (head("clip.webm"), "video/mp4", "video/webm"),
        (head("clip.mp4"), "image/jpeg", "video/mp4"),
        (head("launcher.exe"), "video/mp4", "application/vnd.microsoft.portable-executable"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "video/mp4", "application/pdf"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00", "image/png", "image/gif"),
    ],
)
def test_other_types_are_named_and_disagree(content: bytes, declared: str, detected: str) -> None:
    assert sniff(content, declared) == Sniffed(detected, agrees=False)


def test_an_executable_with_no_mime_type_is_still_named() -> None:
    found = sniff(head("hello.elf"), "video/mp4")
    assert not found.agrees and found.detected


@pytest.mark.parametrize(
    "content",
    [b"", b"#!/bin/sh\necho hi\n", random.Random(1).randbytes(SNIFF_BYTES)],
    ids=["empty", "shell-script", "random"],
)
def test_bytes_of_no_known_type_are_unidentified(content: bytes) -> None:
    assert sniff(content, "video/mp4") == Sniffed(None, agrees=False)


def test_unidentified_content_passes_only_where_the_deployment_allows_it() -> None:
    strict = Settings.model_validate({"TABLE_NAME": "t"})
    lenient = Settings.model_validate({"TABLE_NAME": "t", "ACCEPT_UNIDENTIFIED_CONTENT": "true"})
    unknown, other = Sniffed(None, agrees=False), Sniffed("image/png", agrees=False)

    assert content_reason(unknown, "video/mp4", strict) is not None
    assert content_reason(unknown, "video/mp4", lenient) is None
    assert content_reason(other, "video/mp4", lenient) == (
        "content mismatch: the file is image/png, not the video/mp4 declared"
    )
    assert content_reason(Sniffed("video/mp4", agrees=True), "video/mp4", strict) is None
