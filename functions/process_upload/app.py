"""S3 ObjectCreated notifications (via SQS, partial batch responses): accept or reject what arrived."""

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core import aws
from upload_service.core.config import get_settings
from upload_service.core.observability import logger, metrics
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.uploads import landing
from upload_service.uploads.notifications import Arrival, Unreadable, read_message

settings = get_settings()
# A batch whose every record failed is reported as such (all retried), not raised as a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# Repeated deliveries of one S3 event are processed once: one object version is (bucket, key, version,
# sequencer, ETag); the emulator sends no version nor sequencer, so the ETag tells its objects apart.
idempotency = IdempotencyConfig(
    event_key_jmespath="[bucket, key, version_id, sequencer, etag]", expires_after_seconds=86400
)
persistence = DynamoDBPersistenceLayer(
    table_name=settings.table_name,
    key_attr="PK",
    sort_key_attr="SK",
    static_pk_value="IDEMPOTENCY#process-upload",
    expiry_attr="purgeAt",
    boto3_client=aws.dynamodb(),
)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="arrival", config=idempotency, persistence_store=persistence
)
def decide(arrival: dict[str, Any], time_left: Callable[[], float]) -> dict[str, Any]:
    decision = landing.process_arrival(
        default_repository(),
        default_storage(),
        Arrival(**{**arrival, "time": datetime.fromisoformat(arrival["time"])}),
        settings,
        datetime.now(UTC),
        time_left,
    )
    metrics.add_metric(name=f"Uploads{decision.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    return asdict(decision)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    """Every arrival of the message decided; what cannot be read is logged, counted and let go
    (retrying cannot fix it), while anything that fails on the way raises, so the message is retried
    (a delivery that ran out of time too: the retry goes on with it)."""
    for found in read_message(record.body):
        if isinstance(found, Unreadable):
            logger.error(
                "malformed record dropped", extra={"messageId": record.message_id, "reason": found.reason}
            )
            metrics.add_metric(name="MalformedMessages", unit=MetricUnit.Count, value=1)
        else:
            decide(
                arrival={**asdict(found), "time": found.time.isoformat()},
                time_left=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
            )


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
