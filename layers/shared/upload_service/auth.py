"""Who is calling: the claims API Gateway's JWT authorizer passed to the function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from upload_service.errors import ProblemError


class MissingClaims(ProblemError):
    """The authorizer passed no usable identity: a deployment error, never the caller's fault."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized."


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` as a list, or as HTTP API passes array claims: the string `"[admins editors]"`."""
    if value is None:
        return frozenset()
    if isinstance(value, list | tuple):
        return frozenset(str(group) for group in value)
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(group.strip(" \"',") for group in text.replace(",", " ").split() if group.strip(" \"',"))


@dataclass(frozen=True)
class Caller:
    user_id: str
    username: str
    groups: frozenset[str]
    is_admin: bool

    @property
    def rate_limit_key(self) -> str:
        return f"user#{self.user_id}"


def caller_from_event(event: Mapping[str, Any], admin_group: str) -> Caller:
    """The caller of an HTTP API (payload 2.0) event; the owner of a token is the `sub` claim."""
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims")
    if not isinstance(claims, Mapping) or not claims.get("sub"):
        raise MissingClaims()
    groups = parse_groups(claims.get("cognito:groups"))
    username = claims.get("cognito:username") or claims.get("username") or claims["sub"]
    return Caller(
        user_id=str(claims["sub"]),
        username=str(username),
        groups=groups,
        is_admin=admin_group in groups,
    )
