"""Revoking a token: it is dead everywhere at once, and its undecided uploads are decided."""

from __future__ import annotations

from datetime import datetime, timedelta

from upload_service.core.config import Settings
from upload_service.core.records import TokenStatus
from upload_service.core.storage import Storage
from upload_service.data.uploads import UploadStore
from upload_service.http.auth import Caller
from upload_service.tokens.access import find_visible
from upload_service.uploads.expiry import decide_open_uploads


def revoke(
    repo: UploadStore,
    caller: Caller,
    token: str,
    settings: Settings,
    now: datetime,
    storage: Storage | None = None,
) -> None:
    """Revoke at once: the token leaves the live indexes and its owner's count in one transaction,
    then its undecided uploads are REJECTED (an object still on its way is deleted when it lands)
    and, given `storage`, its open multipart uploads aborted.

    The status write is conditional on the status read; a lost race (an upload accepted, the token
    closed or timed out meanwhile) reads again, and a status is never left for a live one, so this
    ends after a few reads at most."""
    retention = timedelta(days=settings.record_retention_days)
    while True:
        record = find_visible(repo, caller, token)
        if repo.end_token(record, TokenStatus.DELETED, now, retention):
            break
    decide_open_uploads(repo, record, now, storage)
