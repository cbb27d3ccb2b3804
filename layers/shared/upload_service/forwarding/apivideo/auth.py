"""api.video bearer tokens: `POST /auth/api-key` once per process, reused until shortly before expiry.

The API key and the tokens stay in this object: never in a log line, an error or a repr.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from upload_service.forwarding.apivideo.errors import (
    ApiVideoError,
    ApiVideoFinalError,
    ApiVideoUnauthorized,
    answered,
    checked,
)

#: Renew this long before api.video says the token expires (clock skew, a long upload's last call).
EARLY_RENEWAL_SECONDS = 60.0


@dataclass(frozen=True, repr=False)
class Bearer:
    access: str
    refresh: str | None
    expires_at: float


class Authenticator:
    """Issues, caches and renews the bearer token of one API key."""

    def __init__(
        self,
        http: requests.Session,
        base_url: str,
        api_key: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._api_key = api_key
        self._clock = clock
        self._bearer: Bearer | None = None

    def __repr__(self) -> str:
        return f"Authenticator({self._base_url})"

    def access_token(self) -> str:
        """The cached token while it is fresh, else a new one from the API key."""
        if self._bearer is None or self._clock() >= self._bearer.expires_at:
            self._bearer = self._issue("/auth/api-key", {"apiKey": self._api_key})
        return self._bearer.access

    def renew(self) -> str:
        """After a 401: the refresh token's successor, or (refresh refused) a new one from the key."""
        stale, self._bearer = self._bearer, None
        if stale and stale.refresh:
            try:
                self._bearer = self._issue("/auth/refresh", {"refreshToken": stale.refresh})
            except ApiVideoError as exc:
                if exc.status is None or exc.status >= 500:
                    raise
        return self.access_token()

    def _issue(self, path: str, body: dict[str, str]) -> Bearer:
        try:
            with answered():
                answer = checked(self._http.post(self._base_url + path, json=body)).json()
        except ApiVideoFinalError as refused:  # api.video answers a wrong key with a 400
            raise ApiVideoUnauthorized(
                refused.status, refused.title, refused.detail, problem_type=refused.problem_type
            ) from refused
        return Bearer(
            access=str(answer["access_token"]),
            refresh=answer.get("refresh_token"),
            expires_at=self._clock() + float(answer.get("expires_in", 3600)) - EARLY_RENEWAL_SECONDS,
        )
