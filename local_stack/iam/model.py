"""What IAM judges: one authorization a request needs, and the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Authorization:
    """One IAM authorization a request needs (a request may need several: CopyObject reads its source
    and writes its target; TransactWriteItems needs one per item)."""

    action: str  # e.g. "s3:PutObject"
    resource: str  # the resource's ARN, e.g. "arn:aws:s3:::bucket/uploads/key"
    context: tuple[tuple[str, str], ...] = ()  # condition keys and their values, sorted by key


@dataclass(frozen=True)
class NamedPolicy:
    name: str
    document: dict[str, Any] = field(hash=False, compare=False)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: iam-simulate's result: "Allowed", "ImplicitlyDenied" or "ExplicitlyDenied".
    result: str
    #: AWS's AccessDenied message for a denial ("User: ... is not authorized to perform: ..."), "" if allowed.
    message: str = ""


class Unjudged(ValueError):
    """A request whose authorizations the local stack cannot tell (named by method, path or target)."""
