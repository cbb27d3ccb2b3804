"""An accepted upload's forwarding, held on its upload item as flat `fwd*` attributes.

Every write is conditional, so that any number of forwarders and duplicate messages leave one
video and one event:

  claim     PENDING, or IN_PROGRESS with an expired lease -> IN_PROGRESS, leased to one forwarder
  progress  the lease holder records the video id and the bytes the platform acknowledged
  release   the holder gives the lease back (a rate limit or an error): the next delivery resumes
  finish    the holder sets FORWARDED or FAILED
  event     whoever claims `fwdEventSent` first publishes the outcome (given back if that fails)
"""

from __future__ import annotations

from typing import Any

from upload_service.core.records import Forwarding, ForwardingStatus, UploadStatus
from upload_service.data.items import _from_item, _to_item, forwarding_from_values, upload_key
from upload_service.data.table import Table

_DONE = (ForwardingStatus.FORWARDED.value, ForwardingStatus.FAILED.value)


class LeaseLost(Exception):
    """Another forwarder holds the upload now (this one's lease expired): stop without writing."""


class ForwardingStore(Table):
    def claim(self, ref: str, upload_id: str, owner: str, now: int, lease_seconds: int) -> Forwarding | None:
        """Lease an ACCEPTED upload's forwarding to `owner` until `now + lease_seconds` and count the
        invocation (in `fwdInvocations`, and in `fwdAttempts` with the retried requests); None when
        it is not to be forwarded by us now (done, leased by another, not accepted).
        """
        try:
            attributes = self._update(
                ref,
                upload_id,
                "SET fwdStatus = :working, fwdLeaseOwner = :me, fwdLeaseUntil = :until "
                "ADD fwdAttempts :one, fwdInvocations :one",
                "#status = :accepted AND (attribute_not_exists(fwdStatus) OR fwdStatus = :pending "
                "OR (fwdStatus = :working AND fwdLeaseUntil < :now))",
                {
                    ":working": ForwardingStatus.IN_PROGRESS.value,
                    ":pending": ForwardingStatus.PENDING.value,
                    ":accepted": UploadStatus.ACCEPTED.value,
                    ":me": owner,
                    ":until": now + lease_seconds,
                    ":now": now,
                    ":one": 1,
                },
                names={"#status": "status"},
            )
        except LeaseLost:
            return None
        forwarding = forwarding_from_values(attributes)
        assert forwarding is not None
        return forwarding

    def record_progress(self, ref: str, upload_id: str, owner: str, video_id: str, bytes_sent: int) -> None:
        """The platform acknowledged `bytes_sent` bytes of video `video_id`; LeaseLost if not ours."""
        self._update(
            ref,
            upload_id,
            "SET fwdVideoId = :video, fwdBytesSent = :sent",
            "fwdLeaseOwner = :me AND fwdStatus = :working",
            {
                ":video": video_id,
                ":sent": bytes_sent,
                ":me": owner,
                ":working": ForwardingStatus.IN_PROGRESS.value,
            },
        )

    def release(
        self, ref: str, upload_id: str, owner: str, error: str, retries: int = 0, *, waited: bool = False
    ) -> None:
        """Give the lease back, progress kept, with what went wrong and the requests it retried; an
        invocation that only `waited` (a rate limit) is not counted against the upload. LeaseLost if
        not ours."""
        self._update(
            ref,
            upload_id,
            "SET fwdLeaseUntil = :zero, fwdError = :error REMOVE fwdLeaseOwner "
            "ADD fwdAttempts :retries, fwdInvocations :uncount",
            "fwdLeaseOwner = :me AND fwdStatus = :working",
            {
                ":zero": 0,
                ":error": error,
                ":me": owner,
                ":working": ForwardingStatus.IN_PROGRESS.value,
                ":retries": retries,
                ":uncount": -1 if waited else 0,
            },
        )

    def finish(
        self,
        ref: str,
        upload_id: str,
        owner: str,
        status: ForwardingStatus,
        error: str | None,
        retries: int = 0,
    ) -> Forwarding:
        """FORWARDED or FAILED, for good (with the requests this attempt retried); LeaseLost if not
        ours."""
        values: dict[str, Any] = {
            ":status": status.value,
            ":me": owner,
            ":working": ForwardingStatus.IN_PROGRESS.value,
            ":retries": retries,
        }
        if error is None:
            expression = "SET fwdStatus = :status REMOVE fwdLeaseOwner, fwdLeaseUntil, fwdError"
        else:
            expression = "SET fwdStatus = :status, fwdError = :error REMOVE fwdLeaseOwner, fwdLeaseUntil"
            values[":error"] = error
        expression += " ADD fwdAttempts :retries"
        attributes = self._update(
            ref, upload_id, expression, "fwdLeaseOwner = :me AND fwdStatus = :working", values
        )
        forwarding = forwarding_from_values(attributes)
        assert forwarding is not None
        return forwarding

    def claim_outcome_event(self, ref: str, upload_id: str) -> bool:
        """The right to publish a finished forwarding's event; True for exactly one caller."""
        try:
            self._update(
                ref,
                upload_id,
                "SET fwdEventSent = :yes",
                "fwdStatus IN (:forwarded, :failed) AND attribute_not_exists(fwdEventSent)",
                {":yes": True, ":forwarded": _DONE[0], ":failed": _DONE[1]},
            )
        except LeaseLost:
            return False
        return True

    def release_outcome_event(self, ref: str, upload_id: str) -> None:
        self._update_item(Key=upload_key(ref, upload_id), UpdateExpression="REMOVE fwdEventSent")

    def _update(
        self,
        ref: str,
        upload_id: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One conditional UpdateItem; its refusal is LeaseLost. Returns the item as it is now."""
        params: dict[str, Any] = {
            "Key": upload_key(ref, upload_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": _to_item(values),
            "ReturnValues": "ALL_NEW",
        }
        if names:
            params["ExpressionAttributeNames"] = names
        attributes = self._update_if(**params)
        if attributes is None:
            raise LeaseLost()
        return _from_item(attributes)
