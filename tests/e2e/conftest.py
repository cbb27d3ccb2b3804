"""Helpers for HTTP tests through the local API."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, Stack, User

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Retry-After")


def assert_problem(response: requests.Response, status: int, name: str | None = None) -> dict[str, Any]:
    """A problem document of `status` (naming `name` on 400s), with the rate-limit headers."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("http")
    assert body["title"]
    if status == 400:
        assert body["name"] == name
        assert body["problems"], body
        assert {problem["name"] for problem in body["problems"]} >= {name}
        assert all(problem["status"] == 400 and problem["title"] for problem in body["problems"])
    for header in RATE_HEADERS:
        assert response.headers[header].isdigit(), header
    return body


@pytest.fixture
def create(stack: Stack, http: requests.Session) -> Callable[..., dict[str, Any]]:
    """Create a token as `user` and return it (asserting 200)."""

    def make(user: User, ttl: int | None = None) -> dict[str, Any]:
        body = {} if ttl is None else {"ttl": ttl}
        response = http.post(f"{stack.api}/upload-tokens", json=body, headers=user.headers())
        assert response.status_code == 200, response.text
        token: dict[str, Any] = response.json()
        return token

    return make


class EventLog:
    """Every event the service puts on EventBridge, routed by a rule to a queue we read."""

    def __init__(self, stack: Stack) -> None:
        self.sqs = stack.client("sqs")
        events = stack.client("events")
        self.queue_url = self.sqs.create_queue(QueueName=f"observer-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        rule = f"observe-{uuid.uuid4().hex[:8]}"
        events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["upload-tokens"]}))
        events.put_targets(Rule=rule, Targets=[{"Id": "observer", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return self.seen
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def about(self, upload_id: str, forwarding: bool = False) -> list[dict[str, Any]]:
        """The upload's events: its decision (and, with `forwarding`, what became of its forwarding)."""
        return [
            event
            for event in self.drain()
            if event["detail"].get("uploadId") == upload_id
            and (forwarding or event["detail-type"] in ("Upload Accepted", "Upload Rejected"))
        ]


@pytest.fixture(scope="module")
def event_log(stack: Stack) -> EventLog:
    return EventLog(stack)


@pytest.fixture
def token_of(stack: Stack, http: requests.Session) -> Callable[..., str]:
    def make(user: User, ttl: int = 300) -> str:
        response = http.post(f"{stack.api}/upload-tokens", json={"ttl": ttl}, headers=user.headers())
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    return make


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The repository as a second terminal at its top sees it: every top-level entry linked, and an
    empty `.local/` of its own for the test's stack file (what runs there writes only in the copy)."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for entry in ROOT.iterdir():
        if entry.name != ".local":
            (copy / entry.name).symlink_to(entry)
    (copy / ".local").mkdir()
    return copy
