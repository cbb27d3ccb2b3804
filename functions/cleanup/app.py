"""Scheduled: time out expired tokens, settle the uploads the processor left unfinished (decide what
landed in time, deliver what was accepted), expire the targets nothing reached."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core.config import get_settings
from upload_service.core.observability import logger, metrics
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.uploads import expiry

settings = get_settings()


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = expiry.clean_up(
        default_repository(),
        default_storage(),
        settings,
        datetime.now(UTC),
        lambda: context.get_remaining_time_in_millis() / 1000,
    )
    metrics.add_metric(name="TokensTimedOut", unit=MetricUnit.Count, value=report.tokens_timed_out)
    metrics.add_metric(name="DeliveriesOverdue", unit=MetricUnit.Count, value=report.deliveries_overdue)
    metrics.add_metric(name="DeliveriesLost", unit=MetricUnit.Count, value=report.deliveries_lost)
    metrics.add_metric(name="UploadsUnsettled", unit=MetricUnit.Count, value=report.unsettled)
    logger.info("cleanup done", extra=asdict(report))
    return asdict(report)
