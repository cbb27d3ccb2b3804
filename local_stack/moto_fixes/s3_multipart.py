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

moto takes any part of a multipart upload created with a checksum algorithm (S3: each part must carry
a checksum of that algorithm), keeps no
part's checksum (S3's ListParts answers it), and completes such an upload with parts named without
their checksums (S3 refuses: the completion must carry each part's); and its copy (CopyObject) of such
an upload's object keeps the source's composite checksum as if it were the copy's full-object one (S3
computes the copy's; botocore then refuses moto's answer to a GetObject of it as a checksum mismatch).
`part_checksums_as_s3_checks_them` does what S3 does.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from xml.dom import minidom

from moto.s3.exceptions import (
    EntityTooSmall,
    InvalidPart,
    MalformedXML,
    MissingKey,
    NoSuchUpload,
    S3ClientError,
)
from moto.s3.models import FakeKey, FakeMultipart, S3Backend
from moto.s3.responses import S3Response
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


#: The checksum algorithms of S3, by the name of their header (`x-amz-checksum-<name>`).
_ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
#: A `<Part>` of a ListParts answer and its number.
_LISTED_PART = re.compile(rb"<Part>(.*?)</Part>", re.DOTALL)
_PART_NUMBER = re.compile(rb"<PartNumber>(\d+)</PartNumber>")


class ChecksumRefused(S3ClientError):
    """S3's 400 InvalidRequest about a checksum."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequest", message)


def _composite_algorithm(multipart: FakeMultipart) -> str | None:
    """The algorithm every part of the upload must carry a checksum of (lower case), if any: S3 asks for
    part checksums of a COMPOSITE upload, not of a FULL_OBJECT one."""
    algorithm = multipart.metadata.get("x-amz-checksum-algorithm")
    if not algorithm or (multipart.metadata.get("x-amz-checksum-type") or "").upper() == "FULL_OBJECT":
        return None
    return str(algorithm).lower()


@mend
def part_checksums_as_s3_checks_them(undo: ExitStack) -> None:
    """UploadPart of an upload created with a (COMPOSITE) algorithm refuses a part without a checksum of
    that algorithm (400 InvalidRequest, S3's words), and keeps each part's checksum; ListParts answers
    it (`Checksum<ALGO>`); the
    completion of an upload created with a (COMPOSITE) algorithm refuses a part named without its
    checksum (InvalidRequest) or with another (InvalidPart). (The strict emulator has checked the
    part's bytes against its checksum header before moto sees it: 400 BadDigest.)"""
    original_upload_part = S3Response.upload_part
    original_list_parts = S3Response.list_parts
    original_body = S3Response._complete_multipart_body
    original_copy = S3Backend.copy_object

    def multipart_of(response: S3Response) -> FakeMultipart | None:
        multipart_id = response._get_param("uploadId")
        found: FakeMultipart | None = response.backend.get_bucket(response.bucket_name).multiparts.get(
            multipart_id
        )
        return found

    @functools.wraps(original_upload_part)
    def upload_part(self: S3Response) -> Any:
        multipart = multipart_of(self)
        sent = [
            (name, self.headers[f"x-amz-checksum-{name}"])
            for name in _ALGORITHMS
            if f"x-amz-checksum-{name}" in self.headers
        ]
        if multipart is None or "x-amz-copy-source" in self.headers:
            return original_upload_part(self)
        wanted = _composite_algorithm(multipart)
        given = sent[0][0] if sent else None
        if wanted and given != wanted:
            raise ChecksumRefused(
                f"Checksum Type mismatch occurred, expected checksum Type: {wanted}, actual checksum "
                f"Type: {given or 'null'}"
            )
        answer = original_upload_part(self)
        part = multipart.parts.get(self._get_int_param("partNumber"))
        if part is not None and sent:
            part.checksum_algorithm, part.checksum_value = sent[0][0].upper(), sent[0][1]
        return answer

    @functools.wraps(original_list_parts)
    def list_parts(self: S3Response) -> Any:
        status, headers, body = original_list_parts(self)
        multipart = multipart_of(self)
        if multipart is None or not isinstance(body, bytes | str):
            return status, headers, body
        raw = body.encode() if isinstance(body, str) else body

        def with_checksum(listed: re.Match[bytes]) -> bytes:
            number = _PART_NUMBER.search(listed.group(1))
            part = multipart.parts.get(int(number.group(1))) if number else None
            value = getattr(part, "checksum_value", None) if part is not None else None
            algorithm = getattr(part, "checksum_algorithm", None) if part is not None else None
            if not value or not algorithm:
                return listed.group(0)
            element = f"<Checksum{algorithm}>{value}</Checksum{algorithm}>".encode()
            return b"<Part>" + listed.group(1) + element + b"</Part>"

        mended = _LISTED_PART.sub(with_checksum, raw)
        return status, headers, mended if isinstance(body, bytes) else mended.decode()

    @functools.wraps(original_body)
    def complete_multipart_body(self: S3Response, body: bytes) -> Iterator[tuple[int, str]]:
        multipart = multipart_of(self)
        wanted = _composite_algorithm(multipart) if multipart is not None else None
        if multipart is not None and wanted:
            element = f"Checksum{wanted.upper()}"
            # the same parser moto reads this body with next (its own `_complete_multipart_body`)
            for named in minidom.parseString(body).getElementsByTagName("Part"):  # noqa: S318
                number = int(named.getElementsByTagName("PartNumber")[0].firstChild.wholeText)  # type: ignore[union-attr]
                given = named.getElementsByTagName(element)
                if not given:
                    raise ChecksumRefused(
                        f"The upload was created using a {wanted} checksum. The complete request must "
                        f"include the checksum for each part. It was missing for part {number} in the "
                        "request."
                    )
                part = multipart.parts.get(number)
                held = getattr(part, "checksum_value", None) if part is not None else None
                if held is not None and given[0].firstChild.wholeText != held:  # type: ignore[union-attr]
                    raise InvalidPart()
        yield from original_body(self, body)

    @functools.wraps(original_copy)
    def copy_object(
        self: S3Backend,
        src_key: FakeKey,
        dest_bucket_name: str,
        dest_key_name: str,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        result = original_copy(self, src_key, dest_bucket_name, dest_key_name, *args, **kwargs)
        if src_key.checksum_value and (src_key.checksum_type or "").upper() == "COMPOSITE":
            copy = self.get_object(dest_bucket_name, dest_key_name)
            if copy is not None and copy.checksum_value == src_key.checksum_value:
                algorithm = str(src_key.checksum_algorithm)
                copy.checksum_value = compute_checksum(copy.value, algorithm).decode()
                copy.checksum_type, copy.checksum_parts = "FULL_OBJECT", None
        return result

    replace(undo, S3Backend, "copy_object", copy_object)
    replace(undo, S3Response, "upload_part", upload_part)
    replace(undo, S3Response, "list_parts", list_parts)
    replace(undo, S3Response, "_complete_multipart_body", complete_multipart_body)
