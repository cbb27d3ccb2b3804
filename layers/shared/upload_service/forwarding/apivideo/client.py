"""api.video's HTTP endpoints used by a delegated upload, over the shared outbound session."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from functools import lru_cache
from typing import Any

import requests

from upload_service.core.outbound import at_most_once, session
from upload_service.forwarding.apivideo.auth import Authenticator
from upload_service.forwarding.apivideo.body import ChunkBody
from upload_service.forwarding.apivideo.errors import answered, checked

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

    def create_video(self, title: str, metadata: Mapping[str, str]) -> str:
        """An empty video (`POST /videos`, api.video's "video container") with these metadata; its
        videoId. Sent at most once: a request whose answer is lost is not resent (it would make a
        second video); the caller looks for the video by its metadata instead (`videos_with`)."""
        body = {"title": title, "metadata": [{"key": key, "value": value} for key, value in metadata.items()]}
        video = self._authorized("POST", "/videos", json=body, once=True).json()
        return str(video["videoId"])

    def videos_with(self, key: str, value: str) -> list[str]:
        """The videoIds of the videos whose metadata `key` is `value`, oldest first (`GET /videos` with
        api.video's `metadata[key]=value` filter; the first page of 100 is plenty for one upload)."""
        query = {f"metadata[{key}]": value, "sortBy": "createdAt", "sortOrder": "asc", "pageSize": "100"}
        page = self._authorized("GET", "/videos", params=query).json()
        return [str(video["videoId"]) for video in page.get("data") or []]

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

    def _authorized(
        self,
        method: str,
        path: str,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        *,
        once: bool = False,
    ) -> requests.Response:
        """A bearer call; `once`: not resent after it may have reached api.video (`at_most_once`).
        A 401 is resent once whatever `once` says: api.video did nothing with it."""
        request = {"json": json, "params": params}
        response = self._send(method, path, request, self._auth.access_token(), once)
        if response.status_code == 401:
            response = self._send(method, path, request, self._auth.renew(), once)
        return checked(response)

    def _send(
        self, method: str, path: str, request: Mapping[str, Any], bearer: str, once: bool
    ) -> requests.Response:
        headers = {**ACCEPT_JSON, "Authorization": f"Bearer {bearer}"}
        with answered(), at_most_once() if once else nullcontext():
            return self._http.request(method, self.base_url + path, headers=headers, **request)


@lru_cache(maxsize=4)
def client(base_url: str, api_key: str) -> ApiVideoClient:
    """One client per base URL and key in a process, so its bearer token is reused across invocations.
    A rotated key (read again from Secrets Manager) gets a client of its own."""
    return ApiVideoClient(base_url, api_key)
