"""Upload items: one per upload of a token, under the token's partition, and a pointer by upload id.

  upload         PK=TOKEN#<ref>      SK=UPLOAD#<id>     one upload of that token (token + uploads: one Query)
  upload pointer PK=UPLOAD#<id>      SK=UPLOAD          which token an upload id belongs to (its ref)

An upload is in the sparse index OpenByTargetExpiry (openAll="ALL") while it has work left: PENDING
until decided (openUntil = its target's expiry), ACCEPTED until its object is in media/ (openUntil =
when it was accepted: data/delivery.py). The cleanup takes either once `CleanupGraceSeconds` have
passed since. Every upload carries purgeAt, so DynamoDB's TTL removes it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from upload_service.core.config import get_settings
from upload_service.core.errors import UploadLimitReached
from upload_service.core.records import (
    Forwarding,
    ForwardingStatus,
    Media,
    TokenStatus,
    UploadRecord,
    UploadStatus,
    isoformat,
)

if TYPE_CHECKING:
    from upload_service.core.storage import StoredObject

from upload_service.data.items import (
    ALL,
    _expiry_bound,
    _pointer_key,
    _to_item,
    media_values,
    token_key,
    upload_from_item,
    upload_item,
    upload_key,
)
from upload_service.data.table import TransactionRefused
from upload_service.data.tokens import TokenChanged, TokenStore


class UploadDecided(Exception):
    """The upload was decided by someone else (another delivery, the cleanup, a revoke): read again."""


class UploadStore(TokenStore):
    """Uploads change their token's counters in the same transactions, so this store is a token store."""

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        """An upload by its id alone (as the object key names it): its pointer, then its record."""
        pointer = self._get(_pointer_key(upload_id))
        if pointer is None:
            return None
        return self.get_token_upload(pointer["tokenRef"]["S"], upload_id)

    def get_token_upload(self, ref: str, upload_id: str) -> UploadRecord | None:
        item = self._get(upload_key(ref, upload_id))
        return upload_from_item(item) if item else None

    def start_upload(
        self, upload: UploadRecord, allowance: int, attempts: int, now: datetime, retention: timedelta
    ) -> None:
        """Record a PENDING upload (and its pointer) and reserve one of the token's uploads, atomically.

        Refused (UploadLimitReached) when the token is no longer live, its allowance is reserved or
        it has used up its `attempts` (every upload started, whatever became of it).
        """
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": token_key(upload.token_ref),
                    "UpdateExpression": "ADD uploadsReserved :one, uploadsOpen :one, uploadsStarted :one",
                    "ConditionExpression": "#status IN (:pending, :partial)"
                    " AND (attribute_not_exists(uploadsReserved) OR uploadsReserved < :allowance)"
                    " AND (attribute_not_exists(uploadsStarted) OR uploadsStarted < :attempts)"
                    " AND (attribute_not_exists(expiresAt) OR expiresAt > :now)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _to_item(
                        {
                            ":one": 1,
                            ":allowance": allowance,
                            ":attempts": attempts,
                            ":pending": TokenStatus.PENDING.value,
                            ":partial": TokenStatus.PARTIAL_UPLOAD.value,
                            ":now": isoformat(now),
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": upload_item(upload, retention),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        **_pointer_key(upload.upload_id),
                        **_to_item(
                            {
                                "tokenRef": upload.token_ref,
                                "purgeAt": int((upload.target_expires_at + retention).timestamp()),
                            }
                        ),
                    },
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        try:
            self._transact(items)
        except TransactionRefused:
            raise UploadLimitReached(
                detail=f"A token allows {allowance} uploads, and {attempts} started in all."
            ) from None

    def accept_upload(
        self,
        upload: UploadRecord,
        stored: StoredObject,
        now: datetime,
        detected_type: str | None = None,
        media: Media | None = None,
    ) -> UploadRecord:
        """Mark the upload ACCEPTED (pinned to the object checked, with the type its bytes showed) and
        count it on its live token.

        The token's counters move by atomic ADDs whose condition is only that the token is live, so
        any number of uploads of one token are accepted side by side. Raises UploadDecided when the
        upload was decided meanwhile, TokenChanged when the token left the live set.
        """
        items = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": token_key(upload.token_ref),
                    "UpdateExpression": "SET #status = :partial ADD uploadsAccepted :one, uploadsOpen :minus",
                    "ConditionExpression": "#status IN (:pending, :partial)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _to_item(
                        {
                            ":one": 1,
                            ":minus": -1,
                            ":pending": TokenStatus.PENDING.value,
                            ":partial": TokenStatus.PARTIAL_UPLOAD.value,
                        }
                    ),
                }
            },
            self._decide_upload(upload, UploadStatus.ACCEPTED, now, None, stored, detected_type, media),
        ]
        self._decide(items, upload_index=1)
        return replace(
            upload,
            status=UploadStatus.ACCEPTED,
            object_size=stored.size,
            etag=stored.etag,
            version_id=stored.version_id,
            detected_type=detected_type,
            media=media,
            forwarding=Forwarding(ForwardingStatus.PENDING) if get_settings().forwarding else None,
        )

    def reject_upload(
        self,
        upload: UploadRecord,
        status: UploadStatus,
        reason: str,
        now: datetime,
        stored: StoredObject | None = None,
        *,
        token_exists: bool = True,
        detected_type: str | None = None,
        media: Media | None = None,
    ) -> UploadRecord:
        """REJECTED (or EXPIRED) with a reason; gives its reservation back to the token.

        Raises UploadDecided when the upload was decided meanwhile.
        """
        items: list[Any] = [self._decide_upload(upload, status, now, reason, stored, detected_type, media)]
        if token_exists:
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": token_key(upload.token_ref),
                        "UpdateExpression": "ADD uploadsReserved :minus, uploadsOpen :minus",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": _to_item({":minus": -1}),
                    }
                }
            )
        self._decide(items, upload_index=0)
        return replace(
            upload,
            status=status,
            reason=reason,
            object_size=stored.size if stored else None,
            etag=stored.etag if stored else None,
            version_id=stored.version_id if stored else None,
            detected_type=detected_type,
            media=media,
        )

    def _decide(self, items: list[Any], upload_index: int) -> None:
        """Run a decision's transaction; which item's condition failed tells who changed what."""
        try:
            self._transact(items)
        except TransactionRefused as refused:
            if refused.reasons[upload_index] == "ConditionalCheckFailed":
                raise UploadDecided() from None
            raise TokenChanged() from None

    def close_if_full(self, ref: str, allowance: int, now: datetime, retention: timedelta) -> bool:
        """FULL_UPLOAD (out of the live set) once the token's accepted uploads reach its allowance.

        Separate from the accept so that accepts never wait for each other; repeatable, and exactly
        one caller closes it (conditional on the status read)."""
        token = self.get_token_by_ref(ref)
        if (
            token is None
            or token.status is not TokenStatus.PARTIAL_UPLOAD
            or token.uploads_accepted < allowance
        ):
            return False
        return self.end_token(token, TokenStatus.FULL_UPLOAD, now, retention)

    def pending_uploads(self, ref: str) -> list[UploadRecord]:
        """A token's undecided uploads (at most its allowance)."""
        params = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :upload)",
            "FilterExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": _to_item(
                {":pk": f"TOKEN#{ref}", ":upload": "UPLOAD#", ":pending": UploadStatus.PENDING.value}
            ),
            "ConsistentRead": True,
        }
        return [upload_from_item(item) for item in self._query_items(params, take=None)]

    def stale_uploads(self, before: datetime, limit: int) -> list[UploadRecord]:
        """Uploads whose work was due before `before`, oldest first: PENDING ones whose target expired,
        ACCEPTED ones not yet delivered. A range of the sparse open-uploads index, so the cost is what
        is overdue, not what is stored."""
        params = {
            "TableName": self.table_name,
            "IndexName": "OpenByTargetExpiry",
            "KeyConditionExpression": "openAll = :all AND openUntil < :bound",
            "ExpressionAttributeValues": _to_item({":all": ALL, ":bound": _expiry_bound(before)}),
        }
        return [upload_from_item(item) for item in self._query_items(params, take=limit)]

    def _decide_upload(
        self,
        upload: UploadRecord,
        status: UploadStatus,
        now: datetime,
        reason: str | None,
        stored: StoredObject | None,
        detected_type: str | None = None,
        media: Media | None = None,
    ) -> Any:
        """The upload's decision, conditional on it being PENDING, with what was checked (size, ETag,
        version, the type its first bytes showed) and its purge date. A rejected one leaves the
        open-uploads index; an accepted one stays there until delivered, due now (the processor
        delivers it at once; the cleanup, after its grace, finishes what it could not), and waits
        to be forwarded where the deployment forwards (VideoPlatform)."""
        settings = get_settings()
        retention = timedelta(days=settings.record_retention_days)
        values: dict[str, Any] = {"reason": reason, "purgeAt": int((now + retention).timestamp())}
        if status is UploadStatus.ACCEPTED:  # delivery due now: the cleanup's grace runs from here
            values["openUntil"] = f"{isoformat(now)}#{upload.upload_id}"
        if status is UploadStatus.ACCEPTED and settings.forwarding:
            values["fwdStatus"] = ForwardingStatus.PENDING.value
        if stored is not None:
            values |= {"objectSize": stored.size, "etag": stored.etag, "versionId": stored.version_id}
        values["detectedType"] = detected_type
        values["media"] = media_values(media)
        values = {name: value for name, value in values.items() if value is not None}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": upload_key(upload.token_ref, upload.upload_id),
                "UpdateExpression": "SET #status = :new, decidedAt = :now"
                + "".join(f", #{name} = :{name}" for name in values)
                + ("" if status is UploadStatus.ACCEPTED else " REMOVE openAll, openUntil"),
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status", **{f"#{name}": name for name in values}},
                "ExpressionAttributeValues": _to_item(
                    {
                        ":new": status.value,
                        ":now": isoformat(now),
                        ":pending": UploadStatus.PENDING.value,
                        **{f":{name}": value for name, value in values.items()},
                    }
                ),
            }
        }
