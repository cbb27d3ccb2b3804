"""The uploads bucket: presigned POST targets, what arrived, its tags, copies and deletes.

The bucket is versioned, so an object once checked is immutable: its version id pins the copy to
exactly the bytes that were checked, even if the same key is written again afterwards.

Every object lands tagged `stage=landing` (the POST's policy and the multipart upload set it), and an
accepted one is tagged `stage=accepted` before anything else happens to it: the bucket's lifecycle
rule for strays expires only what is still `landing`, never an accepted object waiting to be
delivered (template.yaml, `expire-stray-uploads`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import quote

from botocore.exceptions import ClientError

from upload_service.core import aws
from upload_service.core.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


#: Versions of one key `purge` deletes at most in one call.
PURGE_ROUNDS = 10
#: The tag that tells the lifecycle rule for strays what it may expire, and its values.
STAGE = "stage"
LANDING = "landing"
ACCEPTED = "accepted"
LANDING_TAGGING = f"<Tagging><TagSet><Tag><Key>{STAGE}</Key><Value>{LANDING}</Value></Tag></TagSet></Tagging>"
#: Error codes of an object (or version) that is not there.
_GONE = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})


@dataclass(frozen=True)
class StoredPart:
    """One part of a multipart upload as S3 lists it."""

    number: int
    size: int
    etag: str
    checksum_sha256: str | None = None


class MultipartGone(Exception):
    """S3 knows no such multipart upload (completed, aborted, or never made)."""


class PartsRefused(Exception):
    """S3 refused to complete a multipart upload with these parts (`code` says why)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    etag: str
    version_id: str | None = None
    last_modified: datetime | None = None


class Storage:
    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> S3Client:
        """Created on first use: a run with nothing to store or delete builds no S3 client."""
        if self._client is None:
            self._client = aws.client("s3")
        return self._client

    def presigned_post(
        self,
        key: str,
        content_type: str,
        max_size: int,
        expires_in: int,
        checksum_sha256: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        """A POST policy pinning the exact key, the Content-Type, the landing tag and a
        content-length-range; with `checksum_sha256`, the file's SHA-256 too (S3 computes it from the
        bytes and refuses others: 400 BadDigest)."""
        fields = {"Content-Type": content_type, "tagging": LANDING_TAGGING}
        if checksum_sha256:
            fields |= {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum_sha256}
        conditions: list[object] = [{name: value} for name, value in fields.items()]
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields=fields,
            Conditions=[*conditions, ["content-length-range", 1, max_size]],
            ExpiresIn=expires_in,
        )
        return post["url"], {name: str(value) for name, value in post["fields"].items()}

    def create_multipart(self, key: str, content_type: str, checksums: bool = False) -> str:
        """A multipart upload of exactly `key` with this Content-Type (tagged as landing, as a POST's
        object is); S3's UploadId. With `checksums`, S3 wants every part's SHA-256 (ChecksumAlgorithm
        SHA256: a part without one, or with other bytes, is refused)."""
        more = {"ChecksumAlgorithm": "SHA256"} if checksums else {}
        with aws.unavailable_when_throttled():
            created = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType=content_type,
                Tagging=f"{STAGE}={LANDING}",
                **more,  # type: ignore[arg-type]
            )
        return str(created["UploadId"])

    def presigned_part(
        self,
        key: str,
        multipart_id: str,
        number: int,
        expires_in: int,
        size: int | None = None,
        checksum_sha256: str | None = None,
    ) -> str:
        """A presigned PUT of one part (signed locally: no call to S3); with `size`, its Content-Length
        is signed too, so S3 refuses a body of any other length; with `checksum_sha256`, its
        `x-amz-checksum-sha256` header (the PUT must send it; S3 refuses other bytes: BadDigest)."""
        params: dict[str, object] = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": multipart_id,
            "PartNumber": number,
        }
        if size is not None:
            params["ContentLength"] = size
        if checksum_sha256:
            params["ChecksumSHA256"] = checksum_sha256
        return str(self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_in))

    def list_parts(self, key: str, multipart_id: str) -> list[StoredPart]:
        """Every part S3 holds of the upload (all pages), by part number; MultipartGone if none."""
        paginator = self.client.get_paginator("list_parts")
        parts: list[StoredPart] = []
        try:
            with aws.unavailable_when_throttled():
                for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=multipart_id):
                    parts += [
                        StoredPart(
                            int(part["PartNumber"]),
                            int(part["Size"]),
                            str(part["ETag"]),
                            part.get("ChecksumSHA256"),
                        )
                        for part in page.get("Parts", [])
                    ]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchUpload", "404"):
                raise MultipartGone() from exc
            raise
        return sorted(parts, key=lambda part: part.number)

    def complete_multipart(self, key: str, multipart_id: str, parts: list[StoredPart]) -> str:
        """Complete the upload with exactly these parts (and their SHA-256, where S3 holds one: an upload
        created with checksums is completed only with each part's); S3's Location of the object.
        MultipartGone if it is no more, PartsRefused if S3 refused the parts (too small, changed)."""
        named = [
            {"PartNumber": p.number, "ETag": p.etag}
            | ({"ChecksumSHA256": p.checksum_sha256} if p.checksum_sha256 else {})
            for p in parts
        ]
        try:
            with aws.unavailable_when_throttled():
                done = self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=multipart_id,
                    MultipartUpload={"Parts": named},  # type: ignore[typeddict-item]
                )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("NoSuchUpload", "404"):
                raise MultipartGone() from exc
            if code in ("EntityTooSmall", "InvalidPart", "InvalidPartOrder", "InvalidRequest"):
                raise PartsRefused(code) from exc
            raise
        return str(done.get("Location", ""))

    def abort_multipart(self, key: str, multipart_id: str) -> bool:
        """Abort the upload and drop its parts; False if S3 knew it no more. Idempotent."""
        try:
            with aws.unavailable_when_throttled():
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=multipart_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchUpload", "404"):
                return False
            raise
        return True

    def location(self, key: str) -> str:
        """The object's URL (what Companion answers as `location`; the bucket is private)."""
        return f"{self.client.meta.endpoint_url}/{self.bucket}/{quote(key)}"

    def head(self, key: str) -> StoredObject | None:
        """What really arrived (S3's word, not the client's), or None if it is gone."""
        try:
            with aws.unavailable_when_throttled():
                head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                return None
            raise
        return StoredObject(
            key=key,
            size=int(head["ContentLength"]),
            content_type=str(head.get("ContentType", "")).split(";")[0].strip().lower(),
            etag=str(head.get("ETag", "")).strip('"'),
            version_id=head.get("VersionId") if head.get("VersionId") not in (None, "null") else None,
            last_modified=head.get("LastModified"),
        )

    def mark_accepted(self, stored: StoredObject) -> bool:
        """Tag exactly the checked object `stage=accepted` (the lifecycle rule for strays leaves it);
        False if it is gone."""
        pinned = {"VersionId": stored.version_id} if stored.version_id else {}
        try:
            with aws.unavailable_when_throttled():
                self.client.put_object_tagging(
                    Bucket=self.bucket,
                    Key=stored.key,
                    Tagging={"TagSet": [{"Key": STAGE, "Value": ACCEPTED}]},
                    **pinned,  # type: ignore[arg-type]
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                return False
            raise
        return True

    def read_start(self, stored: StoredObject, length: int) -> bytes | None:
        """The first `length` bytes of exactly the object that was checked, or None if it is gone."""
        return self.read_range(stored, 0, length)

    def read_range(self, stored: StoredObject, offset: int, length: int) -> bytes | None:
        """`length` bytes at `offset` of exactly the object that was checked (one ranged GetObject,
        pinned to its version and ETag), or None if that object is gone."""
        pinned = {"VersionId": stored.version_id} if stored.version_id else {}
        try:
            with aws.unavailable_when_throttled():
                answer = self.client.get_object(
                    Bucket=self.bucket,
                    Key=stored.key,
                    Range=f"bytes={offset}-{offset + length - 1}",
                    IfMatch=f'"{stored.etag}"',
                    **pinned,  # type: ignore[arg-type]
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE | {"PreconditionFailed", "412"}:
                return None
            raise
        return answer["Body"].read(length)

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def purge(self, key: str, version_id: str | None = None) -> StoredObject | None:
        """Delete `key` for good: the version named, then whatever version is current, until none is
        (deleting by version id leaves no delete marker behind). Idempotent. A key written again and
        again while this runs is left to the bucket's lifecycle rule after PURGE_ROUNDS. Returns the
        first object it found there (None if it found none or only the version named)."""
        if version_id:
            self._delete_version(key, version_id)
        found = None
        for _ in range(PURGE_ROUNDS):
            current = self.head(key)
            if current is None:
                break
            found = found or current
            self._delete_version(key, current.version_id)
        return found

    def _delete_version(self, key: str, version_id: str | None) -> None:
        with aws.unavailable_when_throttled():
            if version_id:
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)
            else:  # an unversioned bucket
                self.client.delete_object(Bucket=self.bucket, Key=key)


@cache
def default_storage() -> Storage:
    return Storage(get_settings().bucket_name)
