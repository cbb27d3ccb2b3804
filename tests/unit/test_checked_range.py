"""The forwarder's checksum check (`video_platform.CheckedRange`): bytes hashed once, in order, however
often a retried request reads them again; what was never streamed read before the check."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import pytest

from upload_service.forwarding.video_platform import CheckedRange, ChecksumMismatch, StoredRange

DATA = bytes(range(256)) * 40


class Ranges(StoredRange):
    """The file's bytes from memory, counting what is read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(storage=None, key="media/u/1/f.mp4", size=len(data))  # type: ignore[arg-type]
        self.data = data
        self.read_ranges: list[tuple[int, int]] = []

    def open_range(self, first: int, last: int) -> Any:
        self.read_ranges.append((first, last))
        return io.BytesIO(self.data[first : last + 1])


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def read_all(stream: Any, block: int = 1000) -> None:
    while stream.read(block):
        pass


def test_bytes_read_again_by_a_retry_are_hashed_once() -> None:
    source = Ranges(DATA)
    checked = CheckedRange(source, sha256(DATA))
    half = len(DATA) // 2
    partly = checked.open_range(0, half - 1)
    partly.read(300)  # a request cut short, then resent from its start
    read_all(checked.open_range(0, half - 1))
    read_all(checked.open_range(half, len(DATA) - 1))

    checked.verify()  # nothing left to read

    assert source.read_ranges == [(0, half - 1), (0, half - 1), (half, len(DATA) - 1)]


def test_what_was_not_streamed_is_read_before_the_check() -> None:
    """A resumed forward streams only its last chunks: the check reads the rest first."""
    source = Ranges(DATA)
    checked = CheckedRange(source, sha256(DATA))
    read_all(checked.open_range(5000, len(DATA) - 1))  # bytes past a gap: not hashable yet

    checked.verify()

    assert source.read_ranges[-1] == (0, len(DATA) - 1)


@pytest.mark.parametrize("at", [0, len(DATA) // 2, len(DATA) - 1])
def test_one_byte_changed_anywhere_is_a_mismatch(at: int) -> None:
    changed = bytearray(DATA)
    changed[at] ^= 0x80
    checked = CheckedRange(Ranges(bytes(changed)), sha256(DATA))
    read_all(checked.open_range(0, len(DATA) // 3))

    with pytest.raises(ChecksumMismatch, match="checksumSha256"):
        checked.verify()
