"""Uppy's Companion S3 routes under /uploads/{uploadToken}: multipart (and presigned POST) uploads
of a token, and what the token may still upload. The token in the path is the credential (no JWT),
as `?token=` is for POST /upload."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from upload_service.core.config import Settings, get_settings
from upload_service.core.observability import logger, metrics
from upload_service.core.records import TokenRecord, UploadRecord
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.http.api import create_app, json_response, parse_body, validate
from upload_service.multipart import companion
from upload_service.multipart.wire import Aborted, CompanionFile, CompleteRequest
from upload_service.uploads import starting

settings = get_settings()
PREFIX = "/uploads/<upload_token>/s3"
#: The routes that start an upload: counted in the token's window of POST /upload.
STARTS = ("GET /uploads/{uploadToken}/s3/params", "POST /uploads/{uploadToken}/s3/multipart")


def _named_token(resolver: APIGatewayHttpResolver) -> TokenRecord | None:
    """The token the path names, read once per request (the rate limiter asks first)."""
    if "token" not in resolver.context:
        named = (resolver.current_event.path_parameters or {}).get("uploadToken")
        resolver.context["token"] = starting.find_token(default_repository(), named)
    record: TokenRecord | None = resolver.context["token"]
    return record


def _rate_limit(resolver: APIGatewayHttpResolver, settings: Settings) -> tuple[str | None, int]:
    """Starts share POST /upload's per-token window; a started upload's part requests (one per part)
    have a window of their own, at the API's per-caller rate."""
    record = _named_token(resolver)
    if record is None:
        return None, settings.upload_rate_limit_per_minute
    if resolver.current_event.route_key in STARTS:
        return f"token#{record.ref}", settings.upload_rate_limit_per_minute
    return f"token#{record.ref}#parts", settings.rate_limit_per_minute


app = create_app(rate_limit_by_route=_rate_limit, problem_message=True)


def _query(name: str) -> str | None:
    return app.current_event.get_query_string_value(name)


def _open(upload_id: str, *, landed: bool = False) -> UploadRecord:
    return companion.open_upload(
        default_repository(), _named_token(app), upload_id, _query("key"), datetime.now(UTC), landed=landed
    )


@app.get("/uploads/<upload_token>")
def rules(upload_token: str) -> Response[str]:
    return json_response(starting.upload_rules(_named_token(app), settings, datetime.now(UTC)))


@app.get(f"{PREFIX}/params")
def params(upload_token: str) -> Response[str]:
    names = (
        "filename",
        "type",
        "size",
        "metadata[size]",
        "checksumSha256",
        "metadata[checksumSha256]",
    )
    query = {name: _query(name) for name in names if _query(name) is not None}
    file = validate(CompanionFile, query, context=settings)
    target = companion.presigned_post(
        default_repository(), default_storage(), _named_token(app), file, settings, datetime.now(UTC)
    )
    metrics.add_metric(name="UploadsStarted", unit=MetricUnit.Count, value=1)
    return json_response(target)


@app.post(f"{PREFIX}/multipart")
def start(upload_token: str) -> Response[str]:
    file = parse_body(app, CompanionFile, context=settings)
    started = companion.start(
        default_repository(), default_storage(), _named_token(app), file, settings, datetime.now(UTC)
    )
    metrics.add_metric(name="MultipartUploadsStarted", unit=MetricUnit.Count, value=1)
    return json_response(started)


@app.get(f"{PREFIX}/multipart/<upload_id>/batch")  # before /<part_number>: the literal wins
def sign_batch(upload_token: str, upload_id: str) -> Response[str]:
    numbers = companion.part_numbers(_query("partNumbers"))
    upload = _open(upload_id)
    checksums = companion.part_checksums(_query("checksumSha256"), upload, len(numbers))
    return json_response(
        companion.sign_parts(default_storage(), upload, numbers, settings, datetime.now(UTC), checksums)
    )


@app.get(f"{PREFIX}/multipart/<upload_id>/<part_number>")
def sign_part(upload_token: str, upload_id: str, part_number: str) -> Response[str]:
    number = companion.part_number(part_number)
    upload = _open(upload_id)
    size = companion.part_size(_query("size"), upload)
    [checksum] = companion.part_checksums(_query("checksumSha256"), upload, 1)
    return json_response(
        companion.sign_part(default_storage(), upload, number, settings, datetime.now(UTC), size, checksum)
    )


@app.get(f"{PREFIX}/multipart/<upload_id>")
def list_parts(upload_token: str, upload_id: str) -> Response[str]:
    return json_response(companion.list_parts(default_storage(), _open(upload_id)))


@app.post(f"{PREFIX}/multipart/<upload_id>/complete")
def complete(upload_token: str, upload_id: str) -> Response[str]:
    body = parse_body(app, CompleteRequest)
    upload = _open(upload_id, landed=True)  # a completion retried after the decision: the same answer
    done = companion.complete(
        default_repository(), default_storage(), upload, body.parts, settings, datetime.now(UTC)
    )
    return json_response(done)


@app.delete(f"{PREFIX}/multipart/<upload_id>")
def abort(upload_token: str, upload_id: str) -> Response[str]:
    companion.abort(default_repository(), default_storage(), _open(upload_id), datetime.now(UTC))
    return json_response(Aborted())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
