"""The table's items as DynamoDB stores them: keys, and records to and from items.

<ref> is `ids.token_ref(token)`: the token string itself is stored in its own record only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from upload_service.core.records import (
    LIVE_STATUSES,
    Forwarding,
    ForwardingStatus,
    Media,
    TokenRecord,
    TokenStatus,
    UploadRecord,
    UploadStatus,
    isoformat,
    parse_isoformat,
)

ALL = "ALL"
NEVER = "9999-12-31T23:59:59.999Z"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def token_key(ref: str) -> dict[str, Any]:
    return _to_item({"PK": f"TOKEN#{ref}", "SK": "TOKEN"})


def _pointer_key(upload_id: str) -> dict[str, Any]:
    return _to_item({"PK": f"UPLOAD#{upload_id}", "SK": "UPLOAD"})


def _user_counter_key(user_id: str) -> dict[str, Any]:
    return _to_item({"PK": f"USER#{user_id}", "SK": "COUNTERS"})


def _global_counter_key(shard: int) -> dict[str, Any]:
    return _to_item({"PK": "COUNTERS#ALL", "SK": f"SHARD#{shard}"})


def _expiry_bound(now: datetime) -> str:
    """Sorts after every `expirySort` of a token expired at `now` and before any still live."""
    return isoformat(now) + "$"  # "$" follows the "#" that separates expiry and token


def token_item(record: TokenRecord) -> dict[str, Any]:
    live = record.status in LIVE_STATUSES
    expires = isoformat(record.expires_at) if record.expires_at else None
    return _to_item(
        {
            "PK": f"TOKEN#{record.ref}",
            "SK": "TOKEN",
            "token": record.token,
            "userId": record.user_id,
            "ttl": record.ttl,
            "createdAt": isoformat(record.created_at),
            "expiresAt": expires,
            "status": record.status.value,
            "createdSort": f"{isoformat(record.created_at)}#{record.ref}",
            "expirySort": f"{expires or NEVER}#{record.ref}",
            "activeOwner": record.user_id if live else None,
            "activeAll": ALL if live else None,
            "uploadsReserved": record.uploads_reserved,
            "uploadsOpen": record.uploads_open,
            "uploadsAccepted": record.uploads_accepted,
            "maxDurationSeconds": record.max_duration_seconds,
        }
    )


def record_from_item(item: Mapping[str, Any]) -> TokenRecord:
    values = _from_item(item)
    return TokenRecord(
        token=values["token"],
        user_id=values["userId"],
        ttl=int(values["ttl"]),
        created_at=parse_isoformat(values["createdAt"]),
        expires_at=parse_isoformat(values["expiresAt"]) if values.get("expiresAt") else None,
        status=TokenStatus(values["status"]),
        uploads_reserved=int(values.get("uploadsReserved", 0)),
        uploads_open=int(values.get("uploadsOpen", 0)),
        uploads_accepted=int(values.get("uploadsAccepted", 0)),
        uploads_started=int(values.get("uploadsStarted", 0)),  # counted by starts only (ADD)
        max_duration_seconds=int(values["maxDurationSeconds"]) if "maxDurationSeconds" in values else None,
    )


def upload_key(ref: str, upload_id: str) -> dict[str, Any]:
    return _to_item({"PK": f"TOKEN#{ref}", "SK": f"UPLOAD#{upload_id}"})


def upload_item(upload: UploadRecord, retention: timedelta) -> dict[str, Any]:
    """A PENDING upload: in the open-uploads index until decided, purged `retention` after its target
    expires at the latest (every decision sets an earlier `purgeAt` of its own)."""
    return _to_item(
        {
            **{name: value["S"] for name, value in upload_key(upload.token_ref, upload.upload_id).items()},
            "tokenRef": upload.token_ref,
            "uploadId": upload.upload_id,
            "userId": upload.user_id,
            "fileName": upload.file_name,
            "fileSize": upload.file_size,
            "contentType": upload.content_type,
            "createdAt": isoformat(upload.created_at),
            "targetExpiresAt": isoformat(upload.target_expires_at),
            "status": upload.status.value,
            "openAll": ALL,
            "openUntil": f"{isoformat(upload.target_expires_at)}#{upload.upload_id}",
            "purgeAt": int((upload.target_expires_at + retention).timestamp()),
            "multipartId": upload.multipart_id,
            "checksumSha256": upload.checksum_sha256,
            "checksumAlgorithm": upload.checksum_algorithm,
        }
    )


def upload_from_item(item: Mapping[str, Any]) -> UploadRecord:
    values = _from_item(item)
    return UploadRecord(
        token_ref=values["tokenRef"],
        upload_id=values["uploadId"],
        user_id=values["userId"],
        file_name=values["fileName"],
        file_size=int(values["fileSize"]),
        content_type=values["contentType"],
        created_at=parse_isoformat(values["createdAt"]),
        target_expires_at=parse_isoformat(values["targetExpiresAt"]),
        status=UploadStatus(values["status"]),
        reason=values.get("reason"),
        object_size=int(values["objectSize"]) if "objectSize" in values else None,
        etag=values.get("etag"),
        version_id=values.get("versionId"),
        detected_type=values.get("detectedType"),
        event_sent=bool(values.get("eventSent", False)),
        forwarding=forwarding_from_values(values),
        multipart_id=values.get("multipartId"),
        delivered_at=parse_isoformat(values["deliveredAt"]) if "deliveredAt" in values else None,
        copy_id=values.get("copyId"),
        checksum_sha256=values.get("checksumSha256"),
        checksum_algorithm=values.get("checksumAlgorithm"),
        media=media_from_values(values.get("media")),
    )


def media_values(media: Media | None) -> dict[str, Any] | None:
    """An upload's `media` map (DynamoDB numbers are Decimals; absent facts are left out)."""
    if media is None:
        return None
    values = {
        "container": media.container,
        "durationSeconds": Decimal(str(media.duration_seconds))
        if media.duration_seconds is not None
        else None,
        "width": media.width,
        "height": media.height,
        "videoCodec": media.video_codec,
        "audioCodec": media.audio_codec,
    }
    return {name: value for name, value in values.items() if value is not None}


def media_from_values(values: Mapping[str, Any] | None) -> Media | None:
    if not values:
        return None
    duration = values.get("durationSeconds")
    return Media(
        container=values["container"],
        duration_seconds=float(duration) if duration is not None else None,
        width=int(values["width"]) if "width" in values else None,
        height=int(values["height"]) if "height" in values else None,
        video_codec=values.get("videoCodec"),
        audio_codec=values.get("audioCodec"),
    )


def forwarding_from_values(values: Mapping[str, Any]) -> Forwarding | None:
    """The `fwd*` attributes of an upload item (flat, so each can be set by a conditional update)."""
    if "fwdStatus" not in values:
        return None
    return Forwarding(
        status=ForwardingStatus(values["fwdStatus"]),
        video_id=values.get("fwdVideoId"),
        bytes_sent=int(values.get("fwdBytesSent", 0)),
        attempts=int(values.get("fwdAttempts", 0)),
        invocations=int(values.get("fwdInvocations", 0)),
        error=values.get("fwdError"),
        lease_owner=values.get("fwdLeaseOwner"),
        lease_until=int(values.get("fwdLeaseUntil", 0)),
        event_sent=bool(values.get("fwdEventSent", False)),
    )
