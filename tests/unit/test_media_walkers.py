"""The structure check of what landed (uploads/media/): well-formed files give their media facts, and
every broken variant of them is rejected with a reason: truncated, noise after a signature, data
appended, HTML or script polyglots, HTML hidden inside an mdat. Reads stay bounded whatever the size."""

from __future__ import annotations

import random
import struct

import boto3
import pytest
from moto import mock_aws

from tests.media_files import fixture, mp4
from upload_service.core.records import Media
from upload_service.core.storage import Storage
from upload_service.uploads.media import probe as media_probe
from upload_service.uploads.media.probe import Rejection, check
from upload_service.uploads.media.reading import Budget, BytesSource

GOOD = [
    ("clip.mp4", "video/mp4", Media("mp4", 0.5, 64, 64, "h264", None)),
    ("clip.mov", "video/quicktime", Media("mov", 0.5, 64, 64, "h264", None)),
    ("clip.mkv", "video/x-matroska", Media("matroska", 0.5, 64, 64, "h264", None)),
    ("clip.webm", "video/webm", Media("webm", 0.5, 64, 64, "vp8", None)),
    ("mp4_fragmented.mp4", "video/mp4", Media("mp4", 2.139, 320, 240, "h264", "aac")),
    ("webm_live_vp8_opus.webm", "video/webm", Media("webm", 1.981, 320, 240, "vp8", "opus")),
    ("still.jpg", "image/jpeg", Media("jpeg", None, 64, 64)),
    ("jpeg_progressive.jpg", "image/jpeg", Media("jpeg", None, 480, 360)),
    ("still.png", "image/png", Media("png", None, 64, 64)),
]
SIGNATURES = {"video/mp4": 24, "video/quicktime": 20, "video/x-matroska": 4, "video/webm": 4}


def verdict(data: bytes, declared: str) -> Media | Rejection:
    return check(BytesSource(data), len(data), declared)


def rejected(data: bytes, declared: str) -> str:
    found = verdict(data, declared)
    assert isinstance(found, Rejection), found
    assert found.reason.startswith(f"malformed {declared}: ")
    return found.reason


@pytest.mark.parametrize(("name", "declared", "media"), GOOD, ids=[name for name, _, _ in GOOD])
def test_well_formed_files_give_their_media(name: str, declared: str, media: Media) -> None:
    assert verdict(fixture(name), declared) == media


@pytest.mark.parametrize(("name", "declared"), [(name, declared) for name, declared, _ in GOOD])
@pytest.mark.parametrize("keep", [1 / 3, 2 / 3, -1], ids=["a third", "two thirds", "one byte short"])
def test_truncated_files_are_rejected(name: str, declared: str, keep: float) -> None:
    data = fixture(name)
    rejected(data[: len(data) - 1] if keep == -1 else data[: int(len(data) * keep)], declared)


@pytest.mark.parametrize(("name", "declared"), [(name, declared) for name, declared, _ in GOOD])
def test_a_signature_followed_by_noise_is_rejected(name: str, declared: str) -> None:
    data = fixture(name)
    keep = SIGNATURES.get(declared, 8)
    rejected(data[:keep] + random.Random(name).randbytes(len(data)), declared)


@pytest.mark.parametrize(("name", "declared"), [(name, declared) for name, declared, _ in GOOD])
def test_data_appended_to_a_file_is_rejected(name: str, declared: str) -> None:
    rejected(fixture(name) + b"<html><script>alert(document.domain)</script></html>\n" * 20, declared)


@pytest.mark.parametrize(
    "polyglot",
    [
        b"<!--ftypisom-->\n<!doctype html><html><body><script>alert(document.domain)</script>"
        + b"<p>filler</p>\n" * 200,
        b"////ftypisom\nfetch('/steal?c=' + document.cookie);\n" + b"// filler line\n" * 200,
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2<html><script>alert(1)</script></html>",
    ],
    ids=["html", "javascript", "ftyp then html"],
)
def test_html_and_script_polyglots_are_rejected(polyglot: bytes) -> None:
    assert "file ends at" in rejected(polyglot, "video/mp4") or "not an ISO BMFF box" in rejected(
        polyglot, "video/mp4"
    )


def _top_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    boxes, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        boxes.append((kind, offset, size))
        offset += size
    return boxes


def _with_mdat(data: bytes, change: bool) -> bytes:
    """clip.mp4 with HTML hidden at the end of its mdat (sizes patched), or its mdat zeroed."""
    out = bytearray()
    for kind, offset, size in _top_boxes(data):
        box = data[offset : offset + size]
        if kind == b"mdat" and change:
            hidden = b"<html><script>alert(document.domain)</script></html>"
            box = struct.pack(">I", size + len(hidden)) + box[4:] + hidden
        elif kind == b"mdat":
            box = box[:8] + bytes(size - 8)
        out += box
    return bytes(out)


def test_html_hidden_inside_an_mdat_is_rejected() -> None:
    assert "not referenced by the index" in rejected(_with_mdat(fixture("clip.mp4"), True), "video/mp4")


def test_a_zeroed_mdat_passes_structure_is_all_it_reads() -> None:
    # the one thing a structural check cannot see (docs/media.md): the pictures are not decoded
    assert verdict(_with_mdat(fixture("clip.mp4"), False), "video/mp4") == Media(
        "mp4", 0.5, 64, 64, "h264", None
    )


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (fixture("still.png"), "video/mp4", "not an ISO BMFF box at offset 0"),
        (fixture("clip.webm"), "video/mp4", "not an ISO BMFF box at offset 0"),
        (fixture("clip.mp4"), "video/webm", "EBML"),
        (fixture("still.jpg"), "image/png", "no PNG signature"),
        (b"", "video/mp4", "too small for ISO BMFF"),
    ],
)
def test_a_file_of_another_family_is_rejected(data: bytes, declared: str, reason: str) -> None:
    assert reason in rejected(data, declared)


def test_a_png_with_a_bad_crc_is_rejected() -> None:
    data = bytearray(fixture("still.png"))
    at = data.find(b"IDAT")
    data[at + 4 + struct.unpack(">I", data[at - 4 : at])[0]] ^= 0xFF
    assert "CRC mismatch in PNG chunk IDAT" in rejected(bytes(data), "image/png")


def test_a_webm_with_a_codec_webm_does_not_allow_is_rejected() -> None:
    data = fixture("clip.mkv").replace(b"matroska", b"webm\0\0\0\0", 1)  # H.264: Matroska's, not WebM's
    assert "codec V_MPEG4/ISO/AVC is not allowed in WebM" in rejected(data, "video/webm")


def test_a_type_without_a_walker_is_named() -> None:
    assert verdict(b"abc", "video/x-flv") == Rejection("no structural check for video/x-flv")


class Counting:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []

    def read(self, offset: int, n: int) -> bytes:
        self.reads.append((offset, n))
        return self.data[offset : offset + n]


@pytest.mark.parametrize("mib", [1, 64])
@pytest.mark.parametrize("moov_first", [True, False], ids=["faststart", "moov at the end"])
def test_reads_are_bounded_whatever_the_size(mib: int, moov_first: bool) -> None:
    data = mp4(bytes(mib << 20), seconds=30)
    if not moov_first:  # ftyp, mdat, moov (its one chunk offset moved with the mdat)
        (_, _, ftyp), (_, moov_at, moov_size), (_, mdat_at, _) = _top_boxes(data)
        moov = bytearray(data[moov_at : moov_at + moov_size])
        stco = moov.find(b"stco") + 12
        moov[stco : stco + 4] = struct.pack(">I", ftyp + 8)
        data = data[:ftyp] + data[mdat_at:] + bytes(moov)
    source = Counting(data)
    assert check(source, len(data), "video/mp4") == Media("mp4", 30.0, 160, 120, "h264", None)
    assert len(source.reads) <= 3 and sum(n for _, n in source.reads) <= 320 * 1024


def test_a_budget_too_small_rejects_instead_of_reading_on() -> None:
    data = fixture("webm_live_vp8_opus.webm")
    found = check(BytesSource(data), len(data), "video/webm", Budget(max_requests=1))
    assert isinstance(found, Rejection) and "more than 1 reads" in found.reason


@mock_aws
def test_the_stored_object_is_read_by_ranges_pinned_to_its_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a versioned bucket holding a clip (in process: not the running stack's emulator)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="media-walk")
    client.put_bucket_versioning(Bucket="media-walk", VersioningConfiguration={"Status": "Enabled"})
    storage = Storage("media-walk", client)
    client.put_object(Bucket="media-walk", Key="uploads/a/clip.mp4", Body=fixture("clip.mp4"))
    stored = storage.head("uploads/a/clip.mp4")
    assert stored is not None

    # when it is probed, then replaced and probed again as the version first checked
    first = media_probe.probe(storage, stored, "video/mp4")
    client.put_object(Bucket="media-walk", Key="uploads/a/clip.mp4", Body=fixture("still.png"))
    client.delete_object(Bucket="media-walk", Key="uploads/a/clip.mp4", VersionId=stored.version_id or "")
    again = media_probe.probe(storage, stored, "video/mp4")

    # then the first is the clip's media, the second finds the version checked gone: look again
    assert first == Media("mp4", 0.5, 64, 64, "h264", None)
    assert again is None
