"""AWS clients, created once per process with one retry policy for every call.

botocore's "standard" retry mode retries throttling (ProvisionedThroughputExceededException,
ThrottlingException, RequestLimitExceeded, SlowDown, ...) and transient errors with capped
exponential backoff and full jitter. The number of attempts comes from botocore's own
`AWS_MAX_ATTEMPTS` variable (template.yaml sets it). What is still throttled after the last
attempt becomes `ServiceUnavailable` (HTTP 503 + Retry-After).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from upload_service.core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CLIENT_CONFIG = Config(
    retries={"mode": "standard"},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)
#: What each service's client adds. S3 signs with SigV4 whatever the region: botocore would presign
#: POSTs and URLs with SigV2 in us-east-1 and eu-west-1, which S3 refuses on every bucket created
#: since June 2020 (and the bucket's policy refuses: template.yaml, DenyOtherThanSigV4).
SERVICE_CONFIG = {"s3": Config(signature_version="s3v4")}
#: Copies inside S3 (CopyObject, UploadPartCopy) answer once their bytes are copied: up to minutes for
#: a large part, and several run side by side (delivery.py).
COPY_CONFIG = Config(read_timeout=300, max_pool_connections=16)

#: Error codes botocore's standard mode retries as throttling (and so still may raise afterwards).
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "BandwidthLimitExceeded",
        "PriorRequestNotComplete",
        "TransactionInProgressException",
    }
)

#: Seconds a client should wait after a 503 caused by throttling.
RETRY_AFTER_SECONDS = 1


@cache
def client(service: str) -> Any:
    """One client per service and process (clients are thread-safe and costly to build)."""
    config = CLIENT_CONFIG.merge(SERVICE_CONFIG[service]) if service in SERVICE_CONFIG else CLIENT_CONFIG
    return boto3.client(service, config=config)  # type: ignore[call-overload]


@cache
def copy_client() -> Any:
    """The process's S3 client for copies inside S3 (long calls, several at once)."""
    config = CLIENT_CONFIG.merge(SERVICE_CONFIG["s3"]).merge(COPY_CONFIG)
    return boto3.client("s3", config=config)


def dynamodb() -> DynamoDBClient:
    return client("dynamodb")  # type: ignore[no-any-return]


def is_throttling(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in THROTTLING_CODES


@contextmanager
def unavailable_when_throttled() -> Iterator[None]:
    """Turn throttling that outlived botocore's retries into a 503 for the caller."""
    try:
        yield
    except ClientError as exc:
        if is_throttling(exc):
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from exc
        raise
