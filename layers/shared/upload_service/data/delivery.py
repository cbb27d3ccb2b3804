"""An accepted upload's delivery into media/, held on its upload item.

An ACCEPTED upload stays in the open-uploads index (`openAll`, `openUntil` = when it was accepted)
until its object is in media/, so the cleanup finds every accepted upload whose delivery the
processor could not finish. A large object is copied by an S3 multipart copy whose UploadId is
recorded here (`copyId`, the first writer wins), so an attempt cut off by its time goes on where
the previous one stopped.
"""

from __future__ import annotations

from datetime import datetime

from upload_service.core.records import UploadRecord, UploadStatus, isoformat
from upload_service.data.items import _from_item, _to_item, upload_key
from upload_service.data.table import Table


class DeliveryStore(Table):
    def record_copy(self, upload: UploadRecord, copy_id: str) -> str:
        """Record the multipart copy that delivers the upload: `copy_id`, unless another attempt
        recorded one first; the one recorded is returned (the other is the caller's to abort)."""
        attributes = self._update_if(
            Key=upload_key(upload.token_ref, upload.upload_id),
            UpdateExpression="SET copyId = :copy",
            ConditionExpression="#status = :accepted AND attribute_not_exists(copyId)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_to_item({":copy": copy_id, ":accepted": UploadStatus.ACCEPTED.value}),
        )
        if attributes is not None:
            return copy_id
        current = self._get(upload_key(upload.token_ref, upload.upload_id)) or {}
        return str(_from_item(current).get("copyId", copy_id))

    def forget_copy(self, upload: UploadRecord, copy_id: str) -> None:
        """The recorded multipart copy is gone (S3 aborted it: its lifecycle rule, after a day): the
        next attempt starts another."""
        self._update_if(
            Key=upload_key(upload.token_ref, upload.upload_id),
            UpdateExpression="REMOVE copyId",
            ConditionExpression="copyId = :copy",
            ExpressionAttributeValues=_to_item({":copy": copy_id}),
        )

    def mark_delivered(self, upload: UploadRecord, now: datetime) -> None:
        """The object is in media/: out of the open-uploads index. Repeatable."""
        self._leave_sweep(upload, "deliveredAt", now, "copyId")

    def mark_lost(self, upload: UploadRecord, now: datetime) -> None:
        """Its object is gone from where it landed and was never delivered (deleted by someone): out
        of the open-uploads index, so the sweep does not retry it forever, with `deliveryLostAt` for
        the runbook (docs/operations.md). Repeatable."""
        self._leave_sweep(upload, "deliveryLostAt", now, unless="deliveredAt")

    def _leave_sweep(
        self, upload: UploadRecord, stamp: str, now: datetime, *also_removed: str, unless: str | None = None
    ) -> None:
        """An accepted upload out of the open-uploads index, `stamp` set to when (the first time)."""
        removed = ", ".join(["openAll", "openUntil", *also_removed])
        condition = "#status = :accepted" + (f" AND attribute_not_exists({unless})" if unless else "")
        self._update_if(
            Key=upload_key(upload.token_ref, upload.upload_id),
            UpdateExpression=f"SET {stamp} = if_not_exists({stamp}, :now) REMOVE {removed}",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_to_item(
                {":now": isoformat(now), ":accepted": UploadStatus.ACCEPTED.value}
            ),
        )
