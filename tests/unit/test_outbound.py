"""The shared outbound HTTP session against a real local server answering scripted status sequences.

Waits are recorded by an injected sleep that advances a fake clock; nothing here really sleeps
except the timeout tests, which need a server that is slow for real.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from local_stack.http_handler import Server
from tests.unit.scripted import FakeClock, serving
from upload_service.core import outbound
from upload_service.core.outbound import BoundedRetry, RetryLater, build_session, deadline, retry_after


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


@dataclass(frozen=True)
class Attempt:
    method: str
    path: str
    body: bytes


class ScriptedServer(Server):
    """Answers each request with the next scripted reply, then 200 once the script is done. A slow
    reply is cut short when the server closes, so no handler outlives its test."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.replies: list[Reply] = []
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()

    def server_close(self) -> None:
        self.closing.set()
        super().server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_reply(self, attempt: Attempt) -> Reply:
        with self.lock:
            self.attempts.append(attempt)
            return self.replies.pop(0) if self.replies else Reply()


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedServer

    def do_GET(self) -> None:
        self.answer()

    do_POST = do_PUT = do_DELETE = do_GET

    def answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.next_reply(Attempt(self.command, self.path, body))
        if reply.drop:
            self.close_connection = True
            return
        if self.server.closing.wait(reply.delay):
            return
        try:
            self.send_response(reply.status)
            for name, value in {**reply.headers, "Content-Length": "2"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass  # the client gave up (a timeout under test)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with serving(ScriptedServer()) as httpd:
        yield httpd


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def steady_retry(clock: FakeClock, total: int = 5) -> BoundedRetry:
    """Backoff without jitter (1 s factor: 0, 2, 4, 8 s), so waits can be asserted exactly."""
    return BoundedRetry(
        total=total,
        status_forcelist=outbound.RETRIED_STATUSES,
        allowed_methods=outbound.RETRIED_METHODS,
        backoff_factor=1,
        raise_on_status=False,
        sleep=clock.sleep,
    )


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retried_statuses_are_retried_until_success_resending_the_body(
    server: ScriptedServer, clock: FakeClock, status: int
) -> None:
    server.replies = [Reply(status), Reply(status)]
    http = build_session(sleep=clock.sleep)

    response = http.post(server.url + "/chunk", data=io.BytesIO(b"payload"))

    assert response.status_code == 200
    assert [a.body for a in server.attempts] == [b"payload"] * 3
    assert all(a.method == "POST" for a in server.attempts)


def test_the_default_policy_backs_off_exponentially_with_jitter() -> None:
    retry = outbound.default_retry()
    assert "POST" in (retry.allowed_methods or ())
    assert set(retry.status_forcelist) == {429, 502, 503, 504}
    assert retry.backoff_factor > 0
    assert retry.backoff_jitter > 0


def test_a_dropped_connection_is_retried(server: ScriptedServer, clock: FakeClock) -> None:
    server.replies = [Reply(drop=True), Reply(drop=True)]

    response = build_session(sleep=clock.sleep).post(server.url + "/chunk", data=b"payload")

    assert response.status_code == 200
    assert len(server.attempts) == 3


def test_a_refused_connection_is_retried_with_backoff(clock: FakeClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    http = build_session(retry=steady_retry(clock, total=3))

    with pytest.raises(requests.ConnectionError):
        http.get(f"http://127.0.0.1:{port}/")

    assert clock.slept == [2.0, 4.0]  # 4 attempts: no wait before the first retry


def test_a_400_is_not_retried(server: ScriptedServer, clock: FakeClock) -> None:
    server.replies = [Reply(400)]

    response = build_session(sleep=clock.sleep).post(server.url + "/x", json={})

    assert response.status_code == 400
    assert len(server.attempts) == 1
    assert clock.slept == []


@pytest.mark.parametrize("reply", [Reply(drop=True), Reply(503), Reply(502), Reply(504)])
def test_at_most_once_a_request_that_may_have_reached_the_server_is_not_sent_again(
    server: ScriptedServer, clock: FakeClock, reply: Reply
) -> None:
    """A request that creates something (api.video's `POST /videos`) would create it twice."""
    server.replies = [reply]
    http = build_session(sleep=clock.sleep)

    with outbound.at_most_once():
        if reply.drop:
            with pytest.raises(requests.ConnectionError):
                http.post(server.url + "/videos", json={"title": "a"})
        else:
            assert http.post(server.url + "/videos", json={"title": "a"}).status_code == reply.status
    again = http.post(server.url + "/videos", json={"title": "b"})  # outside: retried as ever

    assert [a.body for a in server.attempts] == [b'{"title": "a"}', b'{"title": "b"}']
    assert again.status_code == 200
    assert clock.slept == []


def test_at_most_once_a_429_and_a_refused_connection_are_still_retried(
    server: ScriptedServer, clock: FakeClock
) -> None:
    """A 429 was refused unprocessed, and a refused connection sent nothing: both are safe to resend."""
    server.replies = [Reply(429, {"X-RateLimit-Retry-After": "2"})]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with outbound.at_most_once():
        throttled = build_session(sleep=clock.sleep).post(server.url + "/videos", json={})
        with pytest.raises(requests.ConnectionError):
            build_session(retry=steady_retry(clock, total=2)).post(f"http://127.0.0.1:{port}/videos", json={})

    assert throttled.status_code == 200
    assert len(server.attempts) == 2
    assert clock.slept == [2.0, 2.0]  # the 429's wait, then one backoff before the last connection try


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"X-RateLimit-Retry-After": "7"}, 7.0),
        ({"X-RateLimit-Retry-After": "5", "Retry-After": "1"}, 5.0),
        ({"X-RateLimit-Retry-After": "0.5"}, 0.5),
    ],
)
def test_a_429_waits_what_the_server_says(
    server: ScriptedServer, clock: FakeClock, headers: dict[str, str], wait: float
) -> None:
    server.replies = [Reply(429, headers), Reply(429, headers)]

    response = build_session(sleep=clock.sleep).get(server.url + "/x")

    assert response.status_code == 200
    assert clock.slept == [wait, wait]


def test_a_5xx_ignores_the_rate_limit_window_api_video_sends_on_every_answer(
    server: ScriptedServer, clock: FakeClock
) -> None:
    """`X-RateLimit-Retry-After` is when api.video's rate window resets, on every answer: a 503 that
    carries it is retried after the backoff, not after the window."""
    server.replies = [Reply(503, {"X-RateLimit-Retry-After": "55"})]

    response = build_session(sleep=clock.sleep).get(server.url + "/x")

    assert response.status_code == 200
    assert 55 not in clock.slept and all(wait < 2 for wait in clock.slept)


@pytest.mark.parametrize(("asked", "waits"), [(8, True), (9, False)])
def test_a_wait_past_the_deadline_raises_retry_later_without_sleeping(
    server: ScriptedServer, clock: FakeClock, asked: int, waits: bool
) -> None:
    server.replies = [Reply(429, {"X-RateLimit-Retry-After": str(asked)})]
    http = build_session(sleep=clock.sleep)

    with deadline(clock.remaining(10), margin=2):  # 8 s may be waited
        if waits:
            assert http.get(server.url + "/x").status_code == 200
        else:
            with pytest.raises(RetryLater) as raised:
                http.get(server.url + "/x")
            assert raised.value.after_seconds == asked

    assert clock.slept == ([asked] if waits else [])
    assert len(server.attempts) == (2 if waits else 1)


def test_waits_already_made_count_against_the_deadline(server: ScriptedServer, clock: FakeClock) -> None:
    server.replies = [Reply(429, {"X-RateLimit-Retry-After": "5"})] * 2
    http = build_session(sleep=clock.sleep)

    with deadline(clock.remaining(10), margin=2), pytest.raises(RetryLater):
        http.get(server.url + "/x")

    assert clock.slept == [5]
    assert len(server.attempts) == 2


def test_backoff_is_bounded_by_the_deadline(server: ScriptedServer, clock: FakeClock) -> None:
    server.replies = [Reply(503)] * 5
    http = build_session(retry=steady_retry(clock))

    with deadline(clock.remaining(10), margin=1) as bound, pytest.raises(RetryLater) as raised:
        http.get(server.url + "/x")

    assert clock.slept == [2.0, 4.0]  # the next, 8 s, is more than the 3 s left
    assert raised.value.after_seconds == 8.0
    assert bound.retries == 4


def test_without_a_deadline_a_long_wait_is_still_refused(server: ScriptedServer, clock: FakeClock) -> None:
    server.replies = [Reply(429, {"Retry-After": "3600"})]

    with pytest.raises(RetryLater):
        build_session(sleep=clock.sleep).get(server.url + "/x")

    assert clock.slept == []


def test_a_deadline_already_passed_sends_nothing(server: ScriptedServer, clock: FakeClock) -> None:
    with deadline(lambda: 1.0, margin=1.0), pytest.raises(RetryLater):
        build_session(sleep=clock.sleep).get(server.url + "/x")

    assert server.attempts == []


#: A reply slower than any test waits: a call that did not time out would hang for this long.
NEVER = 120.0


def test_every_call_gets_the_session_timeout(server: ScriptedServer, clock: FakeClock) -> None:
    server.replies = [Reply(delay=NEVER)]
    http = build_session(timeout=(1.0, 0.2), sleep=clock.sleep)

    response = http.post(server.url + "/x", data=b"payload")  # no timeout named by the caller

    assert response.status_code == 200
    assert len(server.attempts) == 2  # the slow one timed out and was retried


def test_timeouts_are_cut_to_the_deadline(server: ScriptedServer, clock: FakeClock) -> None:
    server.replies = [Reply(delay=NEVER)] * 3
    http = build_session(sleep=clock.sleep)  # a 60 s read timeout by default
    started = time.monotonic()
    end = started + 0.3

    with deadline(lambda: end - time.monotonic(), margin=0), pytest.raises(RetryLater):
        http.get(server.url + "/x")

    assert time.monotonic() - started < NEVER / 4  # cut to the deadline, not the 60 s default


def test_logs_name_the_path_but_never_the_query(
    server: ScriptedServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server.replies = [Reply(503)]

    with caplog.at_level(logging.DEBUG):  # urllib3's own debug lines included
        build_session(sleep=clock.sleep).post(server.url + "/upload?token=to0secret0token", data=b"x")

    [ours] = [r for r in caplog.records if r.getMessage() == "Retrying an outbound call"]
    assert (ours.__dict__["method"], ours.__dict__["path"], ours.__dict__["status"]) == (
        "POST",
        "/upload",
        503,
    )
    assert "/upload" in caplog.text
    assert "secret" not in caplog.text + repr([r.__dict__ for r in caplog.records])


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"X-RateLimit-Retry-After": "2", "Retry-After": "9"}, 2.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"X-RateLimit-Retry-After": "soon", "Retry-After": "4"}, 4.0),
        ({"Retry-After": "-3"}, 0.0),
        ({}, None),
    ],
)
def test_retry_after_reads_both_headers(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers) == seconds


@pytest.mark.usefixtures("fresh_process_caches")
def test_one_session_per_process() -> None:
    assert outbound.session() is outbound.session()
