"""POST /upload-tokens: mint a delegated upload token for the signed-in caller."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core.config import get_settings
from upload_service.core.ids import mask
from upload_service.core.models import CreateTokenRequest
from upload_service.core.observability import logger, metrics
from upload_service.data.table import default_store
from upload_service.data.tokens import TokenStore
from upload_service.http.api import create_app, current_caller, json_response, parse_body
from upload_service.tokens import access

settings = get_settings()
app = create_app()


@app.post("/upload-tokens")
def create_token() -> Response[str]:
    request = parse_body(app, CreateTokenRequest, required=False)
    caller = current_caller(app)
    token = access.mint(
        default_store(TokenStore),
        caller,
        request.ttl,
        settings,
        datetime.now(UTC),
        request.max_duration_seconds,
    )
    logger.info("token created", extra={"token": mask(token.token), "ttl": token.ttl})
    metrics.add_metric(name="TokensCreated", unit=MetricUnit.Count, value=1)
    return json_response(token)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
