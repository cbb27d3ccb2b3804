"""`/_double/...`: the double's test hooks over HTTP, for tests in another process than the double
(`make dev` runs it inside the local stack). Each route calls the same-named Python method.

| route | JSON body | does |
| --- | --- | --- |
| `GET /_double/stats` | | counters: uploadRequests, bytesReceived, videoIds, videos, attempts, faults |
| `GET /_double/videos/{videoId}` | | one video's counters (its chunks and attempts) |
| `POST /_double/faults` | `{"status", "times", "route", "method", "retryAfter", "body", "loseResponse"}` | |
| `DELETE /_double/faults` | | drops the faults not used yet |
| `POST /_double/expire-access-tokens` | | every bearer token dies (refresh tokens don't) |
| `POST /_double/clock` | `{"advanceSeconds": n}` | moves the double's clock on (token expiry, rate window) |
| `POST /_double/rate-limit` | `{"uploadsPerMinute": n}` | changes the upload requests' per-minute limit |
| `POST /_double/reset` | | forgets videos, counters, faults and rate windows |

A fault (`POST /_double/faults`) answers the next requests of its `route` group and `method`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from local_stack.video_double.multipart import BodyReader, MalformedBody
from local_stack.video_double.problems import Problem, invalid_payload, unrecognized_url
from local_stack.video_double.routes import MAX_JSON_BYTES, Reply
from local_stack.video_double.traffic import Fault

PREFIX = "/_double/"


class Hooks(Protocol):
    """What the routes call: the double's same-named methods (`server.VideoDouble` has them)."""

    def stats(self) -> dict[str, Any]: ...
    def video_stats(self, video_id: str) -> dict[str, Any]: ...
    def add_fault(self, fault: Fault) -> None: ...
    def clear_faults(self) -> None: ...
    def expire_access_tokens(self) -> None: ...
    def advance_clock(self, seconds: float) -> None: ...
    def set_rate_limit(self, uploads_per_minute: int) -> None: ...
    def reset(self) -> None: ...


def handle(double: Hooks, method: str, path: str, body: BodyReader) -> Reply:
    try:
        document = _json(body)
        return _dispatch(double, method, path.removeprefix(PREFIX).strip("/"), document)
    except MalformedBody as exc:
        return Reply.of(invalid_payload(str(exc)), close=True)
    except Problem as problem:
        return Reply.of(problem)
    except (TypeError, ValueError, KeyError) as exc:
        return Reply.of(invalid_payload(f"{type(exc).__name__}: {exc}"))


def _dispatch(double: Hooks, method: str, route: str, document: dict[str, Any]) -> Reply:
    if (method, route) == ("GET", "stats"):
        return Reply(200, double.stats())
    if method == "GET" and route.startswith("videos/"):
        return Reply(200, double.video_stats(route.removeprefix("videos/")))
    if (method, route) == ("POST", "faults"):
        double.add_fault(fault_from(document))
        return Reply(204)
    if (method, route) == ("DELETE", "faults"):
        double.clear_faults()
        return Reply(204)
    if (method, route) == ("POST", "expire-access-tokens"):
        double.expire_access_tokens()
        return Reply(204)
    if (method, route) == ("POST", "clock"):
        double.advance_clock(float(document["advanceSeconds"]))
        return Reply(204)
    if (method, route) == ("POST", "rate-limit"):
        double.set_rate_limit(int(document["uploadsPerMinute"]))
        return Reply(204)
    if (method, route) == ("POST", "reset"):
        double.reset()
        return Reply(204)
    raise unrecognized_url()


def fault_from(document: dict[str, Any]) -> Fault:
    """`{"status": 429, "times": 3, "route": "upload", "retryAfter": 5}` and the like (camelCase)."""
    known = {"status", "times", "route", "method", "retryAfter", "body", "loseResponse"}
    if unknown := set(document) - known:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    return Fault(
        times=int(document.get("times", 1)),
        route=document.get("route", "upload"),
        status=document.get("status"),
        retry_after=document.get("retryAfter"),
        body=document.get("body"),
        lose_response=bool(document.get("loseResponse", False)),
        method=document.get("method"),
    )


def _json(body: BodyReader) -> dict[str, Any]:
    raw = body.read_all(MAX_JSON_BYTES)
    document = json.loads(raw) if raw.strip() else {}
    if not isinstance(document, dict):
        raise ValueError("the body must be a JSON object")
    return document
