"""Bounded reading of one stored object: every byte a walker looks at goes through a `RangedReader`,
which counts the ranged GETs and bytes and stops at the budget, and a `Window` that remembers what was
fetched so that a walker asks for boxes by offset and pays one GET per miss."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

from upload_service.core.records import Media


class Malformed(Exception):
    """The file is not well formed for its declared family; the message is the reason."""


class BudgetExceeded(Malformed):
    """Checking the file would take more reads, bytes or time than a file is allowed."""


class Gone(Exception):
    """The object checked was replaced or deleted while it was being read."""


class Source(Protocol):
    """Where the bytes come from: `read(offset, n)` answers at most n bytes at offset."""

    def read(self, offset: int, n: int) -> bytes: ...


@dataclass(frozen=True)
class BytesSource:
    """Bytes in memory (tests, and files already read whole)."""

    data: bytes

    def read(self, offset: int, n: int) -> bytes:
        return self.data[offset : offset + n]


@dataclass(frozen=True)
class Budget:
    """What checking one file may cost, whatever its size."""

    max_bytes: int = 4 << 20
    max_requests: int = 16
    seconds: float = 10.0


@dataclass
class RangedReader:
    """A file of `size` bytes read by offset, within `budget`: each read is one ranged GET."""

    source: Source
    size: int
    budget: Budget = field(default_factory=Budget)
    head: bytes = b""
    requests: int = 0
    bytes_read: int = 0
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.head:  # read already (one GET, the landing's content check): counted, not read again
            self.requests, self.bytes_read = 1, len(self.head)

    def read_at(self, offset: int, n: int) -> bytes:
        """Up to n bytes at offset (short at the end of the file); raises BudgetExceeded."""
        n = max(0, min(n, self.size - offset))
        if offset < len(self.head):
            known = self.head[offset : offset + n]
            return known + self.read_at(offset + len(known), n - len(known)) if len(known) < n else known
        if n == 0:
            return b""
        if time.monotonic() - self.started > self.budget.seconds:
            raise BudgetExceeded(f"checking the file took longer than {self.budget.seconds:g} s")
        if self.requests + 1 > self.budget.max_requests:
            raise BudgetExceeded(f"checking the file needs more than {self.budget.max_requests} reads")
        if self.bytes_read + n > self.budget.max_bytes:
            raise BudgetExceeded(
                f"checking the file needs more than {self.budget.max_bytes} bytes "
                f"(read {self.bytes_read}, {n} more wanted at {offset})"
            )
        self.requests += 1
        self.bytes_read += n
        data = self.source.read(offset, n)
        if len(data) != n:
            raise Gone(f"asked for {n} bytes at {offset}, got {len(data)}")
        return data


class Window:
    """The parts of the file fetched so far. A miss fetches at least `min_fetch` bytes (one GET); a
    request that starts inside a fetched part and runs past it fetches only the rest."""

    def __init__(self, reader: RangedReader, min_fetch: int = 64 * 1024) -> None:
        self.reader = reader
        self.min_fetch = min_fetch
        self.chunks: list[tuple[int, bytes]] = []

    @property
    def size(self) -> int:
        return self.reader.size

    def has(self, offset: int, n: int) -> bool:
        """Whether [offset, offset + n) is in memory already (no GET needed)."""
        return any(start <= offset and offset + n <= start + len(data) for start, data in self.chunks)

    def get(self, offset: int, n: int) -> bytes:
        """The bytes at [offset, offset + n), short at the end of the file."""
        n = max(0, min(n, self.reader.size - offset))
        for index, (start, data) in enumerate(self.chunks):
            if start <= offset < start + len(data):
                if offset + n > start + len(data):
                    wanted = max(offset + n - start - len(data), self.min_fetch)
                    data += self.reader.read_at(start + len(data), wanted)
                    self.chunks[index] = (start, data)
                return data[offset - start : offset - start + n]
        data = self.reader.read_at(offset, max(n, self.min_fetch))
        self.chunks.append((offset, data))
        return data[:n]


@dataclass
class Found:
    """The media's facts as a walker finds them, one by one."""

    container: str
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None

    def media(self) -> Media:
        return Media(**asdict(self))
