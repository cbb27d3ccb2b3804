"""GET /upload-tokens: a page of live tokens (admins: everyone's, or one user's with `userId`)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core.config import get_settings
from upload_service.core.models import ListTokensQuery
from upload_service.core.observability import logger, metrics
from upload_service.data.table import default_store
from upload_service.data.tokens import TokenStore
from upload_service.http.api import create_app, current_caller, json_response, parse_query
from upload_service.tokens import access

settings = get_settings()
app = create_app()


@app.get("/upload-tokens")
def list_tokens() -> Response[str]:
    query = parse_query(app, ListTokensQuery)
    page = access.list_tokens(
        default_store(TokenStore), current_caller(app), query, settings, datetime.now(UTC)
    )
    return json_response(page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
