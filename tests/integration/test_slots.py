"""What a token holds and for how long: targets handed out and never used stop counting, a revoked
token's open uploads are decided, every item of a token is purged with it, and minting at the cap
does bounded work with true answers under parallel requests."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from tests.conftest import load_event
from tests.integration.conftest import clean_up_all
from tests.waiting import PATIENCE
from upload_service.core import aws
from upload_service.core.config import get_settings
from upload_service.core.errors import ActiveTokenLimitReached, TokenNotFound, UploadLimitReached
from upload_service.core.ids import generate_token
from upload_service.core.records import TokenRecord, TokenStatus, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import Repository, default_repository
from upload_service.http.auth import Caller
from upload_service.tokens import access, revocation
from upload_service.uploads import expiry, starting
from upload_service.uploads.file_rules import StartUploadRequest

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def caller(user_id: str) -> Caller:
    return Caller(user_id=user_id, username=user_id, groups=frozenset(), is_admin=False)


def request() -> StartUploadRequest:
    body = {"fileName": "clip.mp4", "fileSize": 100, "contentType": "video/mp4"}
    return StartUploadRequest.model_validate(body, context=get_settings())


def live_token(owner: str, created: datetime | None = None, ttl: int = 3600) -> TokenRecord:
    record = TokenRecord.new(generate_token(), owner, ttl, created or datetime.now(UTC))
    default_repository().create_token(record, max_live=10_000)
    return record


def items_of(repo: Repository, record: TokenRecord) -> list[dict[str, Any]]:
    """Every item stored under the token's partition, and the pointers of its uploads."""
    found = repo.client.query(
        TableName=repo.table_name,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TOKEN#{record.ref}"}},
        ConsistentRead=True,
    )["Items"]
    pointers = [
        repo.client.get_item(
            TableName=repo.table_name,
            Key={"PK": {"S": f"UPLOAD#{item['uploadId']['S']}"}, "SK": {"S": "UPLOAD"}},
        )["Item"]
        for item in found
        if item["SK"]["S"].startswith("UPLOAD#")
    ]
    return [*found, *pointers]


def test_targets_that_expired_unused_stop_counting(lambda_env: dict[str, str]) -> None:
    # given: a token whose whole allowance (3) was handed out as targets, never used
    settings = get_settings()
    repo, storage = default_repository(), default_storage()
    record = live_token(f"slots-{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC)
    targets = [starting.start_upload(repo, storage, record, request(), settings, now) for _ in range(3)]
    with pytest.raises(UploadLimitReached):
        starting.start_upload(repo, storage, record, request(), settings, now)

    # when: the cleanup runs after the targets expired (and their grace)
    later = now + timedelta(seconds=settings.upload_target_ttl + settings.cleanup_grace_seconds + 1)
    report = clean_up_all(repo, storage, settings, later)

    # then: each is EXPIRED with its reason, and the token can upload again
    assert report.uploads_expired >= 3
    for target in targets:
        upload = repo.get_upload(target.upload_id)
        assert upload is not None and (upload.status, upload.reason) == (
            UploadStatus.EXPIRED,
            expiry.TARGET_EXPIRED,
        )
    assert repo.get_token(record.token).uploads_reserved == 0  # type: ignore[union-attr]
    starting.start_upload(repo, storage, record, request(), settings, later)


def test_revoking_decides_the_open_uploads_and_every_item_is_purged_later(lambda_env: dict[str, str]) -> None:
    settings = get_settings()
    repo, storage = default_repository(), default_storage()
    owner = f"slots-{uuid.uuid4().hex[:8]}"
    record = live_token(owner)
    now = datetime.now(UTC)
    targets = [starting.start_upload(repo, storage, record, request(), settings, now) for _ in range(2)]

    revocation.revoke(repo, caller(owner), record.token, settings, now)

    for target in targets:
        upload = repo.get_upload(target.upload_id)
        assert upload is not None and (upload.status, upload.reason) == (
            UploadStatus.REJECTED,
            "token revoked",
        )
    ended = repo.get_token(record.token)
    assert ended is not None and (ended.status, ended.uploads_open) == (TokenStatus.DELETED, 0)
    retention = timedelta(days=settings.record_retention_days)
    items = items_of(repo, record)
    assert len(items) == 1 + 2 * 2  # the token, two uploads, two pointers
    for item in items:  # DynamoDB's TTL removes each, within the retention
        assert int(item["purgeAt"]["N"]) <= (now + retention + timedelta(minutes=20)).timestamp(), item["SK"]


def test_accepted_uploads_are_purged_too(invoke: Invoke, lambda_env: dict[str, str]) -> None:
    from tests.integration.test_processing import notification_message, seed_upload, sqs_event

    upload = seed_upload(f"slots-{uuid.uuid4().hex[:8]}")
    invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "purge-1")))

    repo = default_repository()
    accepted = repo.get_upload(upload.upload_id)
    assert accepted is not None and accepted.status is UploadStatus.ACCEPTED
    item = repo.client.get_item(
        TableName=repo.table_name,
        Key={"PK": {"S": f"TOKEN#{upload.token_ref}"}, "SK": {"S": f"UPLOAD#{upload.upload_id}"}},
    )["Item"]
    assert "purgeAt" in item and "openAll" not in item  # out of the open-uploads index


def test_a_revoke_racing_a_start_is_a_404(lambda_env: dict[str, str]) -> None:
    settings = get_settings()
    repo, storage = default_repository(), default_storage()
    owner = f"slots-{uuid.uuid4().hex[:8]}"
    record = live_token(owner)
    revocation.revoke(repo, caller(owner), record.token, settings, datetime.now(UTC))

    with pytest.raises(TokenNotFound):  # `record` as read just before the revoke
        starting.start_upload(repo, storage, record, request(), settings, datetime.now(UTC))


class CallsPerThread:
    """DynamoDB calls made by each thread (botocore runs hooks in the calling thread)."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.counts: list[Counter[str]] = []

    def __call__(self, model: Any, **_: Any) -> None:
        if not hasattr(self.local, "count"):
            self.local.count = Counter()
            self.counts.append(self.local.count)
        self.local.count[model.name] += 1


def test_parallel_creates_at_the_cap_with_expired_tokens(lambda_env: dict[str, str]) -> None:
    """Sized for the emulator, which runs DynamoDB requests one at a time: each create at the cap is
    a transaction of 3 items plus one check per expired token counted as free (on AWS 100 items are
    milliseconds; here 30 such transactions queued behind each other outlast a 5 s read timeout on a
    busy machine)."""
    # given: a cap of 30, 30 tokens that expired (not cleaned up yet) and 25 live ones
    settings = get_settings().model_copy(update={"max_active_tokens": 30})
    repo = default_repository()
    owner = f"cap-{uuid.uuid4().hex[:8]}"
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    for _ in range(30):
        live_token(owner, created=long_ago, ttl=60)
    for _ in range(25):
        live_token(owner)
    calls = CallsPerThread()
    client = aws.dynamodb()
    client.meta.events.register("before-call.dynamodb", calls)

    # when: 20 creates at once, each in a thread of its own
    def create(_: int) -> str:
        try:
            access.mint(repo, caller(owner), 300, settings, datetime.now(UTC))
        except ActiveTokenLimitReached:
            return "403"
        return "200"

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = Counter(pool.map(create, range(20)))
    finally:
        client.meta.events.unregister("before-call.dynamodb", calls)

    # then: exactly the 5 free slots are taken, the rest told the truth, each with bounded work
    assert answers == {"200": 5, "403": 15}
    assert repo.count_live(owner, datetime.now(UTC)) == 30
    assert all(sum(count.values()) <= 4 and "Scan" not in count for count in calls.counts), calls.counts
    clean_up_all(repo, default_storage(), settings, datetime.now(UTC))  # ended, as the cleanup would


def test_dynamodb_not_answering_is_a_503_with_retry_after(invoke: Invoke) -> None:
    client = aws.dynamodb()

    def time_out(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="http://dynamodb.injected")

    client.meta.events.register("before-send.dynamodb", time_out)
    try:
        result = invoke("CreateTokenFunction", load_event("create_token"))
    finally:
        client.meta.events.unregister("before-send.dynamodb", time_out)

    assert result["statusCode"] == 503, result
    assert result["headers"]["Retry-After"] == "1"


def test_a_token_starts_at_most_its_attempts_in_all(lambda_env: dict[str, str]) -> None:
    """Rejected and expired uploads give their slot back, but each start counts: what one token can
    accumulate (and what its view reads) is bounded by UploadAttemptsPerToken."""
    settings = get_settings().model_copy(update={"uploads_per_token": 2, "upload_attempts_per_token": 3})
    repo, storage = default_repository(), default_storage()
    record = live_token(f"slots-{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC)
    for _ in range(2):
        starting.start_upload(repo, storage, record, request(), settings, now)
    later = now + timedelta(seconds=settings.upload_target_ttl + settings.cleanup_grace_seconds + 1)
    clean_up_all(repo, storage, settings, later)  # both slots free again

    starting.start_upload(repo, storage, record, request(), settings, later)  # the third attempt
    with pytest.raises(UploadLimitReached):
        starting.start_upload(repo, storage, record, request(), settings, later)
    assert len(repo.get_token_with_uploads(record.ref)[1]) == 3


def test_the_cap_holds_while_the_cleanup_ends_the_expired_tokens_counted_as_free(
    lambda_env: dict[str, str],
) -> None:
    """10 creates at the cap each read the owner's 5 expired tokens as free; the cleanup ends them
    all before any create writes. Counting them as free then would let all 10 in (10 live tokens
    for a cap of 5): the creates' own transactions check they are still counted, and read again."""
    settings = get_settings().model_copy(update={"max_active_tokens": 5})
    repo = default_repository()
    owner = f"cap-race-{uuid.uuid4().hex[:8]}"
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    for _ in range(5):
        live_token(owner, created=long_ago, ttl=60)
    creates = 10
    all_read, go_on = threading.Barrier(creates + 1, timeout=PATIENCE), threading.Event()
    creating = threading.local()

    def hold_after_the_first_read(**_: Any) -> None:
        if getattr(creating, "first_read", False):
            creating.first_read = False
            all_read.wait()
            go_on.wait(timeout=PATIENCE)

    def create(_: int) -> str:
        creating.first_read = True
        try:
            access.mint(repo, caller(owner), 300, settings, datetime.now(UTC))
        except ActiveTokenLimitReached:
            return "403"
        return "200"

    client = aws.dynamodb()
    client.meta.events.register("after-call.dynamodb.Query", hold_after_the_first_read)
    try:
        with ThreadPoolExecutor(max_workers=creates) as pool:
            answers = pool.map(create, range(creates))
            all_read.wait()  # every create read the 5 expired tokens as free...
            ended = clean_up_all(repo, default_storage(), settings, datetime.now(UTC))  # ...now ended
            go_on.set()
            counted = Counter(answers)
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", hold_after_the_first_read)

    assert ended.tokens_timed_out >= 5
    assert counted == {"200": 5, "403": 5}
    assert repo.count_live(owner, datetime.now(UTC)) == 5
