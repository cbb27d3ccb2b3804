"""An upload token is a credential: after a whole flow (accepted, rejected, revoked, expired) its
string is in its own record and nowhere else. And what anonymous callers and reused targets cost."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from tests.conftest import Stack, User, load_event, secrets_in
from tests.e2e.conftest import EventLog
from tests.e2e.test_uploads import CLIP, NOT_A_VIDEO, decided, send, start
from tests.waiting import eventually
from upload_service.core.ids import token_ref

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def scan(stack: Stack) -> list[dict[str, Any]]:
    """Every item of the table (a test may Scan; the service never does)."""
    dynamodb = stack.client("dynamodb")
    return [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=stack.info["tableName"])
        for item in page["Items"]
    ]


def every_key(stack: Stack) -> list[str]:
    listed = stack.client("s3").list_object_versions(Bucket=stack.info["bucketName"])
    return [entry["Key"] for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]]


def test_the_token_is_in_its_own_record_only(
    stack: Stack,
    user: User,
    invoke: Invoke,
    event_log: EventLog,
    http: requests.Session,
    token_of: Callable[..., str],
) -> None:
    # given: a token with an accepted and a rejected upload, and an open target, then revoked
    revoked = token_of(user, ttl=300)
    accepted = start(stack, revoked).json()
    send(accepted)
    rejected = start(stack, revoked).json()
    send(rejected, NOT_A_VIDEO)
    assert decided(stack, user, revoked, accepted["uploadId"])["status"] == "ACCEPTED"
    assert decided(stack, user, revoked, rejected["uploadId"])["status"] == "REJECTED"
    start(stack, revoked)  # a target never used
    assert http.delete(f"{stack.api}/upload-tokens/{revoked}", headers=user.headers()).status_code == 204
    # and a token that expires with a target open, timed out by the cleanup
    expired = token_of(user, ttl=7)
    assert start(stack, expired).status_code == 200
    time.sleep(7.5)
    invoke("CleanupFunction", load_event("cleanup"))

    # then: outside each token's own record, no item, object key, event, dead letter or log line
    # holds the token string
    for token in (revoked, expired):
        own = f"TOKEN#{token_ref(token)}"
        holders = [item for item in scan(stack) if token in json.dumps(item)]
        assert [(item["PK"]["S"], item["SK"]["S"]) for item in holders] == [(own, "TOKEN")]
        assert not [key for key in every_key(stack) if token in key]
        assert token not in json.dumps(event_log.drain())
        dead = stack.client("sqs").receive_message(
            QueueUrl=stack.info["deadLetterQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        assert token not in json.dumps(dead.get("Messages", []))
        assert token not in stack.log.read_text()
    view = http.get(f"{stack.api}/upload-tokens/{expired}", headers=user.headers()).json()
    assert view["status"] == "TIMED_OUT"
    assert [(u["status"], u["reason"]) for u in view["uploads"]] == [
        ("EXPIRED", "upload target expired unused")
    ]


def test_strings_that_name_no_token_are_refused_and_write_nothing(stack: Stack) -> None:
    def rate_items() -> int:
        return sum(1 for item in scan(stack) if item["PK"]["S"].startswith("RATE#"))

    before = rate_items()
    answers = [start(stack, "to" + uuid.uuid4().hex[:22]).status_code for _ in range(30)]  # > the limit of 20
    answers += [start(stack, f"anything-{i}").status_code for i in range(5)]

    assert answers == [404] * 35  # never 429: nothing was counted
    assert rate_items() == before


def test_a_reused_target_is_processed_too(stack: Stack, user: User, token_of: Callable[..., str]) -> None:
    """The emulator's notifications carry no sequencer: the second object of one target must still
    be processed (and deleted), not taken for a repeat of the first."""
    token = token_of(user)
    target = start(stack, token).json()
    send(target)
    assert decided(stack, user, token, target["uploadId"])["status"] == "ACCEPTED"

    send(target, CLIP[:-1] + b"!")  # the same presigned target, used again

    s3 = stack.client("s3")
    eventually(
        lambda: [key for key in every_key(stack) if key.startswith(f"uploads/{target['uploadId']}/")],
        lambda left: left == [],
        what="the second object processed",
    )
    media = f"media/{user.sub}/{target['uploadId']}/clip.mp4"
    assert s3.get_object(Bucket=stack.info["bucketName"], Key=media)["Body"].read() == CLIP


def test_a_rejected_upload_event_carries_what_arrived(
    stack: Stack, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    token = token_of(user)
    target = start(stack, token).json()
    content = NOT_A_VIDEO
    send(target, content)
    assert decided(stack, user, token, target["uploadId"])["status"] == "REJECTED"

    (event,) = eventually(lambda: event_log.about(target["uploadId"]), what="the decision's event")
    assert event["detail-type"] == "Upload Rejected"
    assert event["detail"]["size"] == len(content)
    assert event["detail"]["etag"] and event["detail"]["versionId"]
    assert event["detail"]["key"] == target["key"]
    assert secrets_in(json.dumps(event)) == []


def test_an_upload_rejected_before_it_landed_reports_what_landed(
    stack: Stack, http: requests.Session, user: User, token_of: Callable[..., str], event_log: EventLog
) -> None:
    """Revoking decides the open upload at once; the file sent later is deleted and its event still
    says what arrived."""
    token = token_of(user)
    target = start(stack, token).json()
    assert http.delete(f"{stack.api}/upload-tokens/{token}", headers=user.headers()).status_code == 204

    send(target)

    (event,) = eventually(lambda: event_log.about(target["uploadId"]), what="the decision's event")
    assert (event["detail"]["status"], event["detail"]["reason"]) == ("REJECTED", "token revoked")
    assert event["detail"]["size"] == len(CLIP)
    assert event["detail"]["etag"] and event["detail"]["versionId"]
