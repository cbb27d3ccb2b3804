"""api.video's routes on the double: match, read the body, apply scripted faults and rate limits,
then the operation; every answer carries the `X-RateLimit-*` headers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote

from local_stack.video_double.accounts import Accounts
from local_stack.video_double.multipart import BodyReader, MalformedBody, boundary_of, parse_form
from local_stack.video_double.platform import Platform, UploadRequest
from local_stack.video_double.problems import (
    Problem,
    invalid_payload,
    method_not_allowed,
    too_many_requests,
    unrecognized_url,
)
from local_stack.video_double.traffic import Faults, RateLimiter, RateState

MAX_JSON_BYTES = 1024 * 1024


@dataclass
class Reply:
    status: int
    document: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None
    length: int = 0
    close: bool = False  # the connection can't be trusted further (a malformed body)
    lost: bool = False  # answer nothing: close the connection (a scripted lost response)

    @classmethod
    def of(cls, problem: Problem, rate: RateState | None = None, close: bool = False) -> Reply:
        headers = {**(rate.headers() if rate else {}), **problem.headers}
        return cls(problem.status, problem.document(), headers, close=close)


@dataclass(frozen=True)
class Call:
    """One API request, its body read: JSON (a dict), an upload, or nothing."""

    params: dict[str, str]
    query: dict[str, str]  # each parameter's first value
    authorization: str | None
    json: dict[str, Any]
    upload: UploadRequest | None
    query_lists: dict[str, list[str]] = field(default_factory=dict)  # every value (`tags[]`)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    group: str
    operation: str


def _route(method: str, path: str, group: str, operation: str) -> Route:
    return Route(
        method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), group, operation
    )


ROUTES = [
    _route("POST", "/auth/api-key", "auth", "authenticate"),
    _route("POST", "/auth/refresh", "auth", "refresh"),
    _route("POST", "/upload-tokens", "upload-tokens", "create_token"),
    _route("GET", "/upload-tokens", "upload-tokens", "list_tokens"),
    _route("GET", "/upload-tokens/{token}", "upload-tokens", "get_token"),
    _route("DELETE", "/upload-tokens/{token}", "upload-tokens", "delete_token"),
    _route("POST", "/upload", "upload", "upload"),
    _route("POST", "/videos", "videos", "create_video"),
    _route("GET", "/videos", "videos", "list_videos"),
    _route("GET", "/videos/{video_id}", "videos", "get_video"),
    _route("GET", "/videos/{video_id}/status", "videos", "video_status"),
    _route("GET", "/videos/{video_id}/source", "videos", "video_source"),
]


class Api:
    """api.video's routes over the double's state; HTTP-free (the server reads and writes the wire)."""

    def __init__(self, accounts: Accounts, platform: Platform, limiter: RateLimiter, faults: Faults) -> None:
        self.accounts = accounts
        self.platform = platform
        self.limiter = limiter
        self.faults = faults
        self._operations: dict[str, Callable[[Call], Reply]] = {
            route.operation: getattr(self, route.operation) for route in ROUTES
        }

    def handle(self, method: str, url: SplitResult, headers: Mapping[str, str], body: BodyReader) -> Reply:
        """One request answered (`headers` with lower-case names); its body read whatever the answer."""
        try:
            route, params = match(method, url.path)
        except Problem as problem:
            body.drain()
            return Reply.of(problem, self.limiter.peek("api"))
        bucket = "upload" if route.group == "upload" else "api"
        try:
            call = self._read(route, params, url, headers, body)
        except MalformedBody as exc:
            return Reply.of(invalid_payload(str(exc)), self.limiter.peek(bucket), close=True)
        except Problem as problem:
            return Reply.of(problem, self.limiter.peek(bucket))
        fault = self.faults.take(route.group, route.method)
        if fault is not None and not fault.lose_response:
            return self._refuse(call, fault.problem(self.limiter.peek(bucket)), self.limiter.peek(bucket))
        rate = self.limiter.take(bucket)
        if not rate.allowed:
            return self._refuse(call, too_many_requests({}), rate)
        try:
            reply = self._operations[route.operation](call)
        except Problem as problem:
            reply = Reply.of(problem)
        reply.headers = {**rate.headers(), **reply.headers}
        reply.lost = fault is not None and fault.lose_response
        return reply

    def _refuse(self, call: Call, problem: Problem, rate: RateState) -> Reply:
        if call.upload is not None:
            self.platform.refused(call.upload, problem.status, problem.title)
        return Reply.of(problem, rate)

    def _read(
        self,
        route: Route,
        params: dict[str, str],
        url: SplitResult,
        headers: Mapping[str, str],
        body: BodyReader,
    ) -> Call:
        query_lists = parse_qs(url.query, keep_blank_values=True)
        query = {name: values[0] for name, values in query_lists.items()}
        upload = None
        document: dict[str, Any] = {}
        if route.operation == "upload":
            upload = self._read_upload(query, headers, body)
        elif route.method == "POST":
            document = _read_json(body)
        else:
            body.drain()
        return Call(params, query, headers.get("authorization"), document, upload, query_lists)

    def _read_upload(
        self, query: dict[str, str], headers: Mapping[str, str], body: BodyReader
    ) -> UploadRequest:
        boundary = boundary_of(headers.get("content-type"))
        form = parse_form(body.read, boundary, self.platform.spool) if boundary else None
        body.drain()  # an epilogue, or a body that was no form at all
        return UploadRequest(query.get("token"), headers.get("content-range"), form)

    # --- operations ---

    def authenticate(self, call: Call) -> Reply:
        return Reply(200, self.accounts.authenticate(call.json))

    def refresh(self, call: Call) -> Reply:
        return Reply(200, self.accounts.refresh(call.json))

    def create_token(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        return Reply(200, self.accounts.create_upload_token(call.json).document())

    def list_tokens(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        return Reply(200, self.accounts.list_upload_tokens(call.query))

    def get_token(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        return Reply(200, self.accounts.upload_token(call.params["token"]).document())

    def delete_token(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        self.accounts.delete_upload_token(call.params["token"])
        return Reply(204)

    def upload(self, call: Call) -> Reply:
        assert call.upload is not None
        return Reply(201, self.platform.upload(call.upload))

    def create_video(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        return Reply(201, self.platform.create_video(call.json))

    def list_videos(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        return Reply(200, self.platform.list_videos(call.query_lists))

    def get_video(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        return Reply(200, self.platform.video_document(call.params["video_id"]))

    def video_status(self, call: Call) -> Reply:
        self.accounts.check_bearer(call.authorization)
        return Reply(200, self.platform.status_document(call.params["video_id"]))

    def video_source(self, call: Call) -> Reply:
        """For tests (api.video has no such download): the bytes assembled, no bearer needed."""
        size, blocks = self.platform.source(call.params["video_id"])
        return Reply(200, headers={"Content-Type": "application/octet-stream"}, stream=blocks, length=size)


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route and its path parameters; api.video's 404 or 405 otherwise."""
    allowed = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            allowed = True
            if route.method == method:
                return route, {key: unquote(value) for key, value in found.groupdict().items()}
    raise method_not_allowed() if allowed else unrecognized_url()


def _read_json(body: BodyReader) -> dict[str, Any]:
    raw = body.read_all(MAX_JSON_BYTES)
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_payload("The body cannot be decoded as JSON.") from None
    if not isinstance(document, dict):
        raise invalid_payload("The body must be a JSON object.")
    return document
