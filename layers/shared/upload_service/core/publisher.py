"""Upload decisions as EventBridge events for downstream consumers."""

from __future__ import annotations

import json
from typing import Any

from upload_service.core import aws
from upload_service.core.config import get_settings
from upload_service.core.records import Media, UploadRecord

SOURCE = "upload-tokens"
ACCEPTED = "Upload Accepted"
REJECTED = "Upload Rejected"
FORWARDED = "Upload Forwarded"
FORWARD_FAILED = "Upload Forward Failed"


class PublishFailed(Exception):
    """EventBridge did not take the event; the message will be retried."""


def publish(detail_type: str, detail: dict[str, Any]) -> None:
    with aws.unavailable_when_throttled():
        response = aws.client("events").put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": get_settings().event_bus_name,
                }
            ]
        )
    if response.get("FailedEntryCount"):
        raise PublishFailed(str(response["Entries"]))


def upload_detail(upload: UploadRecord) -> dict[str, Any]:
    """What consumers get: ids and facts, never the token itself (it is a credential): `tokenRef`
    names it without granting anything. `size`, `etag` and `versionId` are the object's that was
    checked (null when nothing arrived); `key` is where it is now (media/ once accepted); `media` what
    its structure showed."""
    return {
        "uploadId": upload.upload_id,
        "userId": upload.user_id,
        "tokenRef": upload.token_ref,
        "fileName": upload.file_name,
        "declaredSize": upload.file_size,
        "size": upload.object_size,
        "contentType": upload.content_type,
        "detectedType": upload.detected_type,
        "etag": upload.etag,
        "versionId": upload.version_id,
        "status": upload.status.value,
        "reason": upload.reason,
        "key": upload.media_key if upload.status == "ACCEPTED" else upload.key,
        "checksumSha256": upload.checksum_sha256,
        "media": media_detail(upload.media),
    }


def media_detail(media: Media | None) -> dict[str, Any] | None:
    """The `media` member of the API's answers and the events (null when the file was not read)."""
    if media is None:
        return None
    return {
        "container": media.container,
        "durationSeconds": media.duration_seconds,
        "width": media.width,
        "height": media.height,
        "videoCodec": media.video_codec,
        "audioCodec": media.audio_codec,
    }
