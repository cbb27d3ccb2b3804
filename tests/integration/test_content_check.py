"""The content check at landing, through process-upload against the emulator: a file is kept only when
its first bytes show the type its uploader declared, read with one ranged GetObject per upload."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Published
from tests.integration.test_processing import notification_message, seed_upload, sqs_event
from upload_service.core.config import get_settings
from upload_service.core.records import UploadRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.uploads import landing
from upload_service.uploads.notifications import Arrival

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "content"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class Reads:
    """The GetObject calls the processor's S3 client makes, with the Range each asked for."""

    def __init__(self) -> None:
        self.ranges: list[str | None] = []

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.ranges.append(params.get("Range"))


@pytest.fixture
def reads(lambda_env: dict[str, str]) -> Iterator[Reads]:
    client = default_storage().client
    hook = Reads()
    client.meta.events.register("provide-client-params.s3.GetObject", hook)
    yield hook
    client.meta.events.unregister("provide-client-params.s3.GetObject", hook)


def land(invoke: Invoke, content: bytes, content_type: str) -> UploadRecord:
    """One upload of `content` declared (and sent) as `content_type`, processed; its record after."""
    upload = seed_upload("sniff-owner", content=content, content_type=content_type)
    result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "0A")))
    assert result == {"batchItemFailures": []}
    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None
    return decided


@pytest.mark.parametrize(
    ("name", "declared", "detected"),
    [
        ("clip.mp4", "video/mp4", "video/mp4"),
        ("clip.mov", "video/quicktime", "video/quicktime"),
        ("clip.mov", "video/mp4", "video/quicktime"),  # one container family, however a phone labels it
        ("clip.webm", "video/webm", "video/webm"),
        ("still.jpg", "image/jpeg", "image/jpeg"),
        ("still.png", "image/png", "image/png"),
    ],
)
def test_real_files_of_allowed_types_are_accepted_with_their_detected_type(
    invoke: Invoke, published: Published, reads: Reads, name: str, declared: str, detected: str
) -> None:
    upload = land(invoke, fixture(name), declared)

    assert (upload.status, upload.reason) == (UploadStatus.ACCEPTED, None)
    assert upload.detected_type == detected
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    (event,) = [e for e in published.entries if e["Detail"]["uploadId"] == upload.upload_id]
    assert event["Detail"]["detectedType"] == detected
    assert reads.ranges == ["bytes=0-65535"]  # one ranged read: a small file's whole structure is in it


@pytest.mark.parametrize(
    ("content", "declared", "detected"),
    [
        (fixture("still.png"), "video/mp4", "image/png"),
        (fixture("still.jpg"), "image/png", "image/jpeg"),
        (fixture("clip.mp4"), "video/webm", "video/mp4"),
        (fixture("launcher.exe"), "video/mp4", "application/vnd.microsoft.portable-executable"),
        (fixture("hello.elf"), "video/mp4", None),  # puremagic names it; which name is its business
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "video/mp4", "text/html"),
        (b"#!/usr/bin/env python3\nimport os\nos.system('id')\n", "video/mp4", "text/x-python"),
    ],
    ids=["png-as-mp4", "jpeg-as-png", "mp4-as-webm", "windows-exe", "linux-elf", "html", "python-script"],
)
def test_a_file_whose_bytes_are_another_type_is_rejected_deleted_and_reported_once(
    invoke: Invoke, published: Published, content: bytes, declared: str, detected: str | None
) -> None:
    upload = land(invoke, content, declared)

    assert upload.status is UploadStatus.REJECTED
    assert upload.reason is not None and upload.reason.startswith("content mismatch: the file is ")
    assert upload.detected_type is not None and upload.detected_type != declared
    if detected is not None:
        assert upload.detected_type == detected
    assert upload.reason.endswith(f"not the {declared} declared")
    assert published.about(upload.upload_id) == ["Upload Rejected"]
    (event,) = [e for e in published.entries if e["Detail"]["uploadId"] == upload.upload_id]
    assert event["Detail"]["detectedType"] == upload.detected_type
    storage = default_storage()
    assert storage.head(upload.key) is None
    assert storage.head(upload.media_key) is None


UNIDENTIFIABLE = {
    "shell-script": b'#!/bin/sh\nrm -rf "$HOME"\n',
    "random-bytes": random.Random(20261129).randbytes(4096),
}


@pytest.mark.parametrize("content", UNIDENTIFIABLE.values(), ids=UNIDENTIFIABLE.keys())
def test_a_file_of_no_known_type_is_rejected_by_default(
    invoke: Invoke, published: Published, content: bytes
) -> None:
    upload = land(invoke, content, "video/mp4")

    assert upload.status is UploadStatus.REJECTED
    assert upload.reason == "content unidentified: the file's first bytes match no known type"
    assert upload.detected_type is None
    assert published.about(upload.upload_id) == ["Upload Rejected"]
    assert default_storage().head(upload.key) is None


def test_a_deployment_may_accept_files_of_no_known_type(lambda_env: dict[str, str], reads: Reads) -> None:
    settings = get_settings().model_copy(update={"accept_unidentified_content": True})
    unknown = seed_upload("lenient-owner", content=UNIDENTIFIABLE["random-bytes"])
    mismatched = seed_upload("lenient-owner", content=fixture("still.png"))

    decisions = [
        landing.process_arrival(
            default_repository(),
            default_storage(),
            Arrival(default_storage().bucket, upload.key, datetime.now(UTC)),
            settings,
            datetime.now(UTC),
        )
        for upload in (unknown, mismatched)
    ]

    assert [d.outcome for d in decisions] == ["accepted", "rejected"]  # a known other type still is not
    assert reads.ranges == ["bytes=0-65535", "bytes=0-65535"]


def test_an_upload_rejected_on_its_metadata_costs_no_read(invoke: Invoke, reads: Reads) -> None:
    upload = seed_upload("oversize-owner", content=fixture("clip.mp4"), declared=100)

    invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "0B")))

    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None and decided.reason is not None and "larger than" in decided.reason
    assert reads.ranges == []
