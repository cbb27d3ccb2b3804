"""EBML (Matroska, WebM) elements in memory: variable-length integers, element headers, children that
must tile their parent, CRC-32 elements, and the chain of clusters and blocks at the end of a file."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from upload_service.uploads.media.reading import Malformed

EBML_ID, SEGMENT_ID, CLUSTER_ID, CUES_ID = 0x1A45DFA3, 0x18538067, 0x1F43B675, 0x1C53BB6B
TOP = {
    0x114D9B74: "SeekHead", 0x1549A966: "Info", 0x1654AE6B: "Tracks", CLUSTER_ID: "Cluster",
    CUES_ID: "Cues", 0x1043A770: "Chapters", 0x1254C367: "Tags", 0x1941A469: "Attachments",
    0xEC: "Void", 0xBF: "CRC-32",
}  # fmt: skip
CLUSTER_CHILDREN = {0xE7, 0xA3, 0xA0, 0xA7, 0xAB, 0x5854, 0xAF, 0xEC, 0xBF}
_MAX_CANDIDATES = 4000


class Short(Exception):
    """An element header runs past the bytes in memory."""


def vint(buf: bytes, pos: int, is_id: bool) -> tuple[int, int, bool]:
    """(value, length, unknown size) of the EBML variable-length integer at buf[pos]."""
    if pos >= len(buf):
        raise Short
    first = buf[pos]
    if first == 0:
        raise Malformed("invalid EBML variable-length integer (0x00)")
    length = 9 - first.bit_length()
    if pos + length > len(buf):
        raise Short
    value = first if is_id else first & ((1 << (8 - length)) - 1)
    for i in range(1, length):
        value = (value << 8) | buf[pos + i]
    return value, length, not is_id and value == (1 << (7 * length)) - 1


def header(buf: bytes, pos: int) -> tuple[int, int, int | None]:
    """(id, data offset, size or None when unknown) of the element at buf[pos]; Short if cut."""
    element, id_length, _ = vint(buf, pos, True)
    if id_length > 4:
        raise Malformed(f"EBML id longer than 4 bytes at {pos}")
    size, size_length, unknown = vint(buf, pos + id_length, False)
    return element, pos + id_length + size_length, None if unknown else size


def children(buf: bytes, start: int, end: int, where: str) -> Iterator[tuple[int, int, int]]:
    """(id, data start, end) of the elements in buf[start:end], which they must tile."""
    pos = start
    while pos < end:
        try:
            element, data, size = header(buf, pos)
        except Short as exc:
            raise Malformed(f"{where}: truncated element header") from exc
        if size is None or data + size > end:
            raise Malformed(f"{where}: element 0x{element:X} does not fit its parent")
        yield element, data, data + size
        pos = data + size


def uint(data: bytes) -> int:
    return int.from_bytes(data, "big")


def check_crc(body: bytes, where: str) -> None:
    """A CRC-32 child first in an element covers the rest of its data."""
    if (
        body[:2] == b"\xbf\x84"
        and len(body) >= 6
        and zlib.crc32(body[6:]) != int.from_bytes(body[2:6], "little")
    ):
        raise Malformed(f"{where}: CRC-32 mismatch")


class _Chain:
    """One attempt to walk from a candidate offset to the end: clusters descended into, their
    children stepped over, the latest block time noted."""

    def __init__(self, buf: bytes, tracks: set[int]) -> None:
        self.buf, self.tracks = buf, tracks
        self.blocks = 0
        self.cluster_time: int | None = None
        self.last: int | None = None

    def step(self, pos: int) -> int | None:
        """The offset after the element at pos, or None if it breaks the chain."""
        element, data, size = header(self.buf, pos)
        if element == CLUSTER_ID:
            self.cluster_time = None
            return data  # descend into clusters, of known size or not
        if element in TOP:
            return None if size is None else data + size
        if element not in CLUSTER_CHILDREN or size is None or data + size > len(self.buf):
            return None
        if element == 0xE7:  # the cluster's Timestamp
            self.cluster_time = uint(self.buf[data : data + size])
        elif element == 0xA3:  # SimpleBlock: its track must exist
            track, length, _ = vint(self.buf, data, False)
            if track not in self.tracks:
                return None
            self.blocks += 1
            if self.cluster_time is not None:
                relative = struct.unpack_from(">h", self.buf, data + length)[0]
                self.last = max(self.last or 0, self.cluster_time + relative)
        return data + size


def _candidates(buf: bytes, aligned: bool) -> list[int]:
    if aligned:
        return [0]
    found: set[int] = set()
    for pattern in (b"\x1f\x43\xb6\x75", b"\xa3"):
        i = buf.find(pattern)
        while i != -1 and len(found) < _MAX_CANDIDATES:
            found.add(i)
            i = buf.find(pattern, i + 1)
    return sorted(found)


def walk_tail(buf: bytes, base: int, end: int, tracks: set[int], aligned: bool) -> tuple[bool, int | None]:
    """Whether some chain of clusters and blocks in this tail window (at `base` in the file) lands
    exactly on `end`, and the latest block time seen (TimestampScale units). `aligned`: buf[0] is a
    known element boundary."""
    dead: set[int] = set()  # positions a chain already failed from: each is walked once
    for start in _candidates(buf, aligned):
        chain, pos, seen, ok = _Chain(buf, tracks), start, [], True
        try:
            while base + pos < end:
                if pos in dead:
                    ok = False
                    break
                seen.append(pos)
                following = chain.step(pos)
                if following is None:
                    ok = False
                    break
                pos = following
        except (Short, Malformed, struct.error):
            ok = False
        if ok and base + pos == end:
            if chain.blocks:
                return True, chain.last
            continue  # reached the end without a block: others through here may have some
        dead.update(seen)
    return False, None
