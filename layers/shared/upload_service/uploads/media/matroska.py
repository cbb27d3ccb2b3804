"""Matroska and WebM: the EBML header (DocType webm or matroska), a Segment whose declared size ends
exactly at the end of the file (truncation and appended data fail here), its children walked in the
head; then SeekHead -> Cues -> the last cluster walked to the end, or, for live-written files without
Cues (MediaRecorder), a tail window whose chain of clusters and blocks must end exactly at EOF. 2-4 GETs."""

from __future__ import annotations

import struct

from upload_service.uploads.media.ebml import (
    CLUSTER_CHILDREN,
    CLUSTER_ID,
    CUES_ID,
    EBML_ID,
    SEGMENT_ID,
    TOP,
    Short,
    check_crc,
    children,
    header,
    uint,
    walk_tail,
)
from upload_service.uploads.media.reading import Found, Malformed, RangedReader, Window

HEAD = 64 * 1024
TAIL = 256 * 1024
MAX_WALK = 32
_CODECS = {
    "V_VP8": "vp8", "V_VP9": "vp9", "V_AV1": "av1", "V_MPEG4/ISO/AVC": "h264", "V_MPEGH/ISO/HEVC": "hevc",
    "V_MPEG4/ISO/ASP": "mpeg4", "V_MJPEG": "mjpeg", "V_PRORES": "prores", "V_THEORA": "theora",
    "A_OPUS": "opus", "A_VORBIS": "vorbis", "A_AAC": "aac", "A_AC3": "ac3", "A_EAC3": "eac3",
    "A_MPEG/L3": "mp3", "A_FLAC": "flac", "A_PCM/INT/LIT": "pcm",
}  # fmt: skip
_WEBM_CODECS = {"V_VP8", "V_VP9", "V_AV1", "A_VORBIS", "A_OPUS"}

Element = tuple[int, int, int]  # (header offset, data offset, end)


class _Segment:
    """One file's Segment, walked: the top-level elements found, the SeekHead's targets, the tracks."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.found: dict[str, list[Element]] = {}
        self.seek: dict[int, int] = {}
        self.tracks: set[int] = set()
        self.start = self.end = 0
        self.last_time: int | None = None

    def at(self, pos: int) -> tuple[int, int, int | None]:
        """(id, absolute data offset, size or None) of the element at pos."""
        try:
            element, data, size = header(self.window.get(pos, 12), 0)
        except Short as exc:
            raise Malformed(
                f"truncated element header at {pos} (the file ends at {self.window.size})"
            ) from exc
        return element, pos + data, size

    def open(self) -> str:
        """The DocType; sets where the Segment starts and ends, which must be the end of the file."""
        element, data, size = self.at(0)
        if element != EBML_ID:
            raise Malformed("no EBML header")
        if size is None or data + size > self.window.size:
            raise Malformed("the EBML header does not fit the file")
        body = self.window.get(data, size)
        doctype = None
        for child, start, end in children(body, 0, len(body), "EBML header"):
            if child == 0x4282:
                doctype = body[start:end].rstrip(b"\0").decode("ascii", "replace")
        if doctype not in ("webm", "matroska"):
            raise Malformed(f"EBML DocType {doctype!r} is not webm or matroska")
        element, self.start, size = self.at(data + size)
        if element != SEGMENT_ID:
            raise Malformed(f"expected a Segment after the EBML header, found 0x{element:X}")
        self.end = self.window.size if size is None else self.start + size
        if self.end > self.window.size:
            raise Malformed(
                f"the Segment ends at {self.end} but the file has {self.window.size} bytes (truncated)"
            )
        if self.end < self.window.size:
            raise Malformed(f"{self.window.size - self.end} bytes of trailing data after the Segment")
        return doctype

    def last_cluster(self) -> int | None:
        """Where the last cluster the Cues list starts (None without Cues)."""
        cues = self.seek.get(CUES_ID)
        if not cues or cues >= self.end:
            return None
        element, data, size = self.at(cues)
        if element != CUES_ID or size is None or data + size > self.end:
            raise Malformed("the SeekHead points at a bad Cues element")
        body = self.window.get(data, size)
        check_crc(body, "Cues")
        last = None
        for point, a1, b1 in children(body, 0, len(body), "Cues"):
            for positions, a2, b2 in children(body, a1, b1, "CuePoint") if point == 0xBB else ():
                for child, a3, b3 in children(body, a2, b2, "CueTrackPositions") if positions == 0xB7 else ():
                    if child == 0xF1:
                        target = self.start + uint(body[a3:b3])
                        if target >= self.end:
                            raise Malformed("the Cues point past the end of the file (truncated)")
                        last = max(last or 0, target)
        return last

    def cluster_end(self, data: int, walk_on: bool) -> int:
        """Where an unknown-size (live) cluster's blocks end: at a top-level id, or the head's end."""
        end = data
        while end < self.end and (end < HEAD or walk_on):
            element, child, size = self.at(end)
            if element in TOP:
                break
            if element not in CLUSTER_CHILDREN or size is None:
                raise Malformed(f"unexpected element 0x{element:X} at {end} inside a Cluster")
            if child + size > self.end:
                raise Malformed(f"a block at {end} runs past the end of the file (truncated)")
            end = child + size
        return end

    def note(self, name: str, data: int, end: int) -> None:
        """Read what the walk needs of SeekHead and Tracks; check the CRCs of those and Info."""
        if name not in ("SeekHead", "Tracks", "Info") or end - data > 1 << 20:
            return
        body = self.window.get(data, end - data)
        check_crc(body, name)
        for element, a, b in children(body, 0, len(body), name):
            if name == "SeekHead" and element == 0x4DBB:
                target = position = None
                for child, a2, b2 in children(body, a, b, "Seek"):
                    target = uint(body[a2:b2]) if child == 0x53AB else target
                    position = uint(body[a2:b2]) if child == 0x53AC else position
                if target is not None and position is not None:
                    self.seek[target] = self.start + position
            if name == "Tracks" and element == 0xAE:
                for child, a2, b2 in children(body, a, b, "TrackEntry"):
                    if child == 0xD7:
                        self.tracks.add(uint(body[a2:b2]))

    def walk(self) -> None:
        """The Segment's children one by one in the head; then the last cluster by the Cues, walked to
        the end, or the end checked from a tail window. O(1) GETs either way."""
        pos, jumped, after_jump = self.start, False, 0
        while pos < self.end:
            if pos >= HEAD and "Cluster" in self.found and not jumped:
                target = self.last_cluster()
                if not target:
                    self.check_tail(pos)
                    return
                jumped = True
                if target > pos:
                    if self.at(target)[0] != CLUSTER_ID:
                        raise Malformed("the Cues point at something that is not a Cluster")
                    pos = target
                continue
            after_jump += jumped
            if after_jump > MAX_WALK:
                self.check_tail(pos)
                return
            element, data, size = self.at(pos)
            name = TOP.get(element)
            if name is None:
                raise Malformed(f"unexpected element 0x{element:X} at {pos} inside the Segment")
            if size is None and name != "Cluster":
                raise Malformed(f"{name} at {pos} has an unknown size")
            end = self.cluster_end(data, jumped) if size is None else data + size
            if end > self.end:
                raise Malformed(
                    f"{name} at {pos} needs {end - self.end} bytes past the end of the file (truncated)"
                )
            self.found.setdefault(name, []).append((pos, data, end))
            self.note(name, data, end)
            if size is None and end < self.end and self.at(end)[0] not in TOP:
                self.check_tail(pos)  # stopped inside a live cluster
                return
            pos = end

    def check_tail(self, pos: int) -> None:
        """Some chain of clusters and blocks must end exactly at EOF (one GET); a cut block fails."""
        start = max(pos, self.end - TAIL)
        tail = self.window.get(start, self.end - start)
        ok, self.last_time = walk_tail(tail, start, self.end, self.tracks or {1, 2}, start == pos)
        if not ok:
            raise Malformed("the end of the file is not on an element boundary (truncated)")

    def body(self, name: str) -> bytes:
        if name not in self.found:
            raise Malformed(f"no {name} element")
        _, data, end = self.found[name][0]
        return self.window.get(data, end - data)


def _duration(segment: _Segment, found: Found) -> None:
    info = segment.body("Info")
    scale, duration = 1_000_000, None
    for element, a, b in children(info, 0, len(info), "Info"):
        scale = uint(info[a:b]) if element == 0x2AD7B1 else scale
        if element == 0x4489:
            duration = struct.unpack(">f" if b - a == 4 else ">d", info[a:b])[0]
    if duration:
        found.duration_seconds = round(duration * scale / 1e9, 3)
    elif segment.last_time is not None:  # live files carry no Duration: the last block's time
        found.duration_seconds = round(segment.last_time * scale / 1e9, 3)


def _tracks(segment: _Segment, doctype: str, found: Found) -> None:
    tracks = segment.body("Tracks")
    has_video = False
    for element, a, b in children(tracks, 0, len(tracks), "Tracks"):
        if element != 0xAE:
            continue
        kind, codec, width, height = None, "", None, None
        for child, a2, b2 in children(tracks, a, b, "TrackEntry"):
            kind = uint(tracks[a2:b2]) if child == 0x83 else kind
            if child == 0x86:
                codec = tracks[a2:b2].rstrip(b"\0").decode("ascii", "replace")
            for video, a3, b3 in children(tracks, a2, b2, "Video") if child == 0xE0 else ():
                width = uint(tracks[a3:b3]) if video == 0xB0 else width
                height = uint(tracks[a3:b3]) if video == 0xBA else height
        if doctype == "webm" and codec not in _WEBM_CODECS:
            raise Malformed(f"codec {codec or 'none'} is not allowed in WebM")
        if kind == 1:
            has_video = True
            if found.video_codec is None:
                found.video_codec, found.width, found.height = _CODECS.get(codec, codec), width, height
        elif kind == 2 and found.audio_codec is None:
            found.audio_codec = _CODECS.get(codec, codec)
    if not has_video:
        raise Malformed("no video track")


def check_matroska(reader: RangedReader) -> Found:
    """A well-formed Matroska or WebM file with a video track, and its facts."""
    segment = _Segment(Window(reader, HEAD))
    doctype = segment.open()
    segment.walk()
    if "Cluster" not in segment.found:
        raise Malformed("no Cluster element")
    found = Found(doctype)
    _duration(segment, found)
    _tracks(segment, doctype, found)
    return found
