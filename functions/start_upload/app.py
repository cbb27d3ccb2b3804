"""POST /upload?token=...: a presigned S3 POST for one file. The token is the credential (no JWT)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core.config import get_settings
from upload_service.core.observability import logger, metrics
from upload_service.core.records import TokenRecord
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.http.api import create_app, json_response, parse_body
from upload_service.uploads import starting
from upload_service.uploads.file_rules import StartUploadRequest

settings = get_settings()


def _named_token(resolver: APIGatewayHttpResolver) -> TokenRecord | None:
    """The token the request names, read once per request (the rate limiter asks first)."""
    if "token" not in resolver.context:
        named = resolver.current_event.get_query_string_value("token")
        resolver.context["token"] = starting.find_token(default_repository(), named)
    record: TokenRecord | None = resolver.context["token"]
    return record


# Counted per token that exists (by its reference): a string that names no token costs one read
# and writes nothing.
app = create_app(
    rate_limit_key=lambda resolver: f"token#{record.ref}" if (record := _named_token(resolver)) else None,
    rate_limit_per_minute=lambda s: s.upload_rate_limit_per_minute,
)


@app.post("/upload")
def start_upload() -> Response[str]:
    starting.refuse_a_file_in_the_body(app.current_event.headers.get("content-type"))
    request = parse_body(app, StartUploadRequest, context=settings)
    starting.require_token_parameter(app.current_event.get_query_string_value("token"))
    target = starting.start_upload(
        default_repository(), default_storage(), _named_token(app), request, settings, datetime.now(UTC)
    )
    metrics.add_metric(name="UploadsStarted", unit=MetricUnit.Count, value=1)
    return json_response(target)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
