from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from local_stack.workers import rate_seconds
from upload_service.config import Settings
from upload_service.errors import BadRequest
from upload_service.models import StartUploadRequest, TokenRecord, TokenStatus, UploadRecord
from upload_service.uploads import arrivals, check_declaration, check_file_name, rejection_reason

SETTINGS = Settings.model_validate(
    {"TABLE_NAME": "t", "MAX_UPLOAD_BYTES": "1000", "ALLOWED_CONTENT_TYPES": "video/mp4, Image/PNG"}
)
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name", ["clip.mp4", "My Holiday (1).mp4", "été 2026.mov", "a+b,c@d_e-f.png", "x" * 200]
)
def test_good_file_names(name: str) -> None:
    assert check_file_name(name) == name


def test_file_names_are_nfc_normalised() -> None:
    assert check_file_name("e\u0301te\u0301.mp4") == "\u00e9t\u00e9.mp4"


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        ".env",
        "../x.mp4",
        "a/b.mp4",
        "a\\b.mp4",
        "a\x00b",
        "a\nb",
        "a\tb",
        " lead.mp4",
        "trail.mp4 ",
        "x" * 201,
        "a\u202eb.mp4",
        "a:b.mp4",
        "a*b.mp4",
        "a?b.mp4",
        "<a>.mp4",
        "a%2Fb.mp4",
    ],
)
def test_bad_file_names(name: str) -> None:
    with pytest.raises(BadRequest) as raised:
        check_file_name(name)
    assert raised.value.name == "fileName"


def test_all_declaration_problems_are_reported_together() -> None:
    request = StartUploadRequest(file_name="../x", file_size=0, content_type="text/html")
    with pytest.raises(BadRequest) as raised:
        check_declaration(request, SETTINGS)
    assert [problem.name for problem in raised.value.problems] == ["fileName", "fileSize", "contentType"]


def test_content_types_compare_case_insensitively() -> None:
    request = StartUploadRequest(file_name="a.png", file_size=1000, content_type="image/png")
    assert check_declaration(request, SETTINGS) == ("a.png", "image/png")


def notification(key: str, event: str = "ObjectCreated:Post") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventName": event,
                    "eventTime": "2026-11-22T08:00:01.500Z",
                    "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 1, "sequencer": "0A"}},
                }
            ]
        }
    )


def test_keys_are_url_decoded_like_s3_and_the_emulator_encode_them() -> None:
    (real_s3,) = arrivals(notification("uploads/to1/ab/holiday+clip%281%29.mp4"))
    (emulator,) = arrivals(notification("uploads%2Fto1%2Fab%2Fholiday%20clip.mp4"))
    assert real_s3.key == "uploads/to1/ab/holiday clip(1).mp4"
    assert emulator.key == "uploads/to1/ab/holiday clip.mp4"
    assert real_s3.time == datetime(2026, 11, 22, 8, 0, 1, 500000, tzinfo=UTC)


def test_test_events_and_other_event_names_yield_nothing() -> None:
    assert arrivals(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert arrivals(notification("uploads/x", event="ObjectRemoved:Delete")) == []


@pytest.mark.parametrize(
    "body", ["", "nope", "[]", "{}", '{"Records": 1}', '{"Records": [{"eventName": "ObjectCreated:Put"}]}']
)
def test_malformed_messages_are_value_errors(body: str) -> None:
    with pytest.raises(ValueError):
        arrivals(body)


TOKEN = TokenRecord.new("to" + "a" * 22, "u1", 600, NOW)
UPLOAD = UploadRecord(
    TOKEN.token, "f" * 32, "u1", "a.mp4", 100, "video/mp4", NOW, NOW + timedelta(seconds=300)
)
ON_TIME = NOW + timedelta(seconds=10)


@pytest.mark.parametrize(
    ("token", "size", "content_type", "arrival", "reason"),
    [
        (TOKEN, 100, "video/mp4", ON_TIME, None),
        (TOKEN, 1, "video/mp4", ON_TIME, None),
        (None, 100, "video/mp4", ON_TIME, "unknown token"),
        (replace(TOKEN, status=TokenStatus.DELETED), 100, "video/mp4", ON_TIME, "token revoked"),
        (TOKEN, 100, "video/mp4", NOW + timedelta(seconds=601), "token expired before the upload arrived"),
        (
            TOKEN,
            100,
            "video/mp4",
            NOW + timedelta(seconds=301),
            "upload target expired before the upload arrived",
        ),
        (TOKEN, 0, "video/mp4", ON_TIME, "empty file"),
        (TOKEN, 101, "video/mp4", ON_TIME, "file of 101 bytes is larger than the 100 declared"),
        (TOKEN, 100, "image/png", ON_TIME, "content type image/png is not the video/mp4 declared"),
        (TOKEN, 100, "", ON_TIME, "content type none is not the video/mp4 declared"),
    ],
)
def test_rejection_reasons(
    token: TokenRecord | None, size: int, content_type: str, arrival: datetime, reason: str | None
) -> None:
    assert rejection_reason(token, UPLOAD, size, content_type, arrival, SETTINGS) == reason


def test_a_full_token_takes_no_more_uploads() -> None:
    full = replace(TOKEN, status=TokenStatus.FULL_UPLOAD)
    assert rejection_reason(full, UPLOAD, 100, "video/mp4", ON_TIME, SETTINGS) == "token is FULL_UPLOAD"


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


def test_cron_schedules_are_not_run_locally() -> None:
    with pytest.raises(ValueError, match="rate"):
        rate_seconds("cron(0 12 * * ? *)")
