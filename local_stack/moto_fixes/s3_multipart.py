"""S3 multipart uploads as S3 answers them: one completion's copy, and uploads no longer held.

moto copies a completed upload's whole object three times before it answers;
`complete_multipart_in_one_copy` joins the parts once. An UploadPartCopy reads its whole source object
to copy a range of it (a 1 GiB object copied in 256 MiB parts read 4 GiB); `part_copies_read_their_range`
reads only the range, as S3 copies it.

moto answers a part, a part copy or a completion for a multipart upload it no longer holds (aborted,
completed, never started) with a 500 and a `KeyError` traceback, and a part that races its upload's
abort with a 500 too (its ETag read from a buffer the abort closed); S3 answers 404 `NoSuchUpload`,
as moto already does for ListParts and AbortMultipartUpload. `unknown_uploads_are_no_such_upload`
answers as S3 does (a client racing a revocation that aborted its upload sees S3's refusal).
"""

from __future__ import annotations

import functools
import threading
from contextlib import ExitStack
from typing import Any

from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML, MissingKey, NoSuchUpload
from moto.s3.models import FakeKey, FakeMultipart, S3Backend
from moto.s3.utils import compute_checksum
from moto.settings import S3_UPLOAD_PART_MIN_SIZE
from moto.utilities.utils import md5_hash

from local_stack.patching import mend, replace


@mend
def complete_multipart_in_one_copy(undo: ExitStack) -> None:
    """CompleteMultipartUpload joins the parts once.

    moto copies the whole object three times before it answers (into a bytearray, again into its
    checksum builder, then both to bytes): 256 MiB cost about a second in process and 2.5-3 s in the
    server. With no checksum algorithm asked for (S3 then reports a full-object CRC64NVME, as moto
    does), this joins the parts once and checksums that; otherwise moto's own code runs.
    """
    original = FakeMultipart.complete

    @functools.wraps(original)
    def complete(self: FakeMultipart, body: Any) -> Any:
        if self.metadata.get("x-amz-checksum-algorithm") or self.metadata.get("x-amz-checksum-type"):
            return original(self, body)
        parts: list[FakeKey] = []
        for number, etag in body:
            part = self.parts.get(number)
            if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                raise InvalidPart()
            if parts and parts[-1].contentsize < S3_UPLOAD_PART_MIN_SIZE:
                raise EntityTooSmall()
            parts.append(part)
        if not parts:
            raise MalformedXML()
        whole = b"".join(part.value for part in parts)
        md5s = b"".join(bytes.fromhex(part.etag.replace('"', "")) for part in parts)
        etag = f"{md5_hash(md5s).hexdigest()}-{len(parts)}"
        return whole, etag, ("FULL_OBJECT", compute_checksum(whole, "CRC64NVME").decode(), 1)

    replace(undo, FakeMultipart, "complete", complete)


@mend
def unknown_uploads_are_no_such_upload(undo: ExitStack) -> None:
    """UploadPart, UploadPartCopy and CompleteMultipartUpload of an upload moto does not hold: 404
    NoSuchUpload, as S3 answers (moto: a KeyError, a 500). And one upload's operations one at a time,
    a part's ETag taken before an abort may close its buffer (moto read a closed file: a 500)."""
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock_of(multipart_id: str) -> threading.Lock:
        with guard:
            return locks.setdefault(multipart_id, threading.Lock())

    def checked(original: Any) -> Any:
        @functools.wraps(original)
        def operation(self: S3Backend, bucket_name: str, multipart_id: str, *args: Any, **kwargs: Any) -> Any:
            with lock_of(multipart_id):
                if multipart_id not in self.get_bucket(bucket_name).multiparts:
                    raise NoSuchUpload(upload_id=multipart_id)
                result = original(self, bucket_name, multipart_id, *args, **kwargs)
                if isinstance(result, FakeKey):
                    _ = result.etag  # read (and kept) while the part's buffer is surely open
                if multipart_id not in self.get_bucket(bucket_name).multiparts:  # completed, aborted
                    with guard:
                        locks.pop(multipart_id, None)
                return result

        return operation

    for name in ("upload_part", "upload_part_copy", "complete_multipart_upload", "abort_multipart_upload"):
        replace(undo, S3Backend, name, checked(getattr(S3Backend, name)))


@mend
def part_copies_read_their_range(undo: ExitStack) -> None:
    """UploadPartCopy reads only the range it copies from the source object's buffer."""

    def upload_part_copy(
        self: S3Backend,
        dest_bucket_name: str,
        multipart_id: str,
        part_id: int,
        src_bucket_name: str,
        src_key_name: str,
        src_version_id: str | None,
        start_byte: int | None,
        end_byte: int | None,
    ) -> FakeKey:
        multipart = self.get_bucket(dest_bucket_name).multiparts[multipart_id]
        source = self.get_object(src_bucket_name, src_key_name, version_id=src_version_id)
        if source is None:
            raise MissingKey(key=src_key_name)
        first = start_byte or 0
        last = int(source.size) - 1 if end_byte is None else end_byte
        with source.lock:
            source._value_buffer.seek(first)
            value = bytes(source._value_buffer.read(last - first + 1))
        return multipart.set_part(part_id, value)

    replace(undo, S3Backend, "upload_part_copy", upload_part_copy)
