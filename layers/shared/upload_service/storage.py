"""The uploads bucket: presigned POST targets, what arrived, moves and deletes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from upload_service import aws
from upload_service.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    etag: str


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
        self, key: str, content_type: str, max_size: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        """A POST policy pinning the exact key, the Content-Type and a content-length-range."""
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_size]],
            ExpiresIn=expires_in,
        )
        return post["url"], {name: str(value) for name, value in post["fields"].items()}

    def head(self, key: str) -> StoredObject | None:
        """What really arrived (S3's word, not the client's), or None if it is gone."""
        try:
            with aws.unavailable_when_throttled():
                head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return StoredObject(
            key=key,
            size=int(head["ContentLength"]),
            content_type=str(head.get("ContentType", "")).split(";")[0].strip().lower(),
            etag=str(head.get("ETag", "")).strip('"'),
        )

    def copy(self, source: str, destination: str) -> None:
        """Server-side copy (multipart for large objects, via boto3's managed transfer)."""
        with aws.unavailable_when_throttled():
            self.client.copy({"Bucket": self.bucket, "Key": source}, self.bucket, destination)

    def delete(self, key: str) -> None:
        """Idempotent: deleting what is already gone succeeds."""
        with aws.unavailable_when_throttled():
            self.client.delete_object(Bucket=self.bucket, Key=key)


@cache
def default_storage() -> Storage:
    return Storage(get_settings().bucket_name)


def event_time(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))
