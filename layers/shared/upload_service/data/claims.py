"""Event claims: the right to publish an upload's event, held on the upload item (`eventSent`)."""

from __future__ import annotations

from upload_service.core.records import UploadRecord
from upload_service.data.items import (
    upload_key,
)
from upload_service.data.table import Table


class EventClaims(Table):
    def claim_event(self, upload: UploadRecord) -> bool:
        """Claim the right to publish this upload's event; True for exactly one caller."""
        claimed = self._update_if(
            Key=upload_key(upload.token_ref, upload.upload_id),
            UpdateExpression="SET eventSent = :yes",
            ConditionExpression="attribute_exists(PK) AND attribute_not_exists(eventSent)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )
        return claimed is not None

    def release_event(self, upload: UploadRecord) -> None:
        """Give the claim back when publishing failed, so a retry publishes."""
        self._update_item(
            Key=upload_key(upload.token_ref, upload.upload_id), UpdateExpression="REMOVE eventSent"
        )
