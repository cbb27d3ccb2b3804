"""api.video's error documents: `{"type": <its error page>, "title", "status"}` (+ `name` on 400/404).

The `type` URLs are the slugs of api.video's error reference (docs.api.video/reference/<slug>); the
titles follow its wording where its docs or clients' fixtures show it, and its style elsewhere.
"""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.api.video/reference/"


class Problem(Exception):
    """An answer other than success, as api.video words it; raised by the double's logic."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        name: str | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.slug = slug
        self.title = title
        self.name = name
        self.detail = detail
        self.headers = headers or {}
        self.body = body  # sent instead of the document (a test's scripted answer)

    def document(self) -> dict[str, Any]:
        if self.body is not None:
            return dict(self.body)
        document: dict[str, Any] = {"type": DOCS + self.slug, "title": self.title, "status": self.status}
        if self.detail is not None:
            document["detail"] = self.detail
        if self.name is not None:
            document["name"] = self.name
        return document


def not_found(name: str) -> Problem:
    return Problem(404, "resource-not-found", "The requested resource was not found.", name=name)


def invalid_attribute(name: str, detail: str) -> Problem:
    return Problem(400, "invalid-attribute", "An attribute is invalid.", name=name, detail=detail)


def attribute_required(name: str) -> Problem:
    return Problem(400, "attribute-required", "This attribute is required.", name=name)


def invalid_query(name: str, detail: str) -> Problem:
    return Problem(400, "invalid-query-parameter", "A query parameter is invalid.", name=name, detail=detail)


def invalid_payload(detail: str) -> Problem:
    return Problem(400, "invalid-payload", "The payload is invalid.", detail=detail)


def upload_refused(slug: str, title: str, name: str = "file", detail: str | None = None) -> Problem:
    """A 400 of `POST /upload`: the file, its Content-Range, its token or its videoId."""
    return Problem(400, slug, title, name=name, detail=detail)


def too_many_requests(headers: dict[str, str]) -> Problem:
    return Problem(429, "too-many-requests", "Too many requests.", headers=headers)


def server_error(status: int) -> Problem:
    titles = {500: "Server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}
    return Problem(status, "server-error", titles.get(status, "Server error"))


def unrecognized_url() -> Problem:
    return Problem(404, "unrecognized-request-url", "Unrecognized request URL.")


def method_not_allowed() -> Problem:
    return Problem(405, "method-not-allowed", "Method is not allowed for this route.")
