"""What a failed forwarding attempt records for the uploader to see (`fwdError`, shown by
`GET /upload-tokens/{token}`, the demo page and the outcome event): a fixed wording per kind of
failure, never the text of an AWS or HTTP library's error (issue 18 §6)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from upload_service.core.outbound import RetryLater
from upload_service.forwarding.apivideo import (
    ApiKeyUnavailable,
    ApiVideoError,
    ApiVideoFinalError,
    ApiVideoNotFound,
    ApiVideoUnauthorized,
    ApiVideoUnavailable,
)
from upload_service.forwarding.forwarder import public_error
from upload_service.forwarding.video_platform import SourceChanged

ARN = "arn:aws:iam::123456789012:role/upload-tokens-ForwardUploadFunctionRole-1A2B3C"
DENIED = ClientError(
    {"Error": {"Code": "AccessDenied", "Message": f"User: {ARN} is not authorized to perform: s3:GetObject"}},
    "GetObject",
)


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (ApiKeyUnavailable(), "the API key could not be read; retrying"),
        (
            ApiVideoUnauthorized(400, "The user credentials were incorrect.", f"key of {ARN}"),
            "api.video refused the API key (HTTP 400); retrying",
        ),
        (
            ApiVideoFinalError(400, "The file is invalid.", "its first bytes are not a video"),
            "api.video refused the upload: The file is invalid.",
        ),
        (
            ApiVideoUnavailable(None, "api.video did not answer", "ConnectionError"),
            "api.video unreachable; retrying",
        ),
        (ApiVideoUnavailable(503, "Service unavailable"), "api.video answered HTTP 503; retrying"),
        (
            ApiVideoNotFound(404, "The requested resource was not found."),
            "api.video answered HTTP 404; retrying",
        ),
        (RetryLater(120, "api.video's rate limit"), "api.video's rate limit: retry after 120.0 s"),
        (
            SourceChanged("media/sub-1234/u1/clip.mp4 holds 3 bytes, not the 4 accepted"),
            "the stored file is not the one accepted; retrying",
        ),
        (DENIED, "an internal error; retrying"),
        (RuntimeError(f"assumed {ARN}"), "an internal error; retrying"),
    ],
)
def test_each_kind_of_failure_has_its_fixed_wording(error: Exception, shown: str) -> None:
    assert public_error(error) == shown
    assert "arn:" not in public_error(error) and "123456789012" not in public_error(error)


def test_a_refusal_keeps_api_videos_title_only_and_stays_short() -> None:
    refused = ApiVideoError(409, "x" * 1000, "detail the uploader need not see")

    assert public_error(refused) == ("api.video refused the upload: " + "x" * 1000)[:500]
