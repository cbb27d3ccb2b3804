"""The large-uploads bench's setup (benchmarks/multipart.py): its sizes, the local stack's parameters,
the file (a well-formed MP4 of seeded random bytes) and its parts, and the batches Uppy signs."""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
FILE_MIB = 256
PART_MIB = 16
IN_FLIGHT = 4
ROUNDS = 3
GOAL = 0.8
COUNT_PARTS = (1, 4, 16)
#: S3's smallest part (all but the last): what the calls are counted with.
COUNT_PART_BYTES = 5 * MIB
#: Part URLs the client asks for in one batch request (the route's own limit is 100).
BATCH = 100
STACK_PARAMETERS = (
    f"MaxUploadBytes={512 * MIB} UploadsPerToken=100 UploadRateLimitPerMinute=1000 RateLimitPerMinute=100000 "
    "MaxActiveTokensPerUser=100 UploadTargetTtlSeconds=900 CleanupSchedule='rate(1 day)'"
)
REFERENCE_BUCKET = "multipart-bench-reference"
FILE_NAME = "bench.mp4"
#: What starts a child's answer line on its stdout (anything else there is a log line).
ANSWER = "@bench-answer "


def paths() -> None:
    for path in (str(ROOT / "layers" / "shared"), str(ROOT), str(ROOT / "benchmarks")):
        if path not in sys.path:
            sys.path.insert(0, path)


def content(size: int, seed: int = 12) -> bytes:
    """A well-formed MP4 (the landing walks its structure) of seeded random samples: `size` in all."""
    paths()
    from tests.media_files import mp4

    return mp4(random.Random(seed).randbytes(max(0, size - len(mp4(b"")))))


def parts_of(data: bytes, part_bytes: int) -> list[bytes]:
    return [data[start : start + part_bytes] for start in range(0, len(data), part_bytes)]


def batches(count: int) -> list[str]:
    return [
        ",".join(str(n) for n in range(first, min(first + BATCH, count + 1)))
        for first in range(1, count + 1, BATCH)
    ]
