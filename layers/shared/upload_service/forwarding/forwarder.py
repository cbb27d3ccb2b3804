"""Forwarding an accepted upload to api.video: lease it, resume its chunked upload where api.video
acknowledged it, record every acknowledged chunk, finish once, publish the outcome once.

The event that triggers it names the upload; everything else is read from the upload's record (what
was accepted, where it is, how far a previous attempt got), never taken from the message.

What went wrong is recorded (`fwdError`, shown by `GET /upload-tokens/{token}` and the demo page, and
put in the outcome event) in a fixed wording per kind of failure (`public_error`): an AWS or HTTP
library's own message can name the account, a role or a secret. The details go to the logs only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from upload_service.core.observability import logger
from upload_service.core.outbound import RetryLater
from upload_service.core.publisher import FORWARD_FAILED, FORWARDED, publish, upload_detail
from upload_service.core.records import Forwarding, ForwardingStatus, UploadRecord, UploadStatus
from upload_service.data.forwarding import ForwardingStore, LeaseLost
from upload_service.data.uploads import UploadStore
from upload_service.forwarding.apivideo import (
    ApiKeyUnavailable,
    ApiVideoError,
    ApiVideoUnauthorized,
    Progress,
)
from upload_service.forwarding.video_platform import ChecksumMismatch, SourceChanged

#: Invocations after which an upload that keeps failing is FAILED (those that only waited out a
#: rate limit do not count).
MAX_INVOCATIONS = 10
#: How a recorded error that will be retried ends.
RETRYING = "; retrying"


class Uploader(Protocol):
    """Sends the rest of an upload to the platform from `start`, reporting every acknowledged chunk."""

    def __call__(
        self, upload: UploadRecord, start: Progress, on_chunk: Callable[[Progress], None]
    ) -> Progress: ...

    @property
    def retries(self) -> int:
        """Requests retried so far (rate limits, 5xx, lost connections)."""
        ...


@dataclass(frozen=True)
class Outcome:
    result: str  # forwarded | failed | skipped | later
    detail: str | None = None
    retry_after: float | None = None


class _AcceptedEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    detail_type: str = Field(alias="detail-type")
    upload_id: str = Field(pattern=r"^[0-9a-f]{32}$")


def upload_id_of(message_body: str) -> str | None:
    """The upload an "Upload Accepted" event (as EventBridge puts it on the queue) names, or None."""
    try:
        event = json.loads(message_body)
        parsed = _AcceptedEvent.model_validate(
            {"detail-type": event["detail-type"], "upload_id": event["detail"]["uploadId"]}
        )
    except (ValueError, TypeError, KeyError, ValidationError):
        return None
    return parsed.upload_id if parsed.detail_type == "Upload Accepted" else None


def forward_upload(
    upload_id: str,
    *,
    uploads: UploadStore,
    store: ForwardingStore,
    uploader: Uploader,
    owner: str,
    now: int,
    lease_seconds: int,
) -> Outcome:
    """Forward one accepted upload (or finish what an earlier attempt finished but did not announce).

    Raises what may pass if retried (api.video unreachable, 5xx after retries): the lease is given
    back with the error first, so the retry resumes at once where this one stopped.
    """
    upload = uploads.get_upload(upload_id)
    if upload is None or upload.status is not UploadStatus.ACCEPTED:
        return Outcome("skipped", "not an accepted upload")
    forwarding = store.claim(upload.token_ref, upload.upload_id, owner, now, lease_seconds)
    if forwarding is None:
        return _not_ours(uploads, store, upload)
    if forwarding.invocations > MAX_INVOCATIONS:
        last = (forwarding.error or "none").removesuffix(RETRYING)
        return _fail(
            store, upload, owner, f"gave up after {MAX_INVOCATIONS} invocations; the last error: {last}"
        )

    def acknowledged(progress: Progress) -> None:
        store.record_progress(
            upload.token_ref, upload.upload_id, owner, progress.video_id or "", progress.bytes_sent
        )

    try:
        uploader(upload, Progress(forwarding.video_id, forwarding.bytes_sent), acknowledged)
    except LeaseLost:
        return Outcome("skipped", "another forwarder took over")
    except Exception as error:
        _log_failure(upload, error)
        if isinstance(error, RetryLater):
            store.release(
                upload.token_ref, upload.upload_id, owner, str(error), uploader.retries, waited=True
            )
            return Outcome("later", str(error), retry_after=error.after_seconds)
        if (isinstance(error, ApiVideoError) and error.final) or isinstance(error, ChecksumMismatch):
            return _fail(store, upload, owner, public_error(error), uploader.retries)
        store.release(upload.token_ref, upload.upload_id, owner, public_error(error), uploader.retries)
        raise
    finished = store.finish(
        upload.token_ref, upload.upload_id, owner, ForwardingStatus.FORWARDED, None, uploader.retries
    )
    _announce(store, upload, finished)
    return Outcome("forwarded", finished.video_id)


def public_error(error: Exception) -> str:
    """What the uploader and the events may see of a failed attempt: a fixed wording per kind of
    failure, and api.video's problem title (never an AWS or HTTP library's message)."""
    if isinstance(error, RetryLater):
        return str(error)  # our own words and a number of seconds
    if isinstance(error, ApiKeyUnavailable):
        return "the API key could not be read" + RETRYING
    if isinstance(error, ApiVideoUnauthorized):
        return f"api.video refused the API key (HTTP {error.status})" + RETRYING
    if isinstance(error, ApiVideoError):
        if error.final:
            return f"api.video refused the upload: {error.title}"[:500]
        if error.status is None:
            return "api.video unreachable" + RETRYING
        return f"api.video answered HTTP {error.status}" + RETRYING
    if isinstance(error, ChecksumMismatch):
        return "the file's SHA-256 is not the checksumSha256 declared: its last chunk was not sent"
    if isinstance(error, SourceChanged):
        return "the stored file is not the one accepted" + RETRYING
    return "an internal error" + RETRYING


def _log_failure(upload: UploadRecord, error: Exception) -> None:
    """The details, for the logs only: api.video's problem documents and our own errors in full, any
    other error with its traceback (an AWS error names the account, the role, the secret: fine here).
    No message logged here holds the API key or a token: `apivideo` keeps both out of its errors."""
    extra = {"uploadId": upload.upload_id, "error": f"{type(error).__name__}: {error}"}
    if isinstance(error, RetryLater):
        logger.info("forwarding attempt waits", extra=extra)
    elif isinstance(error, ApiVideoError):
        logger.warning("forwarding attempt failed", extra=extra)
    else:
        logger.warning("forwarding attempt failed", extra=extra, exc_info=error)


def _fail(store: ForwardingStore, upload: UploadRecord, owner: str, error: str, retries: int = 0) -> Outcome:
    finished = store.finish(
        upload.token_ref, upload.upload_id, owner, ForwardingStatus.FAILED, error, retries
    )
    _announce(store, upload, finished)
    return Outcome("failed", error)


def _not_ours(uploads: UploadStore, store: ForwardingStore, upload: UploadRecord) -> Outcome:
    """Someone else holds it, or it is done: a done one whose event was lost is announced now."""
    current = uploads.get_token_upload(upload.token_ref, upload.upload_id)
    forwarding = current.forwarding if current else None
    if forwarding and forwarding.status in (ForwardingStatus.FORWARDED, ForwardingStatus.FAILED):
        if not forwarding.event_sent:
            _announce(store, upload, forwarding)
        return Outcome("skipped", f"already {forwarding.status.value}")
    return Outcome("skipped", "another forwarder holds it")


def _announce(store: ForwardingStore, upload: UploadRecord, forwarding: Forwarding) -> None:
    """ "Upload Forwarded" or "Upload Forward Failed", once (claimed first, given back on failure)."""
    if not store.claim_outcome_event(upload.token_ref, upload.upload_id):
        return
    detail = {
        **upload_detail(upload),
        "forwarding": {
            "status": forwarding.status.value,
            "videoId": forwarding.video_id,
            "bytesSent": forwarding.bytes_sent,
            "attempts": forwarding.attempts,
            "error": forwarding.error or None,
        },
    }
    kind = FORWARDED if forwarding.status is ForwardingStatus.FORWARDED else FORWARD_FAILED
    try:
        publish(kind, detail)
    except Exception:
        store.release_outcome_event(upload.token_ref, upload.upload_id)
        raise
    logger.info(kind.lower(), extra={"uploadId": upload.upload_id, "videoId": forwarding.video_id})
