"""S3 objects as S3 serves them: ranged reads, POST uploads, copies.

moto's GetObject reads the whole object for any Range (then slices it, and runs a regex over all of
it): a 1 MiB range of a 256 MiB object costs a 256 MiB read, so forwarding a large file in chunks
read from the emulator grew with size x chunks. `serve_ranges_from_the_buffer` reads only the range,
as S3 does, and sends it as it reads it (moto read all of it before the first byte went out).

moto answers a browser's POST upload (a presigned POST) with no `ETag`, no `Location` and none of the
bucket's CORS headers, where S3 sends all three: the browser cannot read what S3 would let it read,
and Uppy 5 waits for the ETag forever, and it drops the POST's `tagging` field, which S3 stores as
the object's tags. `post_object_answers_like_s3` mends both.

moto copies whatever the source is, where S3 refuses a CopyObject or UploadPartCopy whose
`x-amz-copy-source-if-match` names another ETag (412 PreconditionFailed): the service pins every copy
of an accepted object to the ETag it checked. `copies_honour_their_conditions` refuses as S3 does.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse

import xmltodict
from moto.s3.exceptions import PreconditionFailed
from moto.s3.models import FakeKey
from moto.s3.responses import S3Response

from local_stack.patching import mend, replace

_ONE_RANGE = re.compile(r"bytes=(?:(?P<first>\d+)-(?P<last>\d*)|-\d+)")
_ranged = threading.local()


class _StoredBytes:
    """An object's bytes as moto's range handling uses them (`len`, one slice): the slice is a
    `_RangeBody`, read from the object's buffer only as the server sends it."""

    def __init__(self, key: FakeKey) -> None:
        self.key = key

    def __len__(self) -> int:
        return int(self.key.size)

    def __getitem__(self, part: slice) -> _RangeBody:
        start, stop, _ = part.indices(len(self))
        return _RangeBody(self.key, start, max(start, stop))


class _RangeBody:
    """Bytes `start..stop` of an object, read from its buffer a block at a time while the server
    writes them (werkzeug sends an iterable body as it goes), as S3 starts answering at once."""

    BLOCK = 1024 * 1024

    def __init__(self, key: FakeKey, start: int, stop: int) -> None:
        self.key = key
        self.start = start
        self.stop = stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[bytes]:
        position = self.start
        while position < self.stop:
            with self.key.lock:
                self.key._value_buffer.seek(position)
                block = bytes(self.key._value_buffer.read(min(self.BLOCK, self.stop - position)))
            if not block:
                return
            position += len(block)
            yield block


@mend
def serve_ranges_from_the_buffer(undo: ExitStack) -> None:
    """GetObject with one Range reads that range only."""
    whole_object: Any = FakeKey.value
    original = S3Response.get_object

    def value(key: FakeKey) -> Any:
        return _StoredBytes(key) if getattr(_ranged, "active", False) else whole_object.fget(key)

    @functools.wraps(original)
    def get_object(self: S3Response) -> Any:
        one_range = _ONE_RANGE.fullmatch(self.headers.get("range") or "")
        backwards = one_range and one_range["last"] and int(one_range["first"]) > int(one_range["last"])
        if one_range is None or backwards or "partNumber" in self.querystring:
            return original(self)  # moto's own answer (S3 ignores a backwards range)
        _ranged.active = True
        try:
            return original(self)
        finally:
            _ranged.active = False

    replace(undo, FakeKey, "value", property(value, whole_object.fset))
    replace(undo, S3Response, "get_object", get_object)


@mend
def post_object_answers_like_s3(undo: ExitStack) -> None:
    """A POST upload is answered with the object's `ETag`, its `Location`, its version and the
    bucket's CORS headers for the request's `Origin`, as S3 answers it; its `tagging` field becomes
    the object's tags."""
    original = S3Response._bucket_response_post

    @functools.wraps(original)
    def post(self: S3Response, request: Any, bucket_name: str) -> Any:
        status, headers, body = original(self, request, bucket_name)
        if self.data.get("Action") != "PutObject" or not 200 <= int(status) < 400:
            return status, headers, body
        key_name = self.querystring["key"][0]
        stored = self.backend.get_object(bucket_name, key_name)
        if stored is None:
            return status, headers, body
        if tagging := (self.querystring.get("tagging") or [None])[0]:
            self.backend.put_object_tagging(stored, _tags(tagging))
        answered = {**self._get_cors_headers_other(), **headers, "ETag": stored.etag}
        answered.setdefault("Location", f"{request.url.split('?')[0].rstrip('/')}/{quote(key_name)}")
        if stored.version_id and stored.version_id != "null":
            answered["x-amz-version-id"] = stored.version_id
        return status, answered, body

    replace(undo, S3Response, "_bucket_response_post", post)


def _tags(tagging: str) -> dict[str, str]:
    """`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...` as a dict."""
    parsed = xmltodict.parse(tagging, force_list={"Tag": True})
    return {tag["Key"]: tag.get("Value") or "" for tag in parsed["Tagging"]["TagSet"]["Tag"]}


@mend
def copies_honour_their_conditions(undo: ExitStack) -> None:
    """CopyObject and UploadPartCopy refuse (412 PreconditionFailed) when the source's ETag is not the
    one `x-amz-copy-source-if-match` names, as S3 does."""
    original = S3Response._key_response_put

    @functools.wraps(original)
    def put(self: S3Response, query: Any, key_name: str) -> Any:
        source = self.headers.get("x-amz-copy-source")
        expected = self.headers.get("x-amz-copy-source-if-match")
        if source and expected:
            parsed = urlparse(source if isinstance(source, str) else source.decode())
            bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
            version = parse_qs(parsed.query).get("versionId", [None])[0]
            found = self.backend.get_object(bucket, key, version_id=version)
            if found is not None and found.etag.strip('"') != expected.strip('"'):
                raise PreconditionFailed("x-amz-copy-source-If-Match")
        return original(self, query, key_name)

    replace(undo, S3Response, "_key_response_put", put)
