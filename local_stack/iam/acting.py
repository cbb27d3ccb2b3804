"""Which function a call is made for, and its role's credentials on the call.

On AWS every function runs in its own execution environment with its own role's credentials. Here
all functions share one process and the layer's process-wide boto3 clients (upload_service.core.aws),
so the credentials are chosen when a request is signed, not when a client is made: `running_as(name)`
marks the current thread (its `contextvars` context) as running that function, and
`calls_sign_as_their_function` makes every client that takes its credentials from the environment
sign with the running function's own (local_stack/credentials.py `for_function`). Outside any
function, such a client signs with the environment's (`FUNCTIONS`), which the stack's emulator
refuses: a call no function made has no role to be allowed by.

Work a function hands to other threads carries its context (contextvars.copy_context), as the
layer's copies do (upload_service/uploads/delivery.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import Any

import botocore.credentials

from local_stack.credentials import for_function
from local_stack.patching import mend, replace

_RUNNING: ContextVar[str | None] = ContextVar("local_stack_running_function", default=None)


def running_function() -> str | None:
    return _RUNNING.get()


@contextmanager
def running_as(function: str) -> Iterator[None]:
    """Calls made meanwhile (in this thread, and in work it hands on with its context) are `function`'s."""
    token = _RUNNING.set(function)
    try:
        yield
    finally:
        _RUNNING.reset(token)


class RunningFunctionCredentials(botocore.credentials.Credentials):
    """The running function's credentials each time botocore signs; the environment's outside one."""

    def get_frozen_credentials(self) -> botocore.credentials.ReadOnlyCredentials:
        function = _RUNNING.get()
        if function is None:
            return super().get_frozen_credentials()
        own = for_function(function)
        return botocore.credentials.ReadOnlyCredentials(
            own.access_key_id, own.secret_access_key, own.session_token
        )


class _RunningFunctionProvider(botocore.credentials.EnvProvider):
    """botocore's environment provider, whose credentials follow the running function."""

    METHOD = "local-stack-running-function"
    CANONICAL_NAME = "custom-local-stack-running-function"

    def load(self) -> Any:
        found = super().load()
        if found is None:
            return None
        frozen = found.get_frozen_credentials()
        return RunningFunctionCredentials(
            str(frozen.access_key), str(frozen.secret_key), frozen.token, method=self.METHOD
        )


@mend
def calls_sign_as_their_function(undo: ExitStack) -> None:
    """Every botocore session made meanwhile resolves environment credentials as `RunningFunctionCredentials`
    (sessions made before keep theirs: clear the layer's client caches after holding this)."""
    original = botocore.credentials.create_credential_resolver

    def create_credential_resolver(*args: Any, **kwargs: Any) -> botocore.credentials.CredentialResolver:
        resolver = original(*args, **kwargs)
        resolver.insert_before("env", _RunningFunctionProvider())
        return resolver

    replace(undo, botocore.credentials, "create_credential_resolver", create_credential_resolver)
