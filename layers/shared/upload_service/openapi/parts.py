"""What every path of the OpenAPI document shares: schema references, the rate-limit headers, the
answers every route may give, the token path parameter."""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/{model}"
RATE_HEADERS = {
    name: {"description": text, "required": True, "schema": {"type": "integer"}}
    for name, text in {
        "X-RateLimit-Limit": "The request limit per minute.",
        "X-RateLimit-Remaining": "The number of available requests left for the current time window.",
        "X-RateLimit-Retry-After": "The number of seconds left until the current rate limit window resets.",
    }.items()
}


def _json(schema: str) -> dict[str, Any]:
    return {"schema": {"$ref": REF.format(model=schema)}}


def _problem(description: str, rate_headers: bool = True) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": _json("Problem")},
    }
    if rate_headers:
        response["headers"] = RATE_HEADERS
    return response


def _ok(description: str, schema: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "headers": RATE_HEADERS}
    if schema:
        response["content"] = {"application/json": _json(schema)}
    return response


UNAUTHORIZED = {
    "description": "Missing or invalid JWT (answered by API Gateway, before the function).",
    "content": {
        "application/json": {"schema": {"type": "object", "properties": {"message": {"type": "string"}}}}
    },
}
COMMON_ERRORS = {
    "401": UNAUTHORIZED,
    "429": _problem("Too many requests."),
    "503": _problem("AWS kept throttling; retry after Retry-After seconds.", rate_headers=False),
}
TOKEN_PARAMETER = {
    "name": "uploadToken",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^to[0-9A-Za-z]{22}$"},
    "description": "The token (`to` + 22 base62 characters).",
}
