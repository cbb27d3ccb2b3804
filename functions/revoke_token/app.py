"""DELETE /upload-tokens/{uploadToken}: revoke a token at once (owner or admin)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core.config import get_settings
from upload_service.core.ids import mask
from upload_service.core.observability import logger, metrics
from upload_service.core.storage import default_storage
from upload_service.data.table import default_store
from upload_service.data.uploads import UploadStore
from upload_service.http.api import create_app, current_caller
from upload_service.tokens import revocation

settings = get_settings()
app = create_app()


@app.delete("/upload-tokens/<upload_token>")
def revoke_token(upload_token: str) -> Response[str]:
    revocation.revoke(
        default_store(UploadStore),
        current_caller(app),
        upload_token,
        settings,
        datetime.now(UTC),
        default_storage(),  # aborts the token's open multipart uploads (no S3 call if it has none)
    )
    logger.info("token revoked", extra={"token": mask(upload_token)})
    metrics.add_metric(name="TokensRevoked", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
