"""Accepted uploads (EventBridge -> SQS, one at a time): each forwarded to api.video, resumably."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core import aws, outbound
from upload_service.core.config import get_settings
from upload_service.core.observability import logger, metrics
from upload_service.data.forwarding import ForwardingStore
from upload_service.data.table import default_store
from upload_service.data.uploads import UploadStore
from upload_service.forwarding import forwarder
from upload_service.forwarding.video_platform import ApiVideoUploader

settings = get_settings()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
#: Seconds kept back from the function's time: one chunk's transfer, then recording progress.
MARGIN_SECONDS = 60
#: The metric each outcome counts.
METRICS = {
    "forwarded": "UploadsForwarded",
    "failed": "UploadForwardsFailed",
    "skipped": "ForwardsSkipped",
    "later": "ForwardsRateLimited",
}
#: A lease outlives the invocation by this much, so a crashed forwarder's upload is taken over after.
LEASE_GRACE_SECONDS = 60


class ComeBackLater(Exception):
    """The message is to return after the wait api.video asked for (its visibility is set so)."""


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    upload_id = forwarder.upload_id_of(record.body)
    if upload_id is None:
        logger.error("malformed forward message dropped", extra={"messageId": record.message_id})
        metrics.add_metric(name="MalformedMessages", unit=MetricUnit.Count, value=1)
        return
    remaining = outbound.lambda_remaining(lambda_context)
    try:
        with outbound.deadline(remaining, margin=MARGIN_SECONDS) as deadline:
            outcome = forwarder.forward_upload(
                upload_id,
                uploads=default_store(UploadStore),
                store=default_store(ForwardingStore),
                uploader=ApiVideoUploader(settings, deadline),
                owner=lambda_context.aws_request_id,
                now=int(datetime.now(UTC).timestamp()),
                lease_seconds=math.ceil(remaining()) + LEASE_GRACE_SECONDS,
            )
    except Exception:
        _come_back_in(record, backoff_seconds(record))
        raise
    logger.info(
        "forwarding", extra={"uploadId": upload_id, "result": outcome.result, "detail": outcome.detail}
    )
    metrics.add_metric(name=METRICS[outcome.result], unit=MetricUnit.Count, value=1)
    if outcome.retry_after is not None:
        _come_back_in(record, math.ceil(outcome.retry_after))
        raise ComeBackLater(outcome.detail)


def backoff_seconds(record: SQSRecord) -> int:
    """30 s, 60 s, 120 s ... up to 15 minutes, by how often the message came already."""
    received = int(str(record.attributes.approximate_receive_count or 1))
    return int(min(900, 30 * 2 ** (received - 1)))


def _come_back_in(record: SQSRecord, seconds: int) -> None:
    """The message returns after `seconds` (what api.video asked, or a backoff), not after the queue's
    visibility timeout, which is sized for the longest upload."""
    aws.client("sqs").change_message_visibility(
        QueueUrl=settings.forward_queue_url,
        ReceiptHandle=record.receipt_handle,
        VisibilityTimeout=max(1, min(seconds, 43_200)),
    )


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
