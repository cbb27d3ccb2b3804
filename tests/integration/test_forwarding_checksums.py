"""The forwarder checks what it sends to api.video against the `checksumSha256` the client declared:
the bytes are hashed as the chunks stream, and the whole file's SHA-256 is checked before the chunk
that completes the video goes. A mismatch fails the forward at once (FAILED, one event, no retry), and
api.video's video stays incomplete. In process against the emulator and the stack's api.video double."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable

import pytest

from tests.conftest import Published
from tests.integration.test_forwarding import (
    MIB,
    Crash,
    Double,
    accepted,
    double,  # noqa: F401  (the fixture)
    forward,
    record_of,
)
from upload_service.core.aws import client
from upload_service.core.config import get_settings
from upload_service.core.records import ForwardingStatus, UploadRecord
from upload_service.data.items import upload_key
from upload_service.forwarding.apivideo import Progress


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def flipped(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def crash_at(sent: int) -> Callable[[Progress], None]:
    """The process dies once api.video acknowledged `sent` bytes (recorded)."""

    def crash(progress: Progress) -> None:
        if progress.bytes_sent == sent:
            raise Crash()

    return crash


def declaring(upload: UploadRecord, checksum: str) -> UploadRecord:
    """The upload, as if its client had declared `checksum` when it started."""
    client("dynamodb").update_item(
        TableName=get_settings().table_name,
        Key=upload_key(upload.token_ref, upload.upload_id),
        UpdateExpression="SET checksumSha256 = :sum",
        ExpressionAttributeValues={":sum": {"S": checksum}},
    )
    return record_of(upload)


@pytest.mark.parametrize("size", [2 * MIB, 12 * MIB], ids=["one-request", "three-chunks"])
def test_a_file_whose_bytes_match_its_checksum_is_forwarded(
    double: Double,  # noqa: F811
    published: Published,
    size: int,
) -> None:
    upload, content = accepted(size)
    upload = declaring(upload, sha256(content))
    assert upload.checksum_sha256 == sha256(content)

    outcome = forward(upload)

    assert outcome.result == "forwarded", outcome
    record = record_of(upload).forwarding
    assert record is not None and record.status is ForwardingStatus.FORWARDED
    assert double.source_sha256(record.video_id or "") == hashlib.sha256(content).hexdigest()
    assert published.about(upload.upload_id) == ["Upload Forwarded"]


@pytest.mark.parametrize("size", [2 * MIB, 12 * MIB], ids=["one-request", "three-chunks"])
def test_a_mismatch_fails_the_forward_once_and_holds_back_the_last_chunk(
    double: Double,  # noqa: F811
    published: Published,
    size: int,
) -> None:
    upload, content = accepted(size)
    upload = declaring(upload, sha256(flipped(content, size // 2)))

    outcome = forward(upload)
    again = forward(upload, owner="redelivery")

    assert (outcome.result, again.result) == ("failed", "skipped")
    record = record_of(upload).forwarding
    assert record is not None and record.status is ForwardingStatus.FAILED
    assert record.attempts == 1
    assert record.error is not None and "checksumSha256" in record.error and "retrying" not in record.error
    assert record.bytes_sent < size  # the chunk that would complete the video was not sent
    video = double.video(record.video_id or "")
    assert not video["complete"]
    assert published.about(upload.upload_id) == ["Upload Forward Failed"]
    (event,) = [e for e in published.entries if e["Detail"]["uploadId"] == upload.upload_id]
    assert event["Detail"]["forwarding"]["error"] == record.error


def test_a_resumed_forward_checks_the_bytes_an_earlier_invocation_sent(
    double: Double,  # noqa: F811
) -> None:
    """The second invocation sends only the last chunks, but the check covers the whole file: what the
    first one sent is read again (not sent) and hashed."""
    upload, content = accepted(16 * MIB)
    upload = declaring(upload, sha256(flipped(content, 0)))  # a byte the first invocation sends

    with pytest.raises(Crash):
        forward(upload, interrupt=crash_at(10 * MIB))
    resumed = forward(upload, owner="after-expiry", now=int(time.time()) + 901)

    assert resumed.result == "failed"
    record = record_of(upload).forwarding
    assert record is not None and record.status is ForwardingStatus.FAILED
    assert record.bytes_sent == 15 * MIB  # the third chunk went, the fourth (the last) did not
    assert not double.video(record.video_id or "")["complete"]


def test_a_resumed_forward_of_the_right_bytes_completes(double: Double) -> None:  # noqa: F811
    upload, content = accepted(16 * MIB)
    upload = declaring(upload, sha256(content))
    with pytest.raises(Crash):
        forward(upload, interrupt=crash_at(5 * MIB))
    resumed = forward(upload, owner="after-expiry", now=int(time.time()) + 901)

    assert resumed.result == "forwarded", resumed
    record = record_of(upload).forwarding
    assert record is not None
    assert double.source_sha256(record.video_id or "") == hashlib.sha256(content).hexdigest()
