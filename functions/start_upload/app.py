"""POST /upload?token=...: a presigned S3 POST for one file. The token is the credential (no JWT)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service import uploads
from upload_service.api import create_app, json_response, parse_body
from upload_service.config import get_settings
from upload_service.file_rules import StartUploadRequest
from upload_service.observability import logger, metrics
from upload_service.records import TokenRecord
from upload_service.repository import default_repository
from upload_service.storage import default_storage

settings = get_settings()


def _named_token(resolver: APIGatewayHttpResolver) -> TokenRecord | None:
    """The token the request names, read once per request (the rate limiter asks first)."""
    if "token" not in resolver.context:
        named = resolver.current_event.get_query_string_value("token")
        resolver.context["token"] = uploads.find_token(default_repository(), named)
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
    uploads.refuse_a_file_in_the_body(app.current_event.headers.get("content-type"))
    request = parse_body(app, StartUploadRequest, context=settings)
    uploads.require_token_parameter(app.current_event.get_query_string_value("token"))
    target = uploads.start_upload(
        default_repository(), default_storage(), _named_token(app), request, settings, datetime.now(UTC)
    )
    metrics.add_metric(name="UploadsStarted", unit=MetricUnit.Count, value=1)
    return json_response(target)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
