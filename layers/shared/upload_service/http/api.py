"""HTTP glue shared by the API functions: app factory, rate limiting, parsing, problem documents."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from pydantic import BaseModel, ValidationError

from upload_service.core import aws
from upload_service.core.config import Settings, get_settings
from upload_service.core.errors import BadRequest, FieldProblem, ProblemError, RateLimited, ServiceUnavailable
from upload_service.core.models import Problem, ProblemDetail
from upload_service.core.observability import logger
from upload_service.data.rate_windows import RateWindow, RateWindows
from upload_service.data.table import default_store
from upload_service.http.auth import Caller, caller_from_event

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
RATE_WINDOW_SECONDS = 60
#: A 400 lists at most this many problems (a body of 30000 unknown keys must not answer megabytes)...
MAX_PROBLEMS = 20
#: ... and echoes a parameter name the caller sent at most this long (then "…").
MAX_NAME = 64

Model = TypeVar("Model", bound=BaseModel)


def create_app(
    rate_limit_key: Callable[[APIGatewayHttpResolver], str | None] | None = None,
    rate_limit_per_minute: Callable[[Settings], int] = lambda settings: settings.rate_limit_per_minute,
    *,
    rate_limit_by_route: Callable[[APIGatewayHttpResolver, Settings], tuple[str | None, int]] | None = None,
    problem_message: bool = False,
) -> APIGatewayHttpResolver:
    """A resolver whose every response is rate-limited and every error a problem document.

    `rate_limit_key` picks who is counted (by default the signed-in caller; None: nobody to count,
    e.g. a token that does not exist, so nothing is written), and `rate_limit_per_minute` which
    setting limits them; `rate_limit_by_route` picks both at once, per request. With
    `problem_message`, problem documents also carry `message` (what Uppy shows).
    """
    app = APIGatewayHttpResolver()
    key_of = rate_limit_key or (lambda resolver: current_caller(resolver).rate_limit_key)

    def key_and_limit(resolver: APIGatewayHttpResolver) -> tuple[str | None, int]:
        if rate_limit_by_route is not None:
            return rate_limit_by_route(resolver, get_settings())
        return key_of(resolver), rate_limit_per_minute(get_settings())

    def rate_limit(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        key, limit = key_and_limit(resolver)
        try:
            window = (
                default_store(RateWindows).count_request(key, limit, RATE_WINDOW_SECONDS, time.time())
                if key is not None
                else RateWindow(hits=0, reset_after=_seconds_to_next_window())
            )
        except RateLimited as limited:
            limited.headers.update(rate_limit_headers(limit, 0, _seconds_to_next_window()))
            limited.headers["Retry-After"] = limited.headers["X-RateLimit-Retry-After"]
            raise
        headers = rate_limit_headers(limit, max(0, limit - window.hits), window.reset_after)
        try:
            response = next_middleware(resolver)
        except ProblemError as error:
            error.headers.update(headers)
            raise
        response.headers.update(headers)
        return response

    render = problem_response_with_message if problem_message else problem_response
    app.use([rate_limit])
    app.exception_handler(ProblemError)(render)
    app.exception_handler([BotoConnectionError, HTTPClientError])(lambda error: render(_unreachable(error)))
    app.exception_handler(Exception)(lambda error: render(_internal_error(error)))
    return app


def _unreachable(error: Exception) -> ProblemError:
    """AWS did not answer in time (botocore's retries included): busy, come back, never a 500."""
    logger.warning("AWS unreachable", extra={"error": type(error).__name__})
    return ServiceUnavailable(retry_after=aws.RETRY_AFTER_SECONDS)


def _seconds_to_next_window() -> int:
    return max(1, int(RATE_WINDOW_SECONDS - time.time() % RATE_WINDOW_SECONDS + 0.999))


def rate_limit_headers(limit: int, remaining: int, retry_after: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Retry-After": str(retry_after),
    }


def problem_document(error: ProblemError) -> Problem:
    """`error` as a problem document: its first MAX_PROBLEMS problems, and `detail` says if more."""
    base = get_settings().problem_base_url
    problems: list[FieldProblem] = list(getattr(error, "problems", None) or [])
    shown = problems[:MAX_PROBLEMS]
    detail = error.detail
    if len(problems) > len(shown):
        count = f"{len(shown)} of {len(problems)} problems shown."
        detail = f"{detail} {count}" if detail else count
    return Problem(
        type=base + error.slug,
        title=error.title,
        status=error.status,
        name=getattr(error, "name", None),
        detail=detail,
        problems=[
            ProblemDetail(
                type=base + problem.slug, title=problem.title, name=problem.name, status=problem.status
            )
            for problem in shown
        ]
        or None,
    )


def problem_response(error: ProblemError, *, message: bool = False) -> Response[str]:
    """The one place a domain error becomes an HTTP response (with `message`: also what Uppy shows)."""
    document = problem_document(error)
    if message:
        document.message = f"{error.title} {error.detail}" if error.detail else error.title
    body = document.model_dump_json(exclude_none=True)
    return Response(status_code=error.status, content_type=PROBLEM_JSON, body=body, headers=error.headers)


def problem_response_with_message(error: ProblemError) -> Response[str]:
    return problem_response(error, message=True)


def _internal_error(error: Exception) -> ProblemError:
    logger.exception("unhandled error")
    return ProblemError()


def json_response(model: BaseModel, status_code: int = 200) -> Response[str]:
    return Response(status_code=status_code, content_type=JSON, body=model.model_dump_json())


def current_caller(app: APIGatewayHttpResolver) -> Caller:
    return caller_from_event(app.current_event.raw_event, get_settings().admin_group)


def parse_body(
    app: APIGatewayHttpResolver, model: type[Model], *, required: bool = True, context: Any = None
) -> Model:
    """The JSON object body as `model`, validated with `context`; empty means `{}` unless `required`."""
    try:
        raw = app.current_event.decoded_body or ""
    except (UnicodeDecodeError, ValueError):  # not UTF-8 (API Gateway then base64-encodes it)
        raise BadRequest.single("body", "The body is not valid JSON.") from None
    if not raw.strip():
        if required:
            raise BadRequest.single("body", "A JSON object body is required.")
        raw = "{}"
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise BadRequest.single("body", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BadRequest.single("body", "The body must be a JSON object.")
    return validate(model, payload, context)


def parse_query(app: APIGatewayHttpResolver, model: type[Model]) -> Model:
    return validate(model, dict(app.current_event.query_string_parameters or {}))


def validate(model: type[Model], payload: dict[str, Any], context: Any = None) -> Model:
    """`model` from `payload`, or a 400 naming every offending attribute."""
    try:
        return model.model_validate(payload, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise BadRequest([_field_problem(error) for error in errors]) from None


_TITLES = {
    "extra_forbidden": "This attribute is not allowed.",
    "missing": "This attribute is required.",
    "int_type": "This attribute must be an integer.",
    "int_parsing": "This attribute must be an integer.",
    "int_from_float": "This attribute must be an integer.",
}


def _field_problem(error: Any) -> FieldProblem:
    """One pydantic error as a problem; a name the caller made up is echoed at most MAX_NAME long."""
    name = ".".join(str(part) for part in error["loc"]) or "body"
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME] + "…"
    message = str(error["msg"]).removeprefix("Value error, ")
    return FieldProblem(name, _TITLES.get(error["type"], f"{message[:1].upper()}{message[1:]}."))
