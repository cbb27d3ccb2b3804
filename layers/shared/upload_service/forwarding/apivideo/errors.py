"""api.video's problem documents (`{"type", "title", "status", "detail"?, "name"?}`) as typed errors.

`final` says whether retrying can help: a 4xx other than 401, 404 and 429 is final (the forward is
FAILED at once); a 401 has already been re-authenticated once by the client; a 429 that outlived
the retries is `outbound.RetryLater`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from upload_service.core.outbound import RetryLater, retry_after

#: Seconds to come back after a 429 that names no wait: api.video counts its limits per minute.
RATE_LIMIT_WAIT = 60.0
NOT_FINAL = frozenset({401, 404, 429})


class ApiVideoError(Exception):
    """An answer api.video gave (`status`), or none at all (`status` None)."""

    def __init__(
        self,
        status: int | None,
        title: str,
        detail: str | None = None,
        *,
        problem_type: str | None = None,
        name: str | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.problem_type = problem_type
        self.name = name
        super().__init__(f"api.video {status or 'unreachable'}: {title}" + (f" ({detail})" if detail else ""))

    @property
    def final(self) -> bool:
        """Retrying won't help: a 4xx other than 401, 404 and 429."""
        return self.status is not None and 400 <= self.status < 500 and self.status not in NOT_FINAL


class ApiVideoFinalError(ApiVideoError):
    """A 4xx other than 401, 404 and 429: the request itself is wrong."""


class ApiVideoNotFound(ApiVideoError):
    """404: the upload token or the video does not exist (any more)."""


class ApiVideoUnauthorized(ApiVideoError):
    """api.video will not sign us in (the API key is wrong or revoked: a 4xx from `/auth`), or still
    answers 401 with a fresh bearer token. The deployment's key is at fault, not the upload, so it is
    never final: the message is retried (and reaches the dead-letter queue, an alarm) once it is fixed."""

    @property
    def final(self) -> bool:
        return False


class ApiVideoUnavailable(ApiVideoError):
    """A 5xx that outlived the retries, or no answer at all (connection or read errors)."""


@contextmanager
def answered() -> Iterator[None]:
    """No answer at all (after the session's retries) is `ApiVideoUnavailable`.

    The requests error is not chained: its message holds the URL, and an upload URL holds a token.
    """
    try:
        yield
    except requests.RequestException as exc:
        raise ApiVideoUnavailable(None, "api.video did not answer", type(exc).__name__) from None


def checked(response: requests.Response) -> requests.Response:
    """The response when it is a success, else the typed error of its problem document."""
    if response.ok:
        return response
    if response.status_code == 429:
        raise RetryLater(retry_after(response.headers) or RATE_LIMIT_WAIT, "api.video's rate limit")
    raise error_from(response)


def error_from(response: requests.Response) -> ApiVideoError:
    problem = _problem(response)
    status = response.status_code
    error_type = _error_type(status)
    return error_type(
        status,
        str(problem.get("title") or response.reason or f"HTTP {status}"),
        _text(problem.get("detail")),
        problem_type=_text(problem.get("type")),
        name=_text(problem.get("name")),
    )


def _error_type(status: int) -> type[ApiVideoError]:
    if status == 401:
        return ApiVideoUnauthorized
    if status == 404:
        return ApiVideoNotFound
    if 400 <= status < 500:
        return ApiVideoFinalError
    return ApiVideoUnavailable if status >= 500 else ApiVideoError


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
