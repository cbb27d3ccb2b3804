"""The AWS credentials the local stack knows; the strict emulator refuses every other (DESIGN.md §7).

Two sets, defined here and nowhere else:

- `TOOLS`: what tools and tests use to call the emulator themselves (provisioning checks, examples,
  benchmarks, assertions on the table and the bucket). `.local/stack.json` names them as
  `awsCredentials`; a process started apart from the stack reads them there.
- `for_function(name)`: what the Lambda runtime gives one function (`AWS_ACCESS_KEY_ID`,
  `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: its role's temporary credentials, so with a session
  token, which presigned targets then carry as AWS's do). Each function has its own, and the local
  stack judges each call by the role of the function that signed it (local_stack/iam).
- `FUNCTIONS`: what a process sets in its environment to run functions (the local stack, the tests'
  in-process invocations): calls made inside an invocation are signed with that function's own
  credentials instead (local_stack/iam/acting.py); an emulator without the stack's roles (unit
  tests, benchmarks) takes these as any function's, the stack's emulator refuses them.

They are fixed strings, not secrets: the emulator listens on this machine only, and a request
signed with anything else must fail here as it would on AWS.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        """As boto3 reads them from the environment (`AWS_SESSION_TOKEN` only when there is one)."""
        variables = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            variables["AWS_SESSION_TOKEN"] = self.session_token
        return variables

    def client_arguments(self) -> dict[str, Any]:
        """As `boto3.client(...)` takes them."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }

    def as_json(self) -> dict[str, str]:
        """As `.local/stack.json` names them."""
        named = {"accessKeyId": self.access_key_id, "secretAccessKey": self.secret_access_key}
        if self.session_token:
            named["sessionToken"] = self.session_token
        return named

    @classmethod
    def from_json(cls, named: dict[str, str]) -> Credentials:
        return cls(named["accessKeyId"], named["secretAccessKey"], named.get("sessionToken"))


TOOLS = Credentials("AKIALOCALSTACKTOOLS1", "local-stack-tools-secret-access-key")
FUNCTIONS = Credentials(
    "ASIALOCALSTACKFUNCS1",
    "local-stack-functions-secret-access-key",
    "local-stack-functions-session-token",
)
#: Every credential the emulator accepts, by access key id.
KNOWN: dict[str, Credentials] = {each.access_key_id: each for each in (TOOLS, FUNCTIONS)}


@cache
def for_function(name: str) -> Credentials:
    """The temporary credentials of one function's role (`ASIA...`, as AWS's are), derived from its name."""
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    return Credentials(
        f"ASIA{digest[:16]}", f"local-stack-{name}-secret-access-key", f"local-stack-{name}-session"
    )
