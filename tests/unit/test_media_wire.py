"""The `media` member and `maxDurationSeconds` on the wire: models, the stored item, the event, and
the OpenAPI document (which says `maxDurationSeconds` is our extension)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from upload_service.core.models import CreateTokenRequest, UploadInfo
from upload_service.core.publisher import upload_detail
from upload_service.core.records import Media, TokenRecord, UploadRecord, UploadStatus
from upload_service.data.items import media_values, record_from_item, token_item, upload_from_item
from upload_service.openapi.document import build_document

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
MEDIA = Media("mp4", 2.0, 160, 120, "h264", "aac")
WIRE = {
    "container": "mp4",
    "durationSeconds": 2.0,
    "width": 160,
    "height": 120,
    "videoCodec": "h264",
    "audioCodec": "aac",
}


def upload(media: Media | None) -> UploadRecord:
    return UploadRecord(
        "ref", "a" * 32, "u1", "clip.mp4", 100, "video/mp4", NOW, NOW + timedelta(minutes=15),
        status=UploadStatus.ACCEPTED, media=media,
    )  # fmt: skip


@pytest.mark.parametrize("seconds", [1, 60, 86400])
def test_max_duration_within_its_range_is_taken(seconds: int) -> None:
    assert CreateTokenRequest.model_validate({"maxDurationSeconds": seconds}).max_duration_seconds == seconds


@pytest.mark.parametrize("bad", [0, -1, 86401, 1.5, "60", True])
def test_max_duration_outside_its_range_is_refused(bad: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        CreateTokenRequest.model_validate({"maxDurationSeconds": bad})
    assert refused.value.errors()[0]["loc"] == ("maxDurationSeconds",)


def test_the_token_item_keeps_max_duration() -> None:
    record = TokenRecord.new("to" + "a" * 22, "u1", 600, NOW, max_duration_seconds=90)
    item = token_item(record)
    assert item["maxDurationSeconds"] == {"N": "90"}
    assert record_from_item(item).max_duration_seconds == 90
    assert "maxDurationSeconds" not in token_item(TokenRecord.new("to" + "b" * 22, "u1", 600, NOW))


@pytest.mark.parametrize(
    ("media", "wire"),
    [
        (MEDIA, WIRE),
        (
            Media("png", width=64, height=64),
            {**dict.fromkeys(WIRE), "container": "png", "width": 64, "height": 64},
        ),
        (None, None),
    ],
)
def test_media_on_the_wire_and_in_the_event(media: Media | None, wire: dict[str, Any] | None) -> None:
    assert UploadInfo.from_record(upload(media)).model_dump(mode="json")["media"] == wire
    assert upload_detail(upload(media))["media"] == wire


def test_the_upload_item_keeps_media_as_a_map() -> None:
    values = media_values(Media("jpeg", None, 640, 480))
    assert values == {"container": "jpeg", "width": 640, "height": 480}
    item = {
        "tokenRef": {"S": "ref"}, "uploadId": {"S": "a" * 32}, "userId": {"S": "u1"},
        "fileName": {"S": "x.jpg"}, "fileSize": {"N": "10"}, "contentType": {"S": "image/jpeg"},
        "createdAt": {"S": "2026-11-22T08:00:00.000Z"}, "targetExpiresAt": {"S": "2026-11-22T08:15:00.000Z"},
        "status": {"S": "ACCEPTED"},
        "media": {"M": {"container": {"S": "mp4"}, "durationSeconds": {"N": "2.5"}, "width": {"N": "160"},
                        "height": {"N": "120"}, "videoCodec": {"S": "h264"}}},
    }  # fmt: skip
    assert upload_from_item(item).media == Media("mp4", 2.5, 160, 120, "h264", None)


def test_the_openapi_document_shows_media_and_max_duration_as_our_extension() -> None:
    schemas = build_document()["components"]["schemas"]
    request = schemas["CreateTokenRequest"]["properties"]["maxDurationSeconds"]
    allowed = next(option for option in request["anyOf"] if option.get("type") == "integer")
    assert (allowed["minimum"], allowed["maximum"]) == (1, 86400)
    assert "extension" in request["description"]
    assert "maxDurationSeconds" in schemas["UploadToken"]["properties"]
    assert set(schemas["MediaInfo"]["properties"]) == set(WIRE)
    assert "media" in schemas["UploadInfo"]["properties"]
