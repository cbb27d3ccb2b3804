"""Request bodies read as streams: `Content-Length` or chunked transfer coding, and a
multipart/form-data parser that writes file parts to disk as they arrive.

A chunk can be 128 MiB (api.video takes up to 200 MiB a request); the stdlib `email` parser would
hold all of it in memory, twice. Here memory stays about one read block, whatever the body's size.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Protocol

BLOCK = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_FIELD_BYTES = 64 * 1024


class Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


class MalformedBody(Exception):
    """The body is not what its headers announce; the connection cannot be trusted further."""


class BodyReader:
    """Reads exactly the request body from the connection, whichever way its length is given."""

    def __init__(self, stream: Stream, content_length: str | None, transfer_encoding: str | None) -> None:
        self._stream = stream
        self.chunked = (transfer_encoding or "").strip().lower() == "chunked"
        declared = (content_length or "0").strip()
        if not self.chunked and not (declared.isascii() and declared.isdigit()):
            raise MalformedBody(f"Content-Length {declared!r}")
        self._left = 0 if self.chunked else int(declared)  # in the body, or in the current chunk
        self._done = not self.chunked and self._left == 0
        self.bytes_read = 0

    def read(self, size: int = BLOCK) -> bytes:
        """Up to `size` bytes; b"" once the body is over."""
        if self._done:
            return b""
        if self.chunked and self._left == 0 and not self._next_chunk():
            return b""
        data = self._stream.read(min(size, self._left))
        if not data:
            raise MalformedBody("the connection closed inside the body")
        self._left -= len(data)
        self.bytes_read += len(data)
        if self._left == 0 and not self.chunked:
            self._done = True
        elif self._left == 0:
            self._expect(b"\r\n")
        return data

    def read_all(self, limit: int) -> bytes:
        data = bytearray()
        while block := self.read():
            data += block
            if len(data) > limit:
                raise MalformedBody(f"body over {limit} bytes")
        return bytes(data)

    def drain(self) -> None:
        while self.read():
            pass

    def _next_chunk(self) -> bool:
        line = self._stream.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise MalformedBody(f"chunk size line {line[:40]!r}") from None
        if size == 0:
            while self._stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._done = True
            return False
        self._left = size
        return True

    def _expect(self, marker: bytes) -> None:
        if self._stream.read(len(marker)) != marker:
            raise MalformedBody("chunk not followed by CRLF")


@dataclass
class FilePart:
    """A file field, spooled to `path`."""

    field: str
    filename: str | None
    path: Path
    size: int


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)

    def discard(self) -> None:
        for part in self.files:
            part.path.unlink(missing_ok=True)


def boundary_of(content_type: str | None) -> bytes | None:
    """The boundary of a `multipart/form-data` Content-Type, or None for any other type."""
    message = Message()
    message["content-type"] = content_type or ""
    boundary = message.get_param("boundary")
    if message.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        return None
    return boundary.encode("latin-1")


def parse_form(read: Callable[[int], bytes], boundary: bytes, spool_dir: Path) -> Form:
    """Fields in memory (small), files on disk; MalformedBody if the body breaks the format."""
    scanner = _Scanner(read)
    form = Form()
    try:
        scanner.read_until(b"--" + boundary, limit=MAX_FIELD_BYTES)  # the preamble, ignored
        separator = b"\r\n--" + boundary
        while (after := scanner.take(2)) != b"--":
            if after != b"\r\n":
                raise MalformedBody("a boundary followed by neither CRLF nor --")
            name, filename = _disposition(scanner.read_headers())
            if filename is None:
                form.fields[name] = scanner.read_until(separator, MAX_FIELD_BYTES).decode("utf-8", "replace")
            else:
                form.files.append(_spool(scanner, separator, name, filename, spool_dir))
        return form
    except BaseException:
        form.discard()
        raise


def _spool(scanner: _Scanner, separator: bytes, name: str, filename: str, spool_dir: Path) -> FilePart:
    handle, path = tempfile.mkstemp(dir=spool_dir, suffix=".part")
    with os.fdopen(handle, "wb", buffering=0) as sink:
        try:
            size = scanner.stream_until(separator, sink.write)
        except BaseException:
            Path(path).unlink(missing_ok=True)
            raise
    return FilePart(name, filename or None, Path(path), size)


def _disposition(headers: bytes) -> tuple[str, str | None]:
    message = Message()
    for line in headers.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip():
            message[key.strip()] = value.strip()
    name = message.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        raise MalformedBody("a part without a form field name")
    return name, message.get_filename()


class _Scanner:
    """Finds markers in a stream, keeping only a block and a marker's length buffered."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._buffer = b""

    def take(self, count: int) -> bytes:
        while len(self._buffer) < count and self._fill():
            pass
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def read_headers(self) -> bytes:
        while len(self._buffer) < 2 and self._fill():
            pass
        if self._buffer.startswith(b"\r\n"):  # a part with no headers at all
            self._buffer = self._buffer[2:]
            return b""
        return self.read_until(b"\r\n\r\n", MAX_HEADER_BYTES)

    def read_until(self, marker: bytes, limit: int) -> bytes:
        collected = bytearray()

        def keep(data: memoryview) -> None:
            collected.extend(data)
            if len(collected) > limit:
                raise MalformedBody(f"a field over {limit} bytes")

        self.stream_until(marker, keep)
        return bytes(collected)

    def stream_until(self, marker: bytes, sink: Callable[[memoryview], object]) -> int:
        """Everything up to `marker` goes to `sink`; the marker is consumed. Returns the bytes sunk."""
        sunk = 0
        while True:
            found = self._buffer.find(marker)
            if found >= 0:
                sink(memoryview(self._buffer)[:found])
                self._buffer = self._buffer[found + len(marker) :]
                return sunk + found
            safe = len(self._buffer) - (len(marker) - 1)  # a marker may straddle the next read
            if safe > 0:
                sink(memoryview(self._buffer)[:safe])
                sunk += safe
                self._buffer = self._buffer[safe:]
            if not self._fill():
                raise MalformedBody("the body ended before its closing boundary")

    def _fill(self) -> bool:
        block = self._read(BLOCK)
        self._buffer += block
        return bool(block)
