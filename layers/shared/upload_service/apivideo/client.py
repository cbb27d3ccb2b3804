"""api.video's HTTP endpoints used by a delegated upload, over the shared outbound session."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import requests

from upload_service.apivideo.auth import Authenticator
from upload_service.apivideo.body import ChunkBody
from upload_service.apivideo.errors import answered, checked
from upload_service.outbound import session

PRODUCTION_URL = "https://ws.api.video"
SANDBOX_URL = "https://sandbox.api.video"
ACCEPT_JSON = {"Accept": "application/json"}


class ApiVideoClient:
    """Bearer calls re-authenticate once on a 401; upload calls carry only the upload token."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or session()
        self._auth = Authenticator(self._http, self.base_url, api_key, clock)

    def __repr__(self) -> str:
        return f"ApiVideoClient({self.base_url})"

    def create_upload_token(self, ttl: int) -> str:
        """A delegated upload token that expires after `ttl` seconds (`POST /upload-tokens`)."""
        answer = self._authorized("POST", "/upload-tokens", json={"ttl": ttl}).json()
        return str(answer["token"])

    def delete_upload_token(self, token: str) -> None:
        self._authorized("DELETE", f"/upload-tokens/{token}")

    def received_bytes(self, video_id: str) -> int:
        """How many bytes from the start api.video holds of a video being uploaded: the contiguous
        ranges of `GET /videos/{videoId}/status`'s `ingest.receivedBytes` (its acknowledgements may
        have been lost on the way, or never recorded)."""
        ingest = self._authorized("GET", f"/videos/{video_id}/status").json().get("ingest") or {}
        held = 0
        for received in sorted(ingest.get("receivedBytes") or [], key=lambda r: int(r.get("from", 0))):
            if int(received.get("from", 0)) > held:
                break
            held = max(held, int(received.get("to", -1)) + 1)
        return held

    def upload(self, token: str, body: ChunkBody, content_range: str | None = None) -> dict[str, Any]:
        """`POST /upload?token=`: the whole file, or one chunk of it with its `Content-Range`.
        Returns api.video's Video object (its `videoId` among the fields)."""
        headers = {**ACCEPT_JSON, "Content-Type": body.content_type}
        if content_range:
            headers["Content-Range"] = content_range
        with answered():
            response = self._http.post(
                self.base_url + "/upload", params={"token": token}, data=body, headers=headers
            )
        video: dict[str, Any] = checked(response).json()
        return video

    def _authorized(self, method: str, path: str, json: Mapping[str, Any] | None = None) -> requests.Response:
        response = self._send(method, path, json, self._auth.access_token())
        if response.status_code == 401:
            response = self._send(method, path, json, self._auth.renew())
        return checked(response)

    def _send(self, method: str, path: str, json: Mapping[str, Any] | None, bearer: str) -> requests.Response:
        headers = {**ACCEPT_JSON, "Authorization": f"Bearer {bearer}"}
        with answered():
            return self._http.request(method, self.base_url + path, json=json, headers=headers)


@lru_cache(maxsize=4)
def client(base_url: str, api_key: str) -> ApiVideoClient:
    """One client per base URL and key in a process, so its bearer token is reused across invocations.
    A rotated key (read again from Secrets Manager) gets a client of its own."""
    return ApiVideoClient(base_url, api_key)
