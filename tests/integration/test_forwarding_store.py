"""The forwarding's conditional writes against the emulator, raced with real parallel calls: one lease
holder at a time, progress only from the holder, one outcome event."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.integration.test_processing import seed_upload
from upload_service.core.records import ForwardingStatus, UploadRecord
from upload_service.core.storage import default_storage
from upload_service.data.forwarding import ForwardingStore, LeaseLost
from upload_service.data.repository import default_repository
from upload_service.data.table import default_store


def accepted(owner: str) -> UploadRecord:
    upload = seed_upload(owner)
    stored = default_storage().head(upload.key)
    assert stored is not None
    return default_repository().accept_upload(upload, stored, datetime.now(UTC))


@pytest.fixture
def store(lambda_env: dict[str, str]) -> ForwardingStore:
    forwarding_store: ForwardingStore = default_store(ForwardingStore)
    return forwarding_store


def test_one_of_many_racing_forwarders_gets_the_lease(store: ForwardingStore) -> None:
    upload = accepted("race-owner")
    now = int(time.time())

    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(
            pool.map(
                lambda n: store.claim(upload.token_ref, upload.upload_id, f"forwarder-{n}", now, 900),
                range(8),
            )
        )

    won = [c for c in claims if c is not None]
    assert len(won) == 1
    assert won[0].status is ForwardingStatus.IN_PROGRESS and won[0].attempts == 1
    assert won[0].lease_owner is not None and won[0].lease_owner.startswith("forwarder-")


def test_an_expired_lease_is_taken_over_and_the_old_holder_can_no_longer_write(
    store: ForwardingStore,
) -> None:
    upload = accepted("takeover-owner")
    now = int(time.time())
    first = store.claim(upload.token_ref, upload.upload_id, "first", now, 60)
    assert first is not None
    store.record_progress(upload.token_ref, upload.upload_id, "first", "vi123", 5 * 1024**2)
    assert store.claim(upload.token_ref, upload.upload_id, "second", now + 30, 60) is None  # still leased

    second = store.claim(upload.token_ref, upload.upload_id, "second", now + 61, 60)

    assert second is not None
    assert (second.video_id, second.bytes_sent, second.attempts) == ("vi123", 5 * 1024**2, 2)
    with pytest.raises(LeaseLost):
        store.record_progress(upload.token_ref, upload.upload_id, "first", "vi123", 10 * 1024**2)
    with pytest.raises(LeaseLost):
        store.finish(upload.token_ref, upload.upload_id, "first", ForwardingStatus.FORWARDED, None)


def test_a_released_lease_is_claimed_again_where_it_stopped(store: ForwardingStore) -> None:
    upload = accepted("release-owner")
    now = int(time.time())
    assert store.claim(upload.token_ref, upload.upload_id, "first", now, 900) is not None
    store.record_progress(upload.token_ref, upload.upload_id, "first", "vi9", 100)

    store.release(upload.token_ref, upload.upload_id, "first", "rate limited: retry after 120 s")
    again = store.claim(upload.token_ref, upload.upload_id, "second", now + 1, 900)

    assert again is not None
    assert (again.video_id, again.bytes_sent, again.error) == ("vi9", 100, "rate limited: retry after 120 s")


def test_a_finished_forwarding_is_never_claimed_and_its_event_is_claimed_once(store: ForwardingStore) -> None:
    upload = accepted("finish-owner")
    now = int(time.time())
    assert store.claim(upload.token_ref, upload.upload_id, "only", now, 900) is not None
    done = store.finish(upload.token_ref, upload.upload_id, "only", ForwardingStatus.FORWARDED, None)
    assert done.status is ForwardingStatus.FORWARDED and done.lease_owner is None

    assert store.claim(upload.token_ref, upload.upload_id, "late", now + 10_000, 900) is None
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(
            pool.map(lambda _: store.claim_outcome_event(upload.token_ref, upload.upload_id), range(8))
        )
    assert claims.count(True) == 1
    store.release_outcome_event(upload.token_ref, upload.upload_id)
    assert store.claim_outcome_event(upload.token_ref, upload.upload_id)


def test_an_upload_that_was_not_accepted_is_never_claimed(store: ForwardingStore) -> None:
    upload = seed_upload("pending-owner")  # still PENDING: not decided, so nothing to forward
    assert store.claim(upload.token_ref, upload.upload_id, "eager", int(time.time()), 900) is None
