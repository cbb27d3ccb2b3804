"""What a file's first bytes say it is, by puremagic's signature database, and whether that agrees
with the type its uploader declared.

Containers, not codecs: an MP4 and a QuickTime movie are one ISO base media family (phones label the
same file either way), and WebM is a Matroska profile that signatures alone do not always tell apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import puremagic

#: Bytes read from the start of a file: every signature of the allowed types sits in the first few
#: hundred (the Matroska DocType included), so a few KiB is ample and costs one ranged read.
SNIFF_BYTES = 4096

#: Types that are one container format under several names.
_FAMILIES = {
    "video/mp4": "iso-bmff",
    "video/quicktime": "iso-bmff",
    "video/x-m4v": "iso-bmff",
    "video/3gpp": "iso-bmff",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "application/x-matroska": "matroska",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
}


@dataclass(frozen=True)
class Sniffed:
    """The verdict on a file's first bytes. `detected` is the type that agrees with the declared one,
    else the best match (its MIME type, or puremagic's description where it has none, as for "ELF
    executable"); None when nothing matched."""

    detected: str | None
    agrees: bool


def family(content_type: str) -> str:
    return _FAMILIES.get(content_type, content_type)


def sniff(head: bytes, declared: str) -> Sniffed:
    """Identify `head` (a file's first SNIFF_BYTES) and compare it with the `declared` type.

    The best-scoring matches that name a MIME type are weighed together (a WebM file matches
    "video/webm" and "application/x-matroska" equally); matches without one (descriptions such as
    "ZoneAlam data file" that share a Windows executable's "MZ") only name what was found when
    nothing else does.
    """
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    typed = [match for match in matches if match.mime_type]
    if typed:
        best = max(match.confidence for match in typed)
        top = [match.mime_type for match in typed if match.confidence == best]
        agreeing = next((mime for mime in top if family(mime) == family(declared)), None)
        return Sniffed(agreeing or top[0], agrees=agreeing is not None)
    if matches:
        return Sniffed(max(matches, key=lambda match: match.confidence).name, agrees=False)
    return Sniffed(None, agrees=False)
