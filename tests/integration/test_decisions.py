"""Decide first, move after: races injected at the moment an arrival is checked or moved (a revoke,
the cleanup, the same key written again) and a file past the managed-copy threshold. Whatever the
race, `media/` holds exactly the ACCEPTED uploads, byte for byte what was checked, with the ETag the
record and the event carry."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from local_stack.iam.acting import running_as
from tests.conftest import Published
from tests.integration.conftest import clean_up_all
from tests.integration.test_processing import CLIP, notification_message, seed_upload, sqs_event
from tests.media_files import mp4
from upload_service.core import aws
from upload_service.core.config import get_settings
from upload_service.core.records import TokenRecord, TokenStatus, UploadRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.repository import default_repository
from upload_service.http.auth import Caller
from upload_service.tokens import revocation
from upload_service.uploads import landing
from upload_service.uploads.notifications import Arrival

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def seed(owner: str, content: bytes = CLIP) -> tuple[TokenRecord, UploadRecord]:
    """A live token, one PENDING upload of it and the object, landed."""
    upload = seed_upload(owner, content=content, declared=len(content))
    token = default_repository().get_token_by_ref(upload.token_ref)
    assert token is not None
    return token, upload


@contextmanager
def at_call(service: str, operation: str, action: Callable[[], object], by: str) -> Iterator[None]:
    """Run `action` once, as the function `by` (its calls judged by that function's role), just before
    the first `operation` call to `service` goes out (by any of the layer's clients of it: S3's copies
    go through a client of their own)."""
    clients = [aws.client(service), *([aws.copy_client()] if service == "s3" else [])]
    event = f"before-call.{clients[0].meta.service_model.service_id.hyphenize()}.{operation}"
    done = {"once": False}

    def run(**_: Any) -> None:
        if not done["once"]:
            done["once"] = True
            with running_as(by):
                action()

    for client in clients:
        client.meta.events.register(event, run)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister(event, run)
    assert done["once"], f"{operation} was never called"


def media_of(owner: str) -> dict[str, tuple[bytes, str]]:
    """Every object under the owner's media/ prefix (all versions): key -> (bytes, ETag)."""
    storage = default_storage()
    listed = storage.client.list_object_versions(Bucket=storage.bucket, Prefix=f"media/{owner}/")
    found = {}
    for version in listed.get("Versions", []):
        got = storage.client.get_object(
            Bucket=storage.bucket, Key=version["Key"], VersionId=version["VersionId"]
        )
        found[version["Key"]] = (got["Body"].read(), got["ETag"].strip('"'))
    return found


def revoke(token: TokenRecord) -> Callable[[], object]:
    owner = Caller(user_id=token.user_id, username="owner", groups=frozenset(), is_admin=False)
    return lambda: revocation.revoke(
        default_repository(), owner, token.token, get_settings(), datetime.now(UTC)
    )


def test_a_revoke_before_the_decision_rejects_and_moves_nothing(invoke: Invoke, published: Published) -> None:
    owner = f"race-{uuid.uuid4().hex[:8]}"
    token, upload = seed(owner)

    with at_call("s3", "HeadObject", revoke(token), by="RevokeTokenFunction"):
        result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "r1")))

    assert result == {"batchItemFailures": []}
    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None and (decided.status, decided.reason) == (
        UploadStatus.REJECTED,
        "token revoked",
    )
    assert media_of(owner) == {}
    assert default_storage().head(upload.key) is None
    assert published.about(upload.upload_id) == ["Upload Rejected"]


def test_a_revoke_at_the_move_keeps_what_was_accepted(invoke: Invoke, published: Published) -> None:
    owner = f"race-{uuid.uuid4().hex[:8]}"
    token, upload = seed(owner)

    with at_call("s3", "CopyObject", revoke(token), by="RevokeTokenFunction"):
        result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "r2")))

    assert result == {"batchItemFailures": []}
    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None and decided.status is UploadStatus.ACCEPTED  # it landed while the token lived
    assert media_of(owner) == {upload.media_key: (CLIP, decided.etag)}
    assert decided.etag == hashlib.md5(CLIP).hexdigest()
    assert published.about(upload.upload_id) == ["Upload Accepted"]


def test_the_cleanup_at_the_move_keeps_what_was_accepted(invoke: Invoke, published: Published) -> None:
    owner = f"race-{uuid.uuid4().hex[:8]}"
    _, upload = seed(owner)
    later = datetime.now(UTC) + timedelta(days=1)  # the token and the target long expired by then
    repo, storage = default_repository(), default_storage()

    with at_call(
        "s3", "CopyObject", lambda: clean_up_all(repo, storage, get_settings(), later), by="CleanupFunction"
    ):
        result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "r3")))

    assert result == {"batchItemFailures": []}
    decided = repo.get_upload(upload.upload_id)
    assert decided is not None and decided.status is UploadStatus.ACCEPTED
    assert media_of(owner) == {upload.media_key: (CLIP, decided.etag)}


def test_the_cleanup_before_the_decision_decides_what_landed_in_time_once(
    invoke: Invoke, published: Published
) -> None:
    """The cleanup runs a day later, just as the processor decides: the object landed in time, so the
    cleanup decides it by the landing rules (ACCEPTED, delivered), and the processor finds it decided."""
    owner = f"race-{uuid.uuid4().hex[:8]}"
    token, upload = seed(owner)
    later = datetime.now(UTC) + timedelta(days=1)
    repo, storage = default_repository(), default_storage()

    with at_call(
        "dynamodb",
        "TransactWriteItems",
        lambda: clean_up_all(repo, storage, get_settings(), later),
        by="CleanupFunction",
    ):
        result = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "r4")))

    assert result == {"batchItemFailures": []}
    decided = repo.get_upload(upload.upload_id)
    assert decided is not None and decided.status is UploadStatus.ACCEPTED
    assert decided.delivered_at is not None
    assert media_of(owner) == {upload.media_key: (CLIP, decided.etag)}
    assert storage.head(upload.key) is None
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    assert repo.get_token(token.token).status is TokenStatus.TIMED_OUT  # type: ignore[union-attr]


def test_an_overwrite_at_the_move_moves_the_bytes_that_were_checked(
    invoke: Invoke, published: Published
) -> None:
    owner = f"race-{uuid.uuid4().hex[:8]}"
    _, upload = seed(owner)
    storage = default_storage()

    def overwrite() -> None:  # a second POST to the same presigned target
        storage.client.put_object(
            Bucket=storage.bucket, Key=upload.key, Body=b"other bytes", ContentType="video/mp4"
        )

    with at_call("s3", "CopyObject", overwrite, by="StartUploadFunction"):  # the POST it signed
        first = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "r5")))
    # the second object's own notification arrives too
    second = invoke("ProcessUploadFunction", sqs_event(notification_message(upload, "r6")))

    assert first == second == {"batchItemFailures": []}
    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None and decided.status is UploadStatus.ACCEPTED
    assert decided.object_size == len(CLIP)
    assert media_of(owner) == {upload.media_key: (CLIP, decided.etag)}
    assert storage.head(upload.key) is None  # every version of the landing key is gone
    assert published.about(upload.upload_id) == ["Upload Accepted"]
    (event,) = [e for e in published.entries if e["Detail"].get("uploadId") == upload.upload_id]
    assert (event["Detail"]["size"], event["Detail"]["etag"]) == (len(CLIP), decided.etag)


def test_a_file_past_the_managed_copy_threshold_keeps_its_etag(lambda_env: dict[str, str]) -> None:
    """boto3's managed copy splits an object over 8 MiB into parts (ETag `...-2`); one CopyObject
    keeps the ETag the record and the event carry."""
    owner = f"race-{uuid.uuid4().hex[:8]}"
    content = mp4(b"z" * (9 * 1024 * 1024))
    _, upload = seed(owner, content)
    settings = get_settings().model_copy(update={"max_upload_bytes": 20 * 1024 * 1024})
    arrival = Arrival(default_storage().bucket, upload.key, datetime.now(UTC))

    decision = landing.process_arrival(
        default_repository(), default_storage(), arrival, settings, datetime.now(UTC)
    )

    assert decision.outcome == "accepted"
    decided = default_repository().get_upload(upload.upload_id)
    assert decided is not None and decided.etag == hashlib.md5(content).hexdigest()
    assert media_of(owner) == {upload.media_key: (content, decided.etag)}
