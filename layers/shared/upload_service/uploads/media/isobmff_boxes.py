"""ISO BMFF (MP4, QuickTime) boxes in memory: children that must tile their parent, a track's chunks
from its sample tables, its codec, and the fragments at the end of a fragmented file."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from itertools import accumulate

from upload_service.uploads.media.reading import Malformed

Span = tuple[int, int]
Boxes = dict[str, list[Span]]

_VIDEO_4CC = {
    "avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc", "dvh1": "hevc", "dvhe": "hevc",
    "vp08": "vp8", "vp09": "vp9", "av01": "av1", "mp4v": "mpeg4", "jpeg": "mjpeg", "mjpa": "mjpeg",
    "apch": "prores", "apcn": "prores", "apcs": "prores", "apco": "prores", "ap4h": "prores",
    "s263": "h263", "encv": "encrypted",
}  # fmt: skip
_AUDIO_4CC = {
    "mp4a": "aac", "Opus": "opus", "fLaC": "flac", "ac-3": "ac3", "ec-3": "eac3", "alac": "alac",
    "lpcm": "pcm", "sowt": "pcm", "twos": "pcm", "in24": "pcm", "fl32": "pcm", ".mp3": "mp3",
    "ulaw": "pcm_mulaw", "alaw": "pcm_alaw", "samr": "amr_nb", "sawb": "amr_wb", "enca": "encrypted",
}  # fmt: skip
_MP4A_OBJECT_TYPES = {
    0x40: "aac", 0x66: "aac", 0x67: "aac", 0x68: "aac", 0x69: "mp3", 0x6B: "mp3", 0xA5: "ac3",
    0xA6: "eac3", 0xDD: "vorbis", 0xAD: "opus",
}  # fmt: skip
_QT_PCM = {b"sowt", b"twos", b"raw ", b"in24", b"in32", b"fl32", b"fl64", b"lpcm", b"NONE"}
FRAGMENT_TYPES = {
    b"moof",
    b"mdat",
    b"mfra",
    b"sidx",
    b"styp",
    b"emsg",
    b"prft",
    b"free",
    b"skip",
    b"uuid",
    b"meta",
}


def children(buf: bytes, start: int, end: int, where: str) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, end) of the boxes in buf[start:end], which they must tile."""
    off = start
    while off < end:
        if end - off < 8:
            if not buf[off:end].strip(b"\0"):  # QuickTime: a 4-byte zero terminator
                return
            raise Malformed(f"{where}: {end - off} stray bytes at the end")
        size, kind = struct.unpack_from(">I4s", buf, off)
        header = 8
        if size == 1:
            if end - off < 16:
                raise Malformed(f"{where}: truncated 64-bit box header")
            size, header = struct.unpack_from(">Q", buf, off + 8)[0], 16
        elif size == 0:
            size = end - off
        if size < header or off + size > end:
            raise Malformed(f"{where}: box {kind!r} of {size} bytes does not fit its parent")
        yield kind.decode("latin-1"), off + header, off + size
        off += size


def boxes(buf: bytes, span: Span, where: str) -> Boxes:
    """The children of buf[span], by type."""
    found: Boxes = {}
    for kind, start, end in children(buf, span[0], span[1], where):
        found.setdefault(kind, []).append((start, end))
    return found


def one(found: Boxes, name: str, where: str) -> Span:
    if not found.get(name):
        raise Malformed(f"{where}: missing '{name}'")
    return found[name][0]


def _count(m: bytes, table: Boxes, name: str, entry: int, where: str) -> tuple[int, int]:
    """(entries, where they start) of a full box with a 32-bit entry count, checked to fit."""
    start, end = one(table, name, where)
    n = struct.unpack_from(">I", m, start + 4)[0]
    if end - (start + 8) < entry * n:
        raise Malformed(f"{where}: {name} shorter than its entry count")
    return n, start + 8


def _pcm_frame_bytes(m: bytes, table: Boxes) -> int:
    """Classic QuickTime PCM says a sample of 1 byte meaning one frame: the real bytes per frame."""
    start, end = table["stsd"][0]
    entry = start + 8
    if end - entry < 36 or m[entry + 4 : entry + 8] not in _QT_PCM:
        return 1
    version = struct.unpack_from(">H", m, entry + 16)[0]
    if version == 1 and end - entry >= 52:
        return int(struct.unpack_from(">I", m, entry + 44)[0]) or 1
    if version == 0:
        channels, bits = struct.unpack_from(">HH", m, entry + 24)
        return max(1, int(channels * bits) // 8)
    return 1


def _offsets(m: bytes, table: Boxes, where: str) -> array[int]:
    if "stco" in table:
        n, at = _count(m, table, "stco", 4, where)
        offsets = array("I", m[at : at + 4 * n])
    elif "co64" in table:
        n, at = _count(m, table, "co64", 8, where)
        offsets = array("Q", m[at : at + 8 * n])
    else:
        raise Malformed(f"{where}: missing stco/co64")
    offsets.byteswap()  # big-endian on disk, little-endian hosts (Lambda's)
    return offsets


def track_chunks(m: bytes, table: Boxes, where: str) -> list[tuple[int, int]] | None:
    """(offset, length) of every chunk of a track, from stco/co64, stsc and stsz, which must agree;
    None for compact sizes (stz2, rare: not checked)."""
    if "stsz" not in table:
        if "stz2" in table:
            return None
        raise Malformed(f"{where}: missing stsz")
    start, end = table["stsz"][0]
    sample_size, count = struct.unpack_from(">II", m, start + 4)
    sizes: array[int] | None = None
    if sample_size == 0:
        if end - (start + 12) < 4 * count:
            raise Malformed(f"{where}: stsz shorter than its sample count")
        sizes = array("I", m[start + 12 : start + 12 + 4 * count])
        sizes.byteswap()
    elif sample_size == 1:
        sample_size = _pcm_frame_bytes(m, table)
    offsets = _offsets(m, table, where)
    n, at = _count(m, table, "stsc", 12, where)
    runs = [struct.unpack_from(">II", m, at + 12 * i) for i in range(n)]
    n, at = _count(m, table, "stts", 8, where)
    timed = sum(struct.unpack_from(">I", m, at + 8 * i)[0] for i in range(n))
    if timed != count:
        raise Malformed(f"{where}: stts covers {timed} samples, stsz has {count}")
    if runs and runs[0][0] != 1:
        raise Malformed(f"{where}: stsc does not start at chunk 1")
    spans, total = [], 0
    for i, (first, per_chunk) in enumerate(runs):
        last = runs[i + 1][0] - 1 if i + 1 < len(runs) else len(offsets)
        if first < 1 or last < first or last > len(offsets) or per_chunk == 0:
            raise Malformed(f"{where}: stsc runs inconsistent with {len(offsets)} chunks")
        spans.append((first - 1, last, per_chunk, total))
        total += per_chunk * (last - first + 1)
    if total != count:
        raise Malformed(f"{where}: chunks hold {total} samples, stsz has {count}")
    prefix = [0, *accumulate(sizes)] if sizes is not None else None
    chunks: list[tuple[int, int]] = []
    for c0, c1, per_chunk, s0 in spans:
        if prefix is None:
            lengths = [per_chunk * sample_size] * (c1 - c0)
        else:
            steps = range(s0, s0 + per_chunk * (c1 - c0), per_chunk)
            lengths = [prefix[k + per_chunk] - prefix[k] for k in steps]
        chunks.extend(zip(offsets[c0:c1], lengths, strict=True))
    return chunks


def _descriptor_end(m: bytes, p: int) -> int:
    """Skip an MPEG-4 descriptor's tag and variable-length size."""
    p += 1
    while m[p] & 0x80:
        p += 1
    return p + 1


def _mp4a_codec(m: bytes, start: int, end: int) -> str:
    """What an mp4a entry holds, from its esds descriptor (AAC, MP3, ...)."""
    i = m.find(b"esds", start, end)
    if i <= 0:
        return "aac"
    p = i + 8
    try:
        if m[p] != 0x03:  # ES_Descriptor
            return "aac"
        p = _descriptor_end(m, p)
        flags = m[p + 2]
        p += 3
        p += 2 if flags & 0x80 else 0
        p += 1 + m[p] if flags & 0x40 else 0
        p += 2 if flags & 0x20 else 0
        if m[p] != 0x04:  # DecoderConfigDescriptor
            return "aac"
        p = _descriptor_end(m, p)
        return _MP4A_OBJECT_TYPES.get(m[p], f"mp4a/0x{m[p]:02x}")
    except IndexError as exc:
        raise Malformed("truncated esds") from exc


def sample_entry(m: bytes, stsd: Span, handler: str) -> tuple[str, int | None, int | None]:
    """(codec, width, height) of a track's first sample entry."""
    start, end = stsd
    if end - start < 16 or struct.unpack_from(">I", m, start + 4)[0] < 1:
        raise Malformed("stsd without sample entries")
    size, raw = struct.unpack_from(">I4s", m, start + 8)
    e0, e1 = start + 8, min(start + 8 + size, end)
    fourcc = raw.decode("latin-1")
    if handler == "vide" and e1 - e0 >= 36:
        width, height = struct.unpack_from(">HH", m, e0 + 32)
        return _VIDEO_4CC.get(fourcc, fourcc), width, height
    if fourcc == "mp4a":
        return _mp4a_codec(m, e0, e1), None, None
    return _AUDIO_4CC.get(fourcc, fourcc), None, None


def _find_all(buf: bytes, pattern: bytes) -> Iterator[int]:
    i = buf.find(pattern)
    while i != -1:
        yield i
        i = buf.find(pattern, i + 1)


def tail_chain(buf: bytes, aligned: bool) -> list[tuple[str, int, int]] | None:
    """A chain of fragment-level boxes in this tail window that ends exactly at its end, or None.
    It starts at 0 if that is a known boundary (`aligned`), else wherever a fragment box type shows."""
    if aligned:
        candidates = [0]
    else:
        found = {
            i - 4 for kind in (b"moof", b"mfra", b"sidx", b"styp") for i in _find_all(buf, kind) if i >= 4
        }
        candidates = sorted(found)
    for pos in candidates[:4000]:
        chain = []
        while pos + 8 <= len(buf):
            size, kind = struct.unpack_from(">I4s", buf, pos)
            if kind not in FRAGMENT_TYPES:
                break
            if size == 1:
                if pos + 16 > len(buf):
                    break
                size = struct.unpack_from(">Q", buf, pos + 8)[0]
            elif size == 0:
                size = len(buf) - pos
            if size < 8:
                break
            chain.append((kind.decode(), pos, pos + size))
            pos += size
        if chain and pos == len(buf):
            return chain
    return None


def _fragment_end(buf: bytes, traf: Boxes) -> tuple[int, int]:
    """(track id, end time in its timescale) of one track fragment (tfhd, tfdt, trun)."""
    header = traf["tfhd"][0][0]
    flags = int.from_bytes(buf[header + 1 : header + 4], "big")
    track_id = struct.unpack_from(">I", buf, header + 4)[0]
    p = header + 8 + (8 if flags & 1 else 0) + (4 if flags & 2 else 0)
    default_duration = struct.unpack_from(">I", buf, p)[0] if flags & 8 else 0
    base = 0
    if "tfdt" in traf:
        at = traf["tfdt"][0][0]
        base = struct.unpack_from(">Q" if buf[at] == 1 else ">I", buf, at + 4)[0]
    total = 0
    for at, _ in traf.get("trun", []):
        run_flags = int.from_bytes(buf[at + 1 : at + 4], "big")
        n = struct.unpack_from(">I", buf, at + 4)[0]
        q = at + 8 + (4 if run_flags & 1 else 0) + (4 if run_flags & 4 else 0)
        per = 4 * bin(run_flags & 0xF00).count("1")
        if run_flags & 0x100:
            total += sum(struct.unpack_from(">I", buf, q + i * per)[0] for i in range(n))
        else:
            total += n * default_duration
    return track_id, base + total


def fragment_end_seconds(buf: bytes, moof: Span, timescales: dict[int, int]) -> float | None:
    """When the fragment in buf[moof] (the whole box) ends, in seconds; None if it cannot be read."""
    ends = []
    try:
        for kind, start, end in children(buf, moof[0] + 8, moof[1], "moof"):
            if kind == "traf":
                track_id, ticks = _fragment_end(buf, boxes(buf, (start, end), "traf"))
                if timescales.get(track_id):
                    ends.append(ticks / timescales[track_id])
    except (Malformed, KeyError, struct.error, IndexError):
        return None
    return max(ends) if ends else None
