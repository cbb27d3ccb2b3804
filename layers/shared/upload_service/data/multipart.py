"""Multipart uploads (Uppy's Companion routes): an upload item like any other, with S3's UploadId
(`multipartId`) on it, and the size S3's part list showed recorded at completion.

  upload         PK=TOKEN#<ref>      SK=UPLOAD#<id>     ... multipartId=<S3 UploadId>
"""

from __future__ import annotations

from upload_service.core.records import UploadRecord, UploadStatus
from upload_service.data.items import _to_item, upload_key
from upload_service.data.uploads import UploadDecided, UploadStore


class MultipartStore(UploadStore):
    def declare_completed_size(self, upload: UploadRecord, size: int) -> None:
        """The size S3's part list showed becomes the upload's declared size (landing checks the
        object against it), conditional on the upload still being this PENDING multipart upload.
        Raises UploadDecided when it was decided meanwhile (a revoke, the cleanup, an abort)."""
        declared = self._update_if(
            Key=upload_key(upload.token_ref, upload.upload_id),
            UpdateExpression="SET fileSize = :size",
            ConditionExpression="#status = :pending AND multipartId = :multipart",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_to_item(
                {":size": size, ":pending": UploadStatus.PENDING.value, ":multipart": upload.multipart_id}
            ),
        )
        if declared is None:
            raise UploadDecided()
