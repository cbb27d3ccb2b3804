"""Every presigned target the service hands out is signed with SigV4 (`AWS4-HMAC-SHA256`), in every
region: botocore's default would sign presigned POSTs and URLs with SigV2 in us-east-1 and
eu-west-1, which S3 refuses on every bucket created since June 2020. The layer's `Storage` signs
them all (the POST of `POST /upload` and `GET /s3/params`, the part PUTs of the Companion routes)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from moto import mock_aws

from tests.isolation import clear_process_caches
from upload_service.core import aws
from upload_service.core.storage import Storage

REGIONS = ["us-east-1", "eu-west-1", "eu-central-1"]
BUCKET = "targets"


@pytest.fixture(params=REGIONS)
def storage(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Storage]:
    """The layer's Storage in a Lambda of that region (its client built as the functions build it)."""
    region = request.param
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, region)
    clear_process_caches()  # every cached client and Storage, not aws.client's alone
    with mock_aws():
        s3 = aws.client("s3")
        location = (
            {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=BUCKET, **location)
        yield Storage(BUCKET)
    clear_process_caches()


def test_a_presigned_post_is_sigv4(storage: Storage) -> None:
    url, fields = storage.presigned_post("uploads/0123/clip.mp4", "video/mp4", 1024, 300)

    region = storage.client.meta.region_name
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].endswith(f"/{region}/s3/aws4_request")
    assert fields["x-amz-signature"] and fields["policy"]
    assert not {"AWSAccessKeyId", "signature"} & set(fields)  # SigV2's fields
    assert url.startswith("https://")


def test_a_presigned_part_is_sigv4(storage: Storage) -> None:
    upload_id = storage.create_multipart("uploads/0123/big.mp4", "video/mp4")

    query = parse_qs(urlsplit(storage.presigned_part("uploads/0123/big.mp4", upload_id, 3, 300)).query)

    region = storage.client.meta.region_name
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].endswith(f"/{region}/s3/aws4_request")
    assert query["partNumber"] == ["3"] and query["uploadId"] == [upload_id]
    assert "X-Amz-Signature" in query and "Signature" not in query and "AWSAccessKeyId" not in query
