"""Who is calling: the claims API Gateway's JWT authorizer passed to the function.

Admin rights come from membership of the `cognito:groups` claim, so how that claim is read is a
security decision, made once here (docs/security-notes.md, "Admin group claim"):

* API Gateway's HTTP API JWT authorizer passes an array claim as one string, `[a b]`: the elements
  joined by single spaces inside brackets. Cognito group names cannot contain whitespace, so that
  form is unambiguous, and it is the one string form we parse: `[...]` is split on whitespace inside
  the brackets; any other string is split on whitespace.
* A list or tuple (a direct invocation, a test) is taken as it is, element by element.
* Nothing else: no splitting on commas, no stripping of quotes, names compared exactly and
  case-sensitively. A group named `x,admins`, `"admins"` or `Admins` is not `admins`.
* So a JSON-looking string `["admins"]` is the one group named `"admins"` (quotes included), not an
  admin: such a string reads two ways, and an ambiguous claim must not grant rights (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from upload_service.core.errors import ProblemError


class MissingClaims(ProblemError):
    """The authorizer passed no usable identity: a deployment error, never the caller's fault."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized."


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` as a list, or as HTTP API passes array claims: the string `"[admins editors]"`.

    Exactly these two forms (see the module docstring): no comma splitting, no quote stripping.
    """
    if value is None:
        return frozenset()
    if isinstance(value, list | tuple):
        return frozenset(str(group) for group in value)
    text = str(value)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(text.split())


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
