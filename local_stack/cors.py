"""Browsers may read the local emulator's answers only from the origins the stack allows.

moto answers every CORS preflight itself and allows any origin, so any web page open in the
developer's browser could have read the emulator (the api.video double's key in Secrets Manager,
everyone's tokens in DynamoDB) with a fetch to 127.0.0.1. On AWS a bucket's CORS rules and
Cognito decide, and DynamoDB or Secrets Manager answer no browser at all. `browsers_from` lets
through what carries no `Origin` (SDKs, curl) as it is, and a browser's request only from an
allowed origin (the demo page's, CorsAllowedOrigins): another origin's preflight is refused (403)
and its other requests are answered without any CORS header, so the browser keeps the answer from
the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def browsers_from(app: WsgiApp, allowed: set[str]) -> WsgiApp:
    """`app`, answering browsers of the origins in `allowed` only (a set the stack may fill later)."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        if origin is None or origin in allowed:
            return app(environ, start_response)
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]

        def without_cors(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            kept = [
                (name, value) for name, value in headers if not name.lower().startswith("access-control-")
            ]
            return start_response(status, kept, *rest)

        return app(environ, without_cors)

    return guarded
