"""Domain errors. Logic and data access raise these; `api.problem_response` renders them."""

from __future__ import annotations

from typing import ClassVar


class ProblemError(Exception):
    """An error that becomes an HTTP problem document (`type`, `title`, `status`)."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: str = "Something went wrong on our side."

    def __init__(self, title: str | None = None, *, detail: str | None = None) -> None:
        self.title = title or type(self).title
        self.detail = detail
        self.headers: dict[str, str] = {}
        super().__init__(self.title)


class FieldProblem(ProblemError):
    """One invalid parameter: `name` says which."""

    status = 400
    slug = "invalid-attribute"
    title = "An attribute is invalid."

    def __init__(self, name: str, title: str) -> None:
        super().__init__(title)
        self.name = name


class BadRequest(ProblemError):
    """One or more invalid parameters; the first is reported as `name`, all under `problems`."""

    status = 400
    slug = "invalid-attribute"

    def __init__(self, problems: list[FieldProblem]) -> None:
        if not problems:
            raise ValueError("a BadRequest needs at least one problem")
        super().__init__(problems[0].title)
        self.problems = problems
        self.name = problems[0].name

    @classmethod
    def single(cls, name: str, title: str) -> BadRequest:
        return cls([FieldProblem(name, title)])


class TokenNotFound(ProblemError):
    status = 404
    slug = "resource-not-found"
    title = "The upload token was not found."


class ActiveTokenLimitReached(ProblemError):
    """The caller already holds the maximum number of live tokens (not a rate: waiting won't help)."""

    status = 403
    slug = "active-token-limit"
    title = "You have reached the maximum number of active upload tokens."


class RateLimited(ProblemError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests."


class ServiceUnavailable(ProblemError):
    """AWS kept throttling after the retries: the client should come back after `Retry-After`."""

    status = 503
    slug = "service-unavailable"
    title = "The service is busy. Please retry later."

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__()
        self.headers["Retry-After"] = str(retry_after)


class UploadLimitReached(ProblemError):
    """Every upload the token allows is taken (accepted, or started and not yet decided)."""

    status = 403
    slug = "upload-limit-reached"
    title = "This upload token allows no more uploads."


class UploadNotFound(ProblemError):
    """No open upload of this token by that id and key (another token's is not found either)."""

    status = 404
    slug = "resource-not-found"
    title = "The upload was not found."


class UploadTooLarge(ProblemError):
    """What S3 holds of a multipart upload is more than MaxUploadBytes: refused, aborted, REJECTED."""

    status = 413
    slug = "upload-too-large"
    title = "The upload is larger than this deployment allows."
