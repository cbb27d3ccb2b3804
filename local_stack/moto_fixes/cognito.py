"""Cognito's sign-in tokens live as long as their app client says.

moto gives every ID and access token an hour, whatever the client's `IdTokenValidity`,
`AccessTokenValidity` and `TokenValidityUnits`; template.yaml's client sets both from
`AuthTokenValidityMinutes` (15 by default), so a removed admin stays an admin only that long.
`tokens_live_as_their_client_says` makes `exp - iat` (and the `ExpiresIn` of the sign-in's answer,
the access token's) what the client says, or Cognito's default of 60 minutes where it says nothing.
"""

from __future__ import annotations

import functools
from contextlib import ExitStack
from typing import Any

from moto.cognitoidp.models import CognitoIdpUserPool

from local_stack.patching import mend, replace

#: Seconds in each of Cognito's `TokenValidityUnits`.
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
#: What each token is called in a client's settings, by moto's `token_use`.
SETTINGS = {"id": ("IdTokenValidity", "IdToken"), "access": ("AccessTokenValidity", "AccessToken")}
#: Cognito's default for ID and access tokens: 60 minutes (1 in the default unit, hours).
DEFAULT_SECONDS = 3600


def validity_seconds(client_settings: dict[str, Any], token_use: str) -> int:
    """How long a token of this use lives under an app client's settings."""
    validity, unit_name = SETTINGS[token_use]
    if client_settings.get(validity) is None:
        return DEFAULT_SECONDS
    unit = (client_settings.get("TokenValidityUnits") or {}).get(unit_name, "hours")
    return int(client_settings[validity]) * UNIT_SECONDS[unit]


@mend
def tokens_live_as_their_client_says(undo: ExitStack) -> None:
    """ID and access tokens expire after their client's validity."""
    original = CognitoIdpUserPool.create_jwt

    @functools.wraps(original)
    def create_jwt(
        self: CognitoIdpUserPool, client_id: str, username: str, token_use: str, *args: Any, **kwargs: Any
    ) -> tuple[str, int]:
        client = self.clients.get(client_id)
        if client is not None and token_use in SETTINGS and not args and "expires_in" not in kwargs:
            kwargs["expires_in"] = validity_seconds(client.extended_config, token_use)
        return original(self, client_id, username, token_use, *args, **kwargs)

    replace(undo, CognitoIdpUserPool, "create_jwt", create_jwt)
