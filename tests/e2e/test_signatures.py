"""Through the local stack: every presigned target a route hands out is SigV4 (`AWS4-HMAC-SHA256`):
`POST /upload`, Uppy's `GET /s3/params`, and its part signing, one part or a batch. S3 refuses
SigV2 on buckets created since June 2020 (tests/unit/test_presigned_targets.py: every region)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import Stack, User
from tests.e2e.test_multipart import Companion
from tests.e2e.test_uploads import start


def sigv4_post(fields: dict[str, str]) -> bool:
    return fields.get("x-amz-algorithm") == "AWS4-HMAC-SHA256" and not {"AWSAccessKeyId", "signature"} & set(
        fields
    )


def sigv4_url(url: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"] and "Signature" not in query


def test_every_presigned_target_is_sigv4(stack: Stack, user: User, token_of: Callable[..., str]) -> None:
    token = token_of(user)
    uppy = Companion(stack, token)
    upload = uppy.started()
    part_url = f"{uppy.base}/multipart/{upload['uploadId']}"

    posted = start(stack, token).json()
    params = requests.get(
        f"{uppy.base}/params", params={"filename": "a.mp4", "type": "video/mp4"}, timeout=30
    ).json()
    one = requests.get(f"{part_url}/1", params={"key": upload["key"]}, timeout=30).json()
    batch = requests.get(  # one part: all that the shared stack's MaxUploadBytes (1 MiB) can need
        f"{part_url}/batch", params={"key": upload["key"], "partNumbers": "1"}, timeout=30
    ).json()

    assert sigv4_post(posted["fields"]), posted["fields"]
    assert sigv4_post(params["fields"]), params["fields"]
    assert sigv4_url(one["url"]), one["url"]
    assert all(sigv4_url(url) for url in batch["presignedUrls"].values()), batch
