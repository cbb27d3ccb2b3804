"""The HTTP API, locally: template.yaml's routes, API Gateway's JWT checks and payload 2.0 events."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from local_stack.demo import DemoSite
from local_stack.functions import HttpRoute, LambdaFunction
from local_stack.http_handler import OneHandlerPerRequest, Server

COGNITO_ISSUER = re.compile(r"https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/(?P<pool>[\w-]+)$")


class Unauthorized(Exception):
    """What API Gateway answers with 401 before the function is called."""


@dataclass
class JwtAuthorizer:
    """API Gateway's JWT authorizer: RS256 signature by a key of the issuer's JWKS, `iss`, `exp`/`nbf`,
    and `aud` (ID tokens) or `client_id` (access tokens) among the configured audiences."""

    issuer: str
    audiences: list[str]
    jwks_url: str

    def __post_init__(self) -> None:
        self._jwks = jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=300)

    @classmethod
    def for_issuer(cls, issuer: str, audiences: list[str], aws_endpoint: str) -> JwtAuthorizer:
        """Cognito pools publish their JWKS under the issuer; the emulator serves it at its endpoint."""
        match = COGNITO_ISSUER.match(issuer)
        jwks = (
            f"{aws_endpoint}/{match['pool']}/.well-known/jwks.json"
            if match
            else f"{issuer}/.well-known/jwks.json"
        )
        return cls(issuer=issuer, audiences=audiences, jwks_url=jwks)

    def claims(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            raise Unauthorized("missing Authorization header")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(str(exc)) from None
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(audiences) & set(self.audiences):
            raise Unauthorized("audience / client_id not allowed")
        return claims


def claim_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as HTTP API passes them: every value a string, arrays as `"[a b]"`."""

    def text(value: Any) -> str:
        if isinstance(value, list):
            return "[" + " ".join(str(item) for item in value) + "]"
        if isinstance(value, bool):
            return str(value).lower()
        return str(value)

    return {name: text(value) for name, value in claims.items()}


@dataclass
class BoundRoute:
    route: HttpRoute
    function: LambdaFunction
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, route: HttpRoute, function: LambdaFunction) -> BoundRoute:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
        return cls(route=route, function=function, pattern=re.compile(f"^{regex}$"))


class Gateway:
    """Routes requests to functions; answers CORS preflights and serves the OpenAPI document."""

    def __init__(
        self,
        routes: list[BoundRoute],
        authorizer: JwtAuthorizer | None,
        cors: dict[str, Any],
        openapi: dict[str, Any],
    ) -> None:
        self.routes = routes
        self.authorizer = authorizer
        self.cors = cors
        self.openapi = openapi
        self.demo = DemoSite()  # <apiUrl>/demo/, local only (not in template.yaml)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        gateway = self

        class Handler(_RequestHandler):
            owner = gateway

        self._server = Server((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)
        self._thread.start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def match(self, method: str, path: str) -> tuple[BoundRoute, dict[str, str]] | None:
        for bound in self.routes:
            found = bound.pattern.match(path)
            if found and bound.route.method == method:
                return bound, {key: unquote(value) for key, value in found.groupdict().items()}
        return None

    def cors_headers(self, origin: str | None, preflight: bool = False) -> dict[str, str]:
        """API Gateway's CORS answer for template.yaml's CorsConfiguration (none for other origins)."""
        origins = self.cors.get("AllowOrigins", [])
        if not origin or not (origin in origins or "*" in origins):
            return {}
        headers = {"access-control-allow-origin": origin, "vary": "origin"}
        if preflight:
            headers["access-control-allow-methods"] = ",".join(self.cors.get("AllowMethods", []))
            headers["access-control-allow-headers"] = ",".join(self.cors.get("AllowHeaders", []))
            headers["access-control-max-age"] = str(self.cors.get("MaxAge", 0))
        elif self.cors.get("ExposeHeaders"):
            headers["access-control-expose-headers"] = ",".join(self.cors["ExposeHeaders"])
        return headers


class _RequestHandler(OneHandlerPerRequest):
    owner: Gateway
    server_version = "local-http-api"

    def do_OPTIONS(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        if not self.owner.demo.serve(self):
            self._send(404, {"content-type": "application/json"}, b"")

    def _handle(self) -> None:
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not (declared.isascii() and declared.isdigit()):  # `-1` would read to EOF, `abc` crash
            # and where the next request on this connection would start is unknown: close it.
            self._send_message(400, "Bad Request", {"connection": "close"})
            return
        length = int(declared)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if self.owner.demo.serve(self):
            return
        origin = self.headers.get("Origin")
        if self.command == "OPTIONS" and self.headers.get("Access-Control-Request-Method"):
            self._send(204, self.owner.cors_headers(origin, preflight=True), b"")
            return
        cors = self.owner.cors_headers(origin)
        if url.path == "/openapi.json" and self.command == "GET":
            self._send(
                200, {"content-type": "application/json", **cors}, json.dumps(self.owner.openapi).encode()
            )
            return
        matched = self.owner.match(self.command, url.path)
        if matched is None:
            self._send_message(404, "Not Found", cors)
            return
        bound, path_parameters = matched
        claims: dict[str, Any] | None = None
        if bound.route.authorized and self.owner.authorizer is not None:
            try:
                claims = self.owner.authorizer.claims(self.headers.get("Authorization"))
            except Unauthorized:
                self._send_message(401, "Unauthorized", {**cors, "www-authenticate": "Bearer"})
                return
        event = self._event(bound.route, url.path, url.query, path_parameters, claims, body)
        try:
            result = bound.function.invoke(event)
        except Exception:  # API Gateway answers a crashed function with a bare 500
            import traceback

            traceback.print_exc()
            self._send_message(500, "Internal Server Error", cors)
            return
        self._send_result(result, cors)

    def _event(
        self,
        route: HttpRoute,
        path: str,
        query: str,
        path_parameters: dict[str, str],
        claims: dict[str, Any] | None,
        body: bytes,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        now = datetime.now(UTC)
        route_key = f"{route.method} {route.path}"
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": headers.get("host", "127.0.0.1"),
                "domainPrefix": headers.get("host", "127.0.0.1").split(".")[0],
                "http": {
                    "method": route.method,
                    "path": path,
                    "protocol": self.request_version,
                    "sourceIp": self.client_address[0],
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "isBase64Encoded": False,
        }
        if "cookie" in headers:
            event["cookies"] = [part.strip() for part in headers["cookie"].split(";")]
        if query:
            parsed = parse_qs(query, keep_blank_values=True)
            event["queryStringParameters"] = {key: ",".join(values) for key, values in parsed.items()}
        if path_parameters:
            event["pathParameters"] = path_parameters
        if claims is not None:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claim_strings(claims), "scopes": None}}
        if body:
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        return event

    def _send_result(self, result: Any, cors: dict[str, str]) -> None:
        if not isinstance(result, dict) or "statusCode" not in result:
            self._send(200, {"content-type": "application/json", **cors}, json.dumps(result).encode())
            return
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {key.lower(): str(value) for key, value in (result.get("headers") or {}).items()}
        self._send(
            int(result["statusCode"]), {**headers, **cors}, payload, cookies=result.get("cookies") or []
        )

    def _send_message(self, status: int, message: str, headers: dict[str, str]) -> None:
        self._send(
            status, {"content-type": "application/json", **headers}, json.dumps({"message": message}).encode()
        )

    def _send(
        self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] | None = None
    ) -> None:
        self.send_response(
            status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        )
        for name, value in headers.items():
            if name != "content-length":
                self.send_header(name, value)
        for cookie in cookies or []:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
