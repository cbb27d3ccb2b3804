"""One api.video project: its API key, the bearer tokens handed out for it, and its upload tokens."""

from __future__ import annotations

import base64
import json
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from local_stack.video_double.problems import Problem, invalid_attribute, invalid_query, not_found

BASE62 = string.digits + string.ascii_letters
SORT_KEYS = ("createdAt", "ttl")


def random_id(prefix: str) -> str:
    """api.video's id shape: a two-letter prefix (`to`, `vi`) and 22 base62 characters."""
    return prefix + "".join(secrets.choice(BASE62) for _ in range(22))


def iso_millis(epoch: float) -> str:
    """`2020-12-02T10:26:46.000Z`, as api.video dates upload tokens."""
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )


def jwt_shaped(claims: dict[str, Any]) -> str:
    """An opaque access token shaped like api.video's (a JWT), so log scanners that look for JWTs find it."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = json.dumps({"typ": "JWT", "alg": "RS256"}).encode()
    return ".".join([part(header), part(json.dumps(claims).encode()), part(secrets.token_bytes(64))])


@dataclass
class Grant:
    """What `/auth/api-key` and `/auth/refresh` hand out."""

    access_token: str
    refresh_token: str
    expires_at: float


@dataclass(frozen=True)
class UploadToken:
    token: str
    ttl: int
    created_at: float

    @property
    def expires_at(self) -> float | None:
        return self.created_at + self.ttl if self.ttl else None

    def live(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at

    def document(self) -> dict[str, Any]:
        """As api.video's reference shows it: no `expiresAt` for a token that never expires."""
        document: dict[str, Any] = {
            "token": self.token,
            "ttl": self.ttl,
            "createdAt": iso_millis(self.created_at),
        }
        if self.expires_at is not None:
            document["expiresAt"] = iso_millis(self.expires_at)
        return document


class Accounts:
    """Credentials of the one project the double hosts; thread-safe."""

    def __init__(self, api_key: str, access_token_ttl: int, clock: Callable[[], float]) -> None:
        self.api_key = api_key
        self.access_token_ttl = access_token_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._upload_tokens: dict[str, UploadToken] = {}

    # --- bearer authentication ---

    def authenticate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /auth/api-key {"apiKey"}`: a wrong key is api.video's 400 "credentials incorrect"."""
        if not secrets.compare_digest(str(body.get("apiKey", "")), self.api_key):
            raise Problem(
                400, "authentication-invalid-user-credentials", "The user credentials were incorrect.", ""
            )
        return self._grant()

    def refresh(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /auth/refresh {"refreshToken"}`: a refresh token is good once; the new grant replaces it."""
        with self._lock:
            grant = self._refresh.pop(str(body.get("refreshToken", "")), None)
        if grant is None:
            raise Problem(400, "authentication-invalid-refresh-token", "The refresh token is invalid.", "")
        return self._grant()

    def check_bearer(self, authorization: str | None) -> None:
        """`Authorization: Bearer <access token>` (live), or Basic with the API key as user name."""
        if not authorization:
            raise Problem(401, "authentication-missing-authorization-header", "Missing authorization header.")
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "basic" and self._basic_matches(credentials.strip()):
            return
        with self._lock:
            grant = self._access.get(credentials.strip()) if scheme.lower() == "bearer" else None
        if grant is None or grant.expires_at <= self._clock():
            raise Problem(
                401, "authentication-invalid-access-token", "The access token is invalid or expired."
            )

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far is dead; refresh tokens still work."""
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = 0.0

    def _basic_matches(self, credentials: str) -> bool:
        try:
            user = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.api_key)

    def _grant(self) -> dict[str, Any]:
        now = self._clock()
        claims = {"iat": int(now), "exp": int(now) + self.access_token_ttl, "jti": secrets.token_hex(16)}
        grant = Grant(jwt_shaped(claims), "def50200" + secrets.token_hex(96), now + self.access_token_ttl)
        with self._lock:
            self._access[grant.access_token] = grant
            self._refresh[grant.refresh_token] = grant
        return {
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl,
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
        }

    # --- upload tokens ---

    def create_upload_token(self, body: Mapping[str, Any]) -> UploadToken:
        """`POST /upload-tokens {"ttl"}`: ttl in seconds, 0 or absent for a token that never expires."""
        ttl = body.get("ttl", 0)
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
            raise invalid_attribute("ttl", "This value should be a positive integer or 0.")
        token = UploadToken(random_id("to"), ttl, self._clock())
        with self._lock:
            self._upload_tokens[token.token] = token
        return token

    def upload_token(self, token: str) -> UploadToken:
        """A live token, else api.video's 404 (an expired token is gone)."""
        with self._lock:
            found = self._upload_tokens.get(token)
        if found is None or not found.live(self._clock()):
            raise not_found("uploadToken")
        return found

    def delete_upload_token(self, token: str) -> None:
        self.upload_token(token)
        with self._lock:
            self._upload_tokens.pop(token, None)

    def upload_credential(self, token: str | None) -> UploadToken:
        """The `?token=` of `POST /upload`: missing, unknown, deleted or expired is refused (400)."""
        if not token:
            raise Problem(400, "authentication-missing-upload-token", "The upload token is missing.", "token")
        try:
            return self.upload_token(token)
        except Problem:
            raise Problem(
                400, "authentication-invalid-upload-token", "The upload token is invalid.", "token"
            ) from None

    def list_upload_tokens(self, query: Mapping[str, str]) -> dict[str, Any]:
        """`GET /upload-tokens`: live tokens, sorted and paginated as api.video does."""
        sort_by = query.get("sortBy", "createdAt")
        sort_order = query.get("sortOrder", "asc")
        if sort_by not in SORT_KEYS:
            raise invalid_query("sortBy", "This value should be one of: createdAt, ttl.")
        if sort_order not in ("asc", "desc"):
            raise invalid_query("sortOrder", "This value should be one of: asc, desc.")
        page = positive_int(query, "currentPage", 1, maximum=None)
        size = positive_int(query, "pageSize", 25, maximum=100)
        now = self._clock()
        with self._lock:
            tokens = [token for token in self._upload_tokens.values() if token.live(now)]
        key = (lambda t: t.created_at) if sort_by == "createdAt" else (lambda t: t.ttl)
        tokens.sort(key=key, reverse=sort_order == "desc")
        shown = tokens[(page - 1) * size : page * size]
        extra = {name: query[name] for name in ("sortBy", "sortOrder") if name in query}
        return {
            "data": [token.document() for token in shown],
            "pagination": pagination("/upload-tokens", len(tokens), page, size, len(shown), extra),
        }


def positive_int(query: Mapping[str, str], name: str, default: int, maximum: int | None) -> int:
    """A paging parameter (`currentPage`, `pageSize`): `default` when absent, else api.video's 400."""
    raw = query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        bounds = f"between 1 and {maximum}" if maximum else "1 or more"
        raise invalid_query(name, f"This value should be an integer {bounds}.")
    return int(raw)


def pagination(
    path: str, items: int, page: int, size: int, page_items: int, extra: dict[str, str]
) -> dict[str, Any]:
    """api.video's `pagination`: counts and `links` (previous and next only where they exist)."""
    last = max(1, -(-items // size))

    def uri(number: int) -> str:
        return f"{path}?{urlencode({**extra, 'currentPage': number, 'pageSize': size})}"

    links = [{"rel": "self", "uri": uri(page)}, {"rel": "first", "uri": uri(1)}]
    if 1 < page <= last + 1:
        links.append({"rel": "previous", "uri": uri(page - 1)})
    if page < last:
        links.append({"rel": "next", "uri": uri(page + 1)})
    links.append({"rel": "last", "uri": uri(last)})
    return {
        "currentPage": page,
        "currentPageItems": page_items,
        "pageSize": size,
        "pagesTotal": last,
        "itemsTotal": items,
        "links": links,
    }
