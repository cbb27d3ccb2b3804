"""JPEG and PNG, read whole in one GET (up to the budget) and walked to the end: markers and entropy-coded
scans to the EOI (JPEG), every chunk's CRC and the image data's inflated size (PNG), nothing after."""

from __future__ import annotations

import struct
import zlib

from upload_service.uploads.media.reading import Found, Malformed, RangedReader

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_SEGMENTS = _SOF | {0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFE} | set(range(0xE0, 0xF0))
_MAX_EXTRA_JPEGS = 4
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
MAX_PIXELS = 100_000_000


def _whole(reader: RangedReader, signature: bytes, trailer: bytes, kind: str) -> bytes | None:
    """The whole file in one GET, or None for one larger than the budget, whose head and tail only
    are checked (two GETs): structure within is not, so the budget should fit the photos expected."""
    if reader.size <= reader.budget.max_bytes // 2:
        return reader.read_at(0, reader.size)
    if reader.size < 64 or reader.read_at(0, len(signature)) != signature:
        raise Malformed(f"no {kind} signature")
    if not reader.read_at(reader.size - 32, 32).rstrip(b"\0").endswith(trailer):
        raise Malformed(f"{kind} does not end with its trailer (truncated or followed by other data)")
    return None


def _skip_scan(data: bytes, pos: int) -> int:
    """The offset of the marker that ends the entropy-coded data starting at pos (FF00 and RSTn are
    part of it)."""
    n = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            raise Malformed("JPEG scan data runs to the end of the file without an EOI (truncated)")
        following = data[pos + 1]
        if following == 0xFF:
            pos += 1
        elif following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        else:
            return pos


def _jpeg_walk(data: bytes, found: Found) -> int:
    """Check one JPEG starting at data[0]; the offset just after its EOI."""
    if data[:3] != b"\xff\xd8\xff":
        raise Malformed("no JPEG SOI marker")
    pos, n, sof, scans = 2, len(data), None, 0
    while True:
        if pos >= n:
            raise Malformed("JPEG ends before its EOI (truncated)")
        if data[pos] != 0xFF:
            raise Malformed(f"expected a JPEG marker at {pos}, found 0x{data[pos]:02x}")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise Malformed("JPEG ends before its EOI (truncated)")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            if sof is None or scans == 0:
                raise Malformed("JPEG EOI before any frame or scan")
            return pos
        if marker not in _JPEG_SEGMENTS and marker != 0xDA:
            raise Malformed(f"invalid JPEG marker 0xFF{marker:02X} at {pos - 2}")
        if pos + 2 > n:
            raise Malformed("JPEG ends inside a segment (truncated)")
        length = struct.unpack_from(">H", data, pos)[0]
        if length < 2 or pos + length > n:
            raise Malformed(f"JPEG segment 0xFF{marker:02X} at {pos - 2} overruns the file (truncated)")
        if marker in _SOF:
            if sof is not None and marker != sof:
                raise Malformed("JPEG with several different frame (SOF) markers")
            _, height, width, components = struct.unpack_from(">BHHB", data, pos + 2)
            if length != 8 + 3 * components or not width or not height or components not in (1, 3, 4):
                raise Malformed("malformed JPEG frame header (SOF)")
            sof = marker
            found.width, found.height = width, height
        pos += length
        if marker == 0xDA:
            if sof is None:
                raise Malformed("JPEG scan (SOS) before its frame header (SOF)")
            scans += 1
            pos = _skip_scan(data, pos)


def check_jpeg(reader: RangedReader) -> Found:
    """A JPEG with nothing after its EOI but padding or further JPEGs (phones' multi-picture format)."""
    found = Found("jpeg")
    data = _whole(reader, b"\xff\xd8\xff", b"\xff\xd9", "JPEG")
    if data is None:
        return found
    end = _jpeg_walk(data, found)
    extra = 0
    while end < len(data):
        rest = data[end:]
        if not rest.strip(b"\0") or not rest.strip(b"\xff"):
            break
        if rest[:3] == b"\xff\xd8\xff" and extra < _MAX_EXTRA_JPEGS:
            end += _jpeg_walk(rest, Found("jpeg"))
            extra += 1
            continue
        raise Malformed(f"{len(rest)} bytes of data that is not JPEG after the EOI")
    return found


def _png_raw_size(width: int, height: int, depth: int, color: int, interlace: int) -> int:
    """The inflated size of the image data IHDR implies (a filter byte per row)."""
    bits = depth * _PNG_CHANNELS[color]
    if not interlace:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        pass_width, pass_height = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if pass_width and pass_height:
            total += pass_height * (1 + (pass_width * bits + 7) // 8)
    return total


class _PngImage:
    """The image data of a PNG, inflated chunk by chunk: only its size is kept."""

    def __init__(self, header: bytes, found: Found) -> None:
        width, height, depth, color, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
        if (
            not width
            or not height
            or color not in _PNG_CHANNELS
            or depth not in _PNG_DEPTHS[color]
            or compression
            or filtering
            or interlace > 1
        ):
            raise Malformed("invalid PNG IHDR values")
        if width * height > MAX_PIXELS:
            raise Malformed(f"PNG of {width}x{height} exceeds the pixel limit")
        found.width, found.height = width, height
        self.palette = color == 3
        self.expected = _png_raw_size(width, height, depth, color, interlace)
        self.inflater = zlib.decompressobj()
        self.inflated = 0

    def feed(self, data: bytes) -> None:
        while data:
            try:
                self.inflated += len(self.inflater.decompress(data, 1 << 20))
            except zlib.error as exc:
                raise Malformed(f"PNG image data does not inflate: {exc}") from exc
            if self.inflated > self.expected:
                raise Malformed("PNG image data inflates to more than its IHDR allows")
            data = self.inflater.unconsumed_tail

    def complete(self) -> bool:
        return self.inflater.eof and self.inflated == self.expected


def check_png(reader: RangedReader) -> Found:
    """A PNG: IHDR first, every chunk's CRC right, the image data complete, IEND last, nothing after."""
    found = Found("png")
    data = _whole(reader, _PNG_SIGNATURE, b"IEND\xaeB`\x82", "PNG")
    if data is None:
        header = reader.read_at(8, 25)
        if header[4:8] != b"IHDR":
            raise Malformed("the first PNG chunk is not IHDR")
        found.width, found.height = struct.unpack_from(">II", header, 8)
        return found
    if data[:8] != _PNG_SIGNATURE:
        raise Malformed("no PNG signature")
    pos, n = 8, len(data)
    image: _PngImage | None = None
    idat_seen = idat_done = palette_seen = False
    while True:
        if pos + 12 > n:
            raise Malformed("PNG ends before its IEND (truncated)")
        length, kind = struct.unpack_from(">I4s", data, pos)
        if length > 0x7FFFFFFF or pos + 12 + length > n:
            raise Malformed(f"PNG chunk {kind!r} at {pos} overruns the file (truncated)")
        if not all(65 <= c <= 90 or 97 <= c <= 122 for c in kind):
            raise Malformed(f"invalid PNG chunk type {kind!r} at {pos}")
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack_from(">I", data, pos + 8 + length)[0]:
            raise Malformed(f"CRC mismatch in PNG chunk {kind.decode()} at {pos}")
        name = kind.decode()
        pos += 12 + length
        if image is None:
            if name != "IHDR" or length != 13:
                raise Malformed("the first PNG chunk is not a 13-byte IHDR")
            image = _PngImage(body, found)
        elif name == "IDAT":
            if idat_done:
                raise Malformed("PNG IDAT chunks are not consecutive")
            idat_seen = True
            image.feed(body)
        elif name == "IEND":
            if length:
                raise Malformed("PNG IEND with data")
            break
        else:
            idat_done = idat_seen
            palette_seen = palette_seen or name == "PLTE"
            if name[0].isupper() and name != "PLTE":
                raise Malformed(f"unknown critical PNG chunk {name}")
    if image is None or not idat_seen:
        raise Malformed("PNG without image data (IDAT)")
    if image.palette and not palette_seen:
        raise Malformed("PNG palette image without a palette (PLTE)")
    if not image.complete():
        raise Malformed(f"PNG image data incomplete: inflated {image.inflated} of {image.expected} bytes")
    if pos != n:
        raise Malformed(f"{n - pos} bytes of trailing data after the PNG IEND")
    return found
