"""ISO BMFF (MP4, QuickTime): walk the top-level boxes by their sizes, which must add up to the file's
(truncation, appended data and polyglots such as `<!--ftypisom` fail here: '<!--' as a size is ~1 GB),
then read the whole moov wherever it is and check its index: every chunk inside an mdat, no overlaps,
at most 0.1% of the mdat unreferenced. A fragmented file's end is checked from a tail window instead.
Typically 1-2 GETs: the head, and the moov or the tail."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from upload_service.uploads.media.isobmff_boxes import (
    Boxes,
    Span,
    boxes,
    fragment_end_seconds,
    one,
    sample_entry,
    tail_chain,
    track_chunks,
)
from upload_service.uploads.media.reading import Found, Malformed, RangedReader, Window

HEAD = 64 * 1024
TAIL = 256 * 1024
MAX_TOP_BOXES = 64
MAX_UNREFERENCED = 0.001
_IMAGE_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"mif1",
    b"mif2",
    b"msf1",
    b"avif",
    b"avis",
    b"jpeg",
    b"avci",
}
_CLASSIC_QT_FIRST = {"moov", "mdat", "wide", "free", "skip", "pnot"}


@dataclass(frozen=True)
class _Top:
    kind: str
    offset: int
    header: int
    size: int

    @property
    def payload(self) -> Span:
        return self.offset + self.header, self.offset + self.size


@dataclass
class _Walk:
    """The top-level boxes, and for a fragmented file the tail window that ends it."""

    tops: list[_Top]
    tail: bytes | None = None
    chain: list[tuple[str, int, int]] | None = None


def _header(window: Window, off: int) -> _Top:
    size = window.size
    head = window.get(off, 16)
    if len(head) < 8:
        raise Malformed(f"truncated box header at {off} (the file ends at {size})")
    size32, raw = struct.unpack_from(">I4s", head)
    if not all(0x20 <= c < 0x7F for c in raw):
        raise Malformed(f"not an ISO BMFF box at offset {off}: {head[:8].hex()}")
    kind, header = raw.decode("ascii"), 8
    if size32 == 1:
        if len(head) < 16:
            raise Malformed(f"truncated 64-bit box header at {off}")
        box_size, header = struct.unpack_from(">Q", head, 8)[0], 16
    else:
        box_size = size - off if size32 == 0 else size32  # 0: "to the end of the file"
    if box_size < header:
        raise Malformed(f"box '{kind}' at {off} has an impossible size {box_size}")
    if off + box_size > size:
        raise Malformed(
            f"box '{kind}' at {off} claims {box_size} bytes but the file ends at {size} "
            f"({off + box_size - size} bytes missing: truncated, or not ISO BMFF)"
        )
    return _Top(kind, off, header, box_size)


def _walk(window: Window) -> _Walk:
    size = window.size
    walk = _Walk([])
    off = 0
    while off < size:
        if any(top.kind == "moof" for top in walk.tops) and not window.has(off, 16):
            # Fragmented (Safari MediaRecorder, OBS): a GET per fragment header would be unbounded, so
            # the end is checked from a tail window: a chain of boxes must end exactly at EOF.
            start = max(off, size - TAIL)
            walk.tail = window.get(start, size - start)
            walk.chain = tail_chain(walk.tail, aligned=start == off)
            if walk.chain is None:
                raise Malformed("fragmented MP4: the end of the file is not on a box boundary (truncated)")
            return walk
        if len(walk.tops) >= MAX_TOP_BOXES:
            raise Malformed(f"more than {MAX_TOP_BOXES} top-level boxes")
        top = _header(window, off)
        walk.tops.append(top)
        if top.kind == "moov":
            window.get(off, top.size + 16)  # the index and the next header, in the same GET
        off += top.size
    return walk


def _container(window: Window, first: _Top, declared: str) -> str:
    if first.kind == "ftyp":
        start, end = first.payload
        ftyp = window.get(start, end - start)
        if len(ftyp) < 8 or (len(ftyp) - 8) % 4:
            raise Malformed("malformed ftyp")
        if ftyp[:4] in _IMAGE_BRANDS:
            raise Malformed(f"ftyp major brand {ftyp[:4]!r} is a still-image format (HEIF/AVIF)")
        return "mov" if ftyp[:4] == b"qt  " else "mp4"
    if declared == "video/quicktime" and first.kind in _CLASSIC_QT_FIRST:
        return "mov"  # classic QuickTime, without ftyp
    raise Malformed(f"the first box is '{first.kind}', not 'ftyp'")


def _tracks(m: bytes, moov: Boxes, found: Found, timescales: dict[int, int]) -> list[tuple[int, int]]:
    """Every track's codec and size into `found`, their timescales, and all their chunks."""
    chunks: list[tuple[int, int]] = []
    has_video = False
    for k, span in enumerate(moov.get("trak", [])):
        where = f"trak#{k}"
        trak = boxes(m, span, where)
        tkhd = one(trak, "tkhd", where)[0]
        wide = m[tkhd] == 1
        track_width, track_height = (
            v >> 16 for v in struct.unpack_from(">II", m, tkhd + (88 if wide else 76))
        )
        track_id = struct.unpack_from(">I", m, tkhd + (20 if wide else 12))[0]
        mdia = boxes(m, one(trak, "mdia", where), where + "/mdia")
        mdhd = one(mdia, "mdhd", where)[0]
        timescales[track_id] = struct.unpack_from(">I", m, mdhd + (20 if m[mdhd] == 1 else 12))[0]
        hdlr = one(mdia, "hdlr", where)[0]
        handler = m[hdlr + 8 : hdlr + 12].decode("latin-1")
        minf = boxes(m, one(mdia, "minf", where), where + "/minf")
        stbl = boxes(m, one(minf, "stbl", where), where + "/stbl")
        codec, width, height = sample_entry(m, one(stbl, "stsd", where), handler)
        if handler == "vide":
            has_video = True
            if found.video_codec is None:
                found.video_codec = codec
                found.width, found.height = (
                    (track_width, track_height) if track_width and track_height else (width, height)
                )
        elif handler == "soun" and found.audio_codec is None:
            found.audio_codec = codec
        chunks.extend(track_chunks(m, stbl, where) or [])
    if not has_video:
        raise Malformed("no video track")
    return chunks


def _check_coverage(chunks: list[tuple[int, int]], mdats: list[Span], fragmented: bool) -> None:
    """Every chunk inside an mdat, none overlapping, and (unfragmented) at most MAX_UNREFERENCED of
    the mdat bytes left out: room for a hidden payload."""
    chunks.sort()
    j, previous_end = 0, 0
    low, high = mdats[0]
    for offset, length in chunks:
        if offset < previous_end:
            raise Malformed(f"sample data overlaps at offset {offset}")
        if offset >= high:
            while j < len(mdats) and offset >= mdats[j][1]:
                j += 1
            low, high = mdats[j] if j < len(mdats) else (-1, -1)
        if offset < low or offset + length > high:
            raise Malformed(
                f"the index points at bytes {offset}..{offset + length} outside any mdat: "
                "media data missing (truncated) or index corrupt"
            )
        previous_end = offset + length
    referenced = sum(length for _, length in chunks)
    payload = sum(end - start for start, end in mdats)
    unreferenced = 1 - (referenced / payload if payload else 0.0)
    if unreferenced > MAX_UNREFERENCED and not fragmented:
        raise Malformed(
            f"{payload - referenced} bytes ({unreferenced:.1%}) of the mdat are not referenced by the "
            "index (room for a hidden payload)"
        )


def _last_fragment_seconds(window: Window, walk: _Walk, timescales: dict[int, int]) -> float | None:
    if walk.chain is None:
        last = [top for top in walk.tops if top.kind == "moof"][-1]
        return fragment_end_seconds(window.get(last.offset, last.size), (0, last.size), timescales)
    moofs = [(start, end) for kind, start, end in walk.chain if kind == "moof"]
    if not moofs or walk.tail is None:
        return None
    return fragment_end_seconds(walk.tail, moofs[-1], timescales)


def check_isobmff(reader: RangedReader, declared: str) -> Found:
    """A well-formed MP4 or QuickTime movie with a video track, and its facts."""
    if reader.size < 16:
        raise Malformed("too small for ISO BMFF")
    window = Window(reader, HEAD)
    walk = _walk(window)
    kinds = [top.kind for top in walk.tops]
    found = Found(_container(window, walk.tops[0], declared))
    if kinds.count("moov") != 1:
        raise Malformed(f"{kinds.count('moov')} moov boxes (exactly 1 needed)")
    mdats = [top.payload for top in walk.tops if top.kind == "mdat"]
    if not mdats:
        raise Malformed("no mdat box (no media data)")
    fragmented = "moof" in kinds
    moov_top = walk.tops[kinds.index("moov")]
    m = window.get(moov_top.offset, moov_top.size)
    moov = boxes(m, (moov_top.header, moov_top.size), "moov")
    mvhd = one(moov, "mvhd", "moov")[0]
    if m[mvhd] == 1:
        timescale, duration = struct.unpack_from(">IQ", m, mvhd + 20)
    else:
        timescale, duration = struct.unpack_from(">II", m, mvhd + 12)
    if not timescale:
        raise Malformed("mvhd timescale is 0")
    if duration and duration != 0xFFFFFFFF:
        found.duration_seconds = round(duration / timescale, 3)
    if not moov.get("trak"):
        raise Malformed("moov has no trak")
    timescales: dict[int, int] = {}
    chunks = _tracks(m, moov, found, timescales)
    if chunks:
        _check_coverage(chunks, mdats, fragmented)
    elif not fragmented:
        raise Malformed("the index references no samples")
    elif not found.duration_seconds:
        seconds = _last_fragment_seconds(window, walk, timescales)
        found.duration_seconds = round(seconds, 3) if seconds is not None else None
    return found
