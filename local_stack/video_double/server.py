"""`VideoDouble`: the api.video double as an object: start it, point a client at `.url` with
`.api_key`, script faults and read counters; the same hooks are served under `/_double/`."""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from local_stack.http_handler import OneHandlerPerRequest, Server
from local_stack.video_double import control
from local_stack.video_double.accounts import Accounts
from local_stack.video_double.multipart import BodyReader, MalformedBody
from local_stack.video_double.platform import Platform
from local_stack.video_double.problems import Problem, invalid_payload, server_error
from local_stack.video_double.routes import Api, Reply
from local_stack.video_double.traffic import Fault, Faults, RateLimiter

#: api.video's production limit on upload requests; its sandbox allows 40.
UPLOADS_PER_MINUTE = 100
#: Other requests: generous, so only scripted faults or upload bursts meet a 429.
REQUESTS_PER_MINUTE = 1000
ACCESS_TOKEN_TTL = 3600


class VideoDouble:
    """api.video on `host:port` (0: any free port), in a daemon thread of this process."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        rate_limit_per_minute: int = UPLOADS_PER_MINUTE,
        access_token_ttl: int = ACCESS_TOKEN_TTL,
        storage_dir: Path | str | None = None,
        api_rate_limit_per_minute: int = REQUESTS_PER_MINUTE,
    ) -> None:
        self.host = host
        self.port = port
        self._clock_offset = 0.0
        self._storage = Path(tempfile.mkdtemp(prefix="video-double-", dir=storage_dir))
        self.accounts = Accounts(api_key or secrets.token_urlsafe(32), access_token_ttl, self.now)
        self.platform = Platform(self.accounts, self._storage, self.now)
        self.limiter = RateLimiter(
            {"upload": rate_limit_per_minute, "api": api_rate_limit_per_minute}, self.now
        )
        self.faults = Faults()
        self.api = Api(self.accounts, self.platform, self.limiter, self.faults)
        self._server: Server | None = None

    # --- lifecycle ---

    def start(self) -> VideoDouble:
        self._server = Server((self.host, self.port), _handler_for(self))
        self.port = int(self._server.server_address[1])
        self.platform.base_url = self.url
        serve = self._server.serve_forever
        threading.Thread(
            target=serve, kwargs={"poll_interval": 0.05}, name="video-double", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        shutil.rmtree(self._storage, ignore_errors=True)

    def __enter__(self) -> VideoDouble:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.accounts.api_key

    def now(self) -> float:
        """The double's clock: wall time, plus whatever `advance_clock` added."""
        return time.time() + self._clock_offset

    # --- faults and time (also POST /_double/...) ---

    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        route: str | None = "upload",
        body: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next `times` requests of `route` are answered `status` (api.video's body, or `body`)."""
        self.add_fault(Fault(times, route, status, retry_after, body))

    def throttle_next(self, times: int = 1, retry_after: int = 1, route: str | None = "upload") -> None:
        """The next `times` requests of `route` get api.video's 429 with `X-RateLimit-Retry-After`."""
        self.fail_next(429, times, route, retry_after=retry_after)

    def lose_next_response(
        self, times: int = 1, route: str | None = "upload", method: str | None = None
    ) -> None:
        """The next `times` requests of `route` (and `method`) take effect, then the connection closes
        unanswered."""
        self.add_fault(Fault(times, route, lose_response=True, method=method))

    def clear_faults(self) -> None:
        self.faults.clear()

    def expire_access_tokens(self) -> None:
        self.accounts.expire_access_tokens()

    def advance_clock(self, seconds: float) -> None:
        """Moves time on for token expiry and rate windows (not for what is already dated)."""
        self._clock_offset += seconds

    def set_rate_limit(self, uploads_per_minute: int) -> None:
        self.limiter.limits["upload"] = uploads_per_minute

    def reset(self) -> None:
        """Forget videos, counters, faults and rate windows; keys and tokens stay valid."""
        self.platform.reset()
        self.faults.clear()
        self.limiter.reset()

    # --- counters (also GET /_double/...) ---

    def stats(self) -> dict[str, Any]:
        return {**self.platform.stats(), "faults": self.faults.pending()}

    def video_stats(self, video_id: str) -> dict[str, Any]:
        return self.platform.video_stats(video_id)

    @property
    def upload_requests(self) -> int:
        return len(self.platform.attempts)

    @property
    def bytes_received(self) -> int:
        return self.platform.bytes_received

    @property
    def video_ids(self) -> list[str]:
        return list(self.platform.videos)

    def sha256(self, video_id: str) -> str:
        """Of the assembled source (a Problem 409 until complete)."""
        return self.platform.sha256(video_id)


def _handler_for(double: VideoDouble) -> type[_Handler]:
    class Handler(_Handler):
        owner = double

    return Handler


class _Handler(OneHandlerPerRequest):
    owner: VideoDouble
    server_version = "api.video-double"

    def _handle(self) -> None:
        url = urlsplit(self.path)
        try:
            headers = {name.lower(): value for name, value in self.headers.items()}
            body = BodyReader(self.rfile, headers.get("content-length"), headers.get("transfer-encoding"))
            if url.path.startswith(control.PREFIX):
                reply = control.handle(self.owner, self.command, url.path, body)
            else:
                reply = self.owner.api.handle(self.command, url, headers, body)
        except MalformedBody as exc:
            reply = Reply.of(invalid_payload(str(exc)), close=True)
        except Problem as problem:  # a Problem outside an operation (e.g. the 409 of an incomplete source)
            reply = Reply.of(problem)
        except Exception:
            print(f"video double: {self.command} {url.path} failed", flush=True)
            traceback.print_exc()
            reply = Reply.of(server_error(500), close=True)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.lost:
            self.close_connection = True
            return
        payload = b"" if reply.document is None else json.dumps(reply.document).encode()
        self.send_response(reply.status, _phrase(reply.status))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.document is not None:
            self.send_header("Content-Type", "application/json")
        if reply.status != 204:
            self.send_header("Content-Length", str(reply.length if reply.stream else len(payload)))
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if reply.stream is not None:
            for block in reply.stream:
                self.wfile.write(block)
        elif payload:
            self.wfile.write(payload)


def _phrase(status: int) -> str:
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
