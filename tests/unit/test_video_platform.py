"""The forwarder's view of an accepted object (`StoredRange`), against moto's S3 in process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from upload_service.core.storage import Storage
from upload_service.forwarding.video_platform import SourceChanged, StoredRange

BUCKET = "media-bucket"
KEY = "media/user/upload/clip.mp4"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # In process: after `lambda_env` in the same worker, AWS_ENDPOINT_URL would send these calls to
    # the running stack's emulator, with mock_aws's made-up credentials (which it refuses).
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def multipart_copy(s3: Any, data: bytes) -> None:
    """What landing does to a multipart upload: the object's copy in media/ (a new ETag, not `…-N`)."""
    started = s3.create_multipart_upload(Bucket=BUCKET, Key="uploads/u/clip.mp4")["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key="uploads/u/clip.mp4", UploadId=started, PartNumber=1, Body=data)[
        "ETag"
    ]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="uploads/u/clip.mp4",
        UploadId=started,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    s3.copy_object(Bucket=BUCKET, Key=KEY, CopySource={"Bucket": BUCKET, "Key": "uploads/u/clip.mp4"})


def test_ranges_of_a_multipart_uploads_copy_are_read_whole_and_pinned(s3: Any) -> None:
    data = bytes(range(256)) * 40
    multipart_copy(s3, data)
    source = StoredRange(Storage(BUCKET, s3), KEY, len(data))

    assert source.open_range(0, 999).read() == data[:1000]
    assert source.etag == s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    assert source.open_range(1000, len(data) - 1).read() == data[1000:]


def test_a_replaced_object_is_refused_after_the_first_read(s3: Any) -> None:
    data = b"a" * 2000
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=data)
    source = StoredRange(Storage(BUCKET, s3), KEY, len(data))
    source.open_range(0, 999).read()

    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"b" * 2000)  # same size, other bytes

    with pytest.raises(ClientError, match="PreconditionFailed"):
        source.open_range(1000, 1999)


def test_an_object_of_another_size_than_accepted_is_refused(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"a" * 1500)
    source = StoredRange(Storage(BUCKET, s3), KEY, 2000)

    with pytest.raises(SourceChanged, match="1500 bytes, not the 2000 accepted"):
        source.open_range(0, 999)
    assert source.etag is None
