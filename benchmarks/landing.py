"""What reading a landed file's structure adds to the landing (uploads/landing.py), against the
emulator: well-formed MP4s of 1 MiB, 100 MiB and 1 GiB (each with its moov first, and with its moov
last, the worst case: the walker must jump over the whole mdat), stored in a versioned bucket. For
each, the cheap check alone (one ranged GET of HEAD_BYTES, then the signature sniff) next to the
structure probe that follows it (`uploads.media.probe.probe`, walking from those bytes), the probe's
GETs and bytes counted by a botocore hook on the S3 client, medians of `ROUNDS`.

Goal: the bytes read do not grow with the file's size, and the probe adds under 100 ms per file.

    .venv/bin/python benchmarks/landing.py   # this table alone (make bench prints it too)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
SIZES_MIB = (1, 100, 1024)
ROUNDS = 7
#: Files at least this large are written in parts (streamed), never held whole in memory.
PART_BYTES = 64 * MIB
BUCKET = "landing-bench"
GOAL_MS = 100
TITLE = (
    f"Media structure at landing, against the emulator (median of {ROUNDS}; cheap: the 64 KiB read and"
    " sniff alone; probe: the structure walk after it; goal: probe bytes constant in the size,"
    f" probe under {GOAL_MS} ms)"
)


def _paths() -> None:
    for path in (str(ROOT / "layers" / "shared"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def mp4_stream(size: int, moov_last: bool) -> Iterator[bytes]:
    """A well-formed MP4 of `size` bytes in all, as tests/media_files.py builds them (one video sample
    that is the whole mdat), yielded piece by piece: its payload is never in memory whole."""
    from tests.media_files import _box, _moov

    ftyp = _box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
    moov_size = len(_moov(0, 1.0, 160, 120, 0))
    payload = size - len(ftyp) - moov_size - 8
    if moov_last:
        head, tail = ftyp, _moov(payload, 1.0, 160, 120, len(ftyp) + 8)
    else:
        head, tail = ftyp + _moov(payload, 1.0, 160, 120, len(ftyp) + moov_size + 8), b""
    yield head + (8 + payload).to_bytes(4, "big") + b"mdat"
    chunk = b"x" * (8 * MIB)
    for start in range(0, payload, len(chunk)):
        yield chunk[: min(len(chunk), payload - start)]
    if tail:
        yield tail


def _parts(pieces: Iterator[bytes], part_bytes: int) -> Iterator[bytes]:
    pending = bytearray()
    for piece in pieces:
        pending += piece
        while len(pending) >= part_bytes:
            yield bytes(pending[:part_bytes])
            del pending[:part_bytes]
    if pending:
        yield bytes(pending)


def store(s3: Any, key: str, size: int, moov_last: bool) -> None:
    """The file into the bucket: one PutObject when small, else a multipart upload of streamed parts."""
    if size < PART_BYTES:
        body = b"".join(mp4_stream(size, moov_last))
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="video/mp4")
        return
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ContentType="video/mp4")["UploadId"]
    done = []
    for number, part in enumerate(_parts(mp4_stream(size, moov_last), PART_BYTES), start=1):
        answer = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=part)
        done.append({"PartNumber": number, "ETag": answer["ETag"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": done})


def measure(sizes_mib: tuple[int, ...] = SIZES_MIB, rounds: int = ROUNDS) -> list[dict[str, Any]]:
    _paths()
    from local_stack.credentials import FUNCTIONS
    from local_stack.emulator import Emulator

    os.environ.update(FUNCTIONS.environment(), AWS_DEFAULT_REGION="us-east-1")  # as the functions'
    emulator = Emulator(port=0)
    emulator.start()
    os.environ.update(AWS_ENDPOINT_URL=emulator.endpoint, BUCKET_NAME=BUCKET)
    try:
        return _measure(sizes_mib, rounds)
    finally:
        emulator.stop()


def _measure(sizes_mib: tuple[int, ...], rounds: int) -> list[dict[str, Any]]:
    from upload_service.core import aws
    from upload_service.core.records import Media
    from upload_service.core.storage import Storage
    from upload_service.uploads.content import SNIFF_BYTES, sniff
    from upload_service.uploads.media.probe import HEAD_BYTES, probe

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    gets = {"n": 0, "bytes": 0}

    def counted(parsed: dict[str, Any], **_: Any) -> None:  # after-call.s3.GetObject
        gets["n"] += 1
        gets["bytes"] += int(parsed.get("ContentLength", 0))

    s3.meta.events.register("after-call.s3.GetObject", counted)
    storage = Storage(BUCKET)
    rows = []
    for size_mib in sizes_mib:
        for moov_last in (False, True):
            key = f"uploads/{size_mib}-{'last' if moov_last else 'first'}/bench.mp4"
            store(aws.copy_client(), key, size_mib * MIB, moov_last)  # long calls: its timeouts
            stored = storage.head(key)
            assert stored is not None and stored.size == size_mib * MIB, key
            cheap_s, probe_s, seen = [], [], set()
            for _ in range(rounds):
                gets.update(n=0, bytes=0)
                started = time.perf_counter()
                head = storage.read_start(stored, HEAD_BYTES)
                assert head is not None and sniff(head[:SNIFF_BYTES], "video/mp4").agrees, key
                read = time.perf_counter()
                cheap = (gets["n"], gets["bytes"])
                media = probe(storage, stored, "video/mp4", head)
                probe_s.append(time.perf_counter() - read)
                cheap_s.append(read - started)
                assert isinstance(media, Media), f"{key}: {media}"
                seen.add((gets["n"] - cheap[0], gets["bytes"] - cheap[1]))
            assert len(seen) == 1, f"{key}: reads differ between rounds: {seen}"
            (probe_gets, probe_bytes), cheap_ms = seen.pop(), statistics.median(cheap_s) * 1000
            probe_ms = statistics.median(probe_s) * 1000
            rows.append(
                {
                    "file": f"{size_mib} MiB, moov {'last' if moov_last else 'first'}",
                    "cheap_ms": round(cheap_ms, 1),
                    "cheap_GETs": cheap[0],
                    "cheap_KiB": round(cheap[1] / 1024, 1),
                    "probe_ms": round(probe_ms, 1),
                    "probe_GETs": probe_gets,
                    "probe_KiB": round(probe_bytes / 1024, 1),
                    "ratio": round((cheap_ms + probe_ms) / cheap_ms, 2),
                    "goal": f"probe < {GOAL_MS} ms, KiB constant",
                }
            )
            s3.delete_object(Bucket=BUCKET, Key=key, VersionId=stored.version_id)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tables import table

    sizes = tuple(int(n) for n in os.environ.get("LANDING_SIZES_MIB", "").split(",") if n) or SIZES_MIB
    print(table(TITLE, measure(sizes, int(os.environ.get("LANDING_ROUNDS", ROUNDS)))))
