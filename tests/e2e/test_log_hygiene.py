"""No full upload token or JWT ever reaches the logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.conftest import Stack, User
from tests.waiting import eventually


def test_logs_never_hold_a_full_token_or_jwt(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User, admin: User
) -> None:
    # given: a token's whole life, and some refused requests
    token = create(user, ttl=300)["token"]
    http.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers())
    http.get(f"{stack.api}/upload-tokens", headers=admin.headers())
    http.post(f"{stack.api}/upload-tokens", data="{broken", headers=user.headers())
    http.delete(f"{stack.api}/upload-tokens/{token}", headers=user.headers())
    # when the revocation's lines are in the log
    log = eventually(stack.log.read_text, lambda log: "token revoked" in log, what="the revocation logged")
    # then
    assert token[:6] in log  # the logs do speak of it, masked
    for secret in (token, user.id_token, admin.id_token, user.id_token.split(".")[2]):
        assert secret not in log
