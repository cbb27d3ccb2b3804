"""Well-formed media files for the tests, of any size and duration: an MP4 whose index references
every byte of its mdat (the landing check reads structure, not pictures), and the small real clips in
tests/fixtures/media/."""

from __future__ import annotations

import struct
from pathlib import Path

MEDIA = Path(__file__).resolve().parent / "fixtures" / "media"


def fixture(name: str) -> bytes:
    return (MEDIA / name).read_bytes()


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, *parts: bytes) -> bytes:
    return _box(kind, b"\0\0\0\0", *parts)


def _moov(payload: int, seconds: float, width: int, height: int, offset: int) -> bytes:
    timescale = 1000
    ticks = round(seconds * timescale)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full(
        b"mvhd", struct.pack(">IIII", 0, 0, timescale, ticks), b"\0\1\0\0\1\0" + b"\0" * 10, matrix,
        b"\0" * 24, struct.pack(">I", 2),
    )  # fmt: skip
    tkhd = _full(
        b"tkhd", struct.pack(">IIIII", 0, 0, 1, 0, ticks), b"\0" * 8, b"\0\0\0\0\0\0\0\0", matrix,
        struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mdhd = _full(b"mdhd", struct.pack(">IIII", 0, 0, timescale, ticks), b"\x55\xc4\0\0")
    hdlr = _full(b"hdlr", b"\0\0\0\0vide", b"\0" * 12, b"video\0")
    avc1 = _box(
        b"avc1", b"\0" * 6, b"\0\1", b"\0" * 16, struct.pack(">HH", width, height), b"\0\x48\0\0\0\x48\0\0",
        b"\0" * 4, b"\0\1", b"\0" * 32, b"\0\x18\xff\xff",
    )  # fmt: skip
    stbl = _box(
        b"stbl",
        _full(b"stsd", struct.pack(">I", 1), avc1),
        _full(b"stts", struct.pack(">III", 1, 1, ticks)),
        _full(b"stsc", struct.pack(">IIII", 1, 1, 1, 1)),
        _full(b"stsz", struct.pack(">II", payload, 1)),
        _full(b"stco", struct.pack(">II", 1, offset)),
    )
    minf = _box(b"minf", _full(b"vmhd", b"\0" * 8), stbl)
    return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))


def mp4(payload: int | bytes = 64, seconds: float = 1.0, width: int = 160, height: int = 120) -> bytes:
    """A well-formed MP4 (moov first) whose one video sample is `payload` (bytes, or that many 'x')."""
    data = payload if isinstance(payload, bytes) else b"x" * payload
    ftyp = _box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
    size = len(_moov(len(data), seconds, width, height, 0))
    moov = _moov(len(data), seconds, width, height, len(ftyp) + size + 8)
    return ftyp + moov + _box(b"mdat", data)
