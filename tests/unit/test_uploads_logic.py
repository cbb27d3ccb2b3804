from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_stack.workers import rate_seconds
from upload_service.core.config import Settings
from upload_service.core.errors import BadRequest
from upload_service.core.records import TokenRecord, TokenStatus, UploadRecord
from upload_service.http.api import validate
from upload_service.uploads.file_rules import StartUploadRequest
from upload_service.uploads.landing import rejection_reason
from upload_service.uploads.notifications import Arrival, Unreadable, read_message
from upload_service.uploads.starting import refuse_a_file_in_the_body

SETTINGS = Settings.model_validate(
    {"TABLE_NAME": "t", "MAX_UPLOAD_BYTES": "1000", "ALLOWED_CONTENT_TYPES": "video/mp4, Image/PNG"}
)
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def declare(**fields: Any) -> StartUploadRequest:
    """A `POST /upload` body validated as the function validates it, against SETTINGS."""
    body = {"fileName": "clip.mp4", "fileSize": 10, "contentType": "video/mp4"} | fields
    return validate(StartUploadRequest, {k: v for k, v in body.items() if v is not None}, SETTINGS)


def problem_names(**fields: Any) -> list[str]:
    with pytest.raises(BadRequest) as raised:
        declare(**fields)
    return [str(problem.name) for problem in raised.value.problems]


@pytest.mark.parametrize(
    "name", ["clip.mp4", "My Holiday (1).mp4", "été 2026.mov", "a+b,c@d_e-f.png", "x" * 200]
)
def test_good_file_names(name: str) -> None:
    assert declare(fileName=name).file_name == name


def test_file_names_are_nfc_normalised() -> None:
    assert declare(fileName="e\u0301te\u0301.mp4").file_name == "\u00e9t\u00e9.mp4"


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
    assert problem_names(fileName=name) == ["fileName"]


def test_all_declaration_problems_are_reported_together() -> None:
    assert problem_names(fileName="../x", fileSize=0, contentType="text/html") == [
        "fileName",
        "fileSize",
        "contentType",
    ]


def test_missing_fields_and_broken_rules_are_reported_together() -> None:
    assert sorted(problem_names(fileName="../x", fileSize=None, contentType=None, acl="public")) == [
        "acl",
        "contentType",
        "fileName",
        "fileSize",
    ]


def test_problem_titles_say_what_is_allowed() -> None:
    with pytest.raises(BadRequest) as raised:
        declare(fileName="x" * 201, fileSize=1001, contentType="text/html")
    assert [problem.title for problem in raised.value.problems] == [
        "A file name must have 1 to 200 characters.",
        "The file size must be from 1 to 1000 bytes.",
        "The content type must be one of: image/png, video/mp4.",
    ]


def test_content_types_compare_case_insensitively() -> None:
    request = declare(fileName="a.png", fileSize=1000, contentType=" Image/PNG")
    assert (request.file_name, request.content_type) == ("a.png", "image/png")


def test_declaring_needs_the_settings_that_hold_the_limits() -> None:
    with pytest.raises(TypeError):
        StartUploadRequest.model_validate({"fileName": "a.png", "fileSize": 1, "contentType": "image/png"})


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
    (real_s3,) = read_message(notification("uploads/ab/holiday+clip%281%29.mp4"))
    (emulator,) = read_message(notification("uploads%2Fab%2Fholiday%20clip.mp4"))
    assert isinstance(real_s3, Arrival) and isinstance(emulator, Arrival)
    assert real_s3.key == "uploads/ab/holiday clip(1).mp4"
    assert emulator.key == "uploads/ab/holiday clip.mp4"
    assert real_s3.time == datetime(2026, 11, 22, 8, 0, 1, 500000, tzinfo=UTC)
    assert real_s3.sequencer == "0A"


def test_test_events_and_other_event_names_yield_nothing() -> None:
    assert read_message(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert read_message(notification("uploads/x", event="ObjectRemoved:Delete")) == []


GOOD_RECORD = json.loads(notification("uploads/ab/a.mp4"))["Records"][0]


@pytest.mark.parametrize(
    "body",
    [
        "",
        "nope",
        "[]",
        '["x"]',
        "[null]",
        "{}",
        '{"Records": 1}',
        '{"Records": [1]}',
        '{"Records": [null]}',
        '{"Records": [{"eventName": "ObjectCreated:Put"}]}',
        "[" * 100_000,
        json.dumps({"Records": [{**GOOD_RECORD, "eventTime": "2026-11-22T08:00:01"}]}),  # no timezone
        json.dumps({"Records": [{**GOOD_RECORD, "s3": {"bucket": {"name": "b"}, "object": {"key": 7}}}]}),
    ],
)
def test_malformed_messages_are_reported_not_raised(body: str) -> None:
    (found,) = read_message(body)
    assert isinstance(found, Unreadable)
    assert found.reason


def test_a_bad_record_does_not_hide_the_good_ones_and_names_no_value() -> None:
    secret = "uploads/to" + "Z" * 22
    bad = {**GOOD_RECORD, "eventTime": secret}
    found = read_message(json.dumps({"Records": [bad, GOOD_RECORD]}))
    assert [type(item) for item in found] == [Unreadable, Arrival]
    assert secret not in str(found[0])


TOKEN = TokenRecord.new("to" + "a" * 22, "u1", 600, NOW)
UPLOAD = UploadRecord(TOKEN.ref, "f" * 32, "u1", "a.mp4", 100, "video/mp4", NOW, NOW + timedelta(seconds=300))
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


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", 'Multipart/Form-Data;boundary="a b"', "multipart/form-data"],
)
def test_a_file_in_the_body_is_refused_saying_what_the_route_takes(content_type: str) -> None:
    """What api.video's clients send to its `POST /upload`: ours takes a JSON description instead."""
    with pytest.raises(BadRequest) as refused:
        refuse_a_file_in_the_body(content_type)

    assert refused.value.name == "body"
    assert refused.value.title == "POST /upload takes a JSON description of the file, not the file."
    assert refused.value.detail
    assert '{"fileName", "fileSize", "contentType"}' in refused.value.detail


@pytest.mark.parametrize("content_type", [None, "", "application/json", "text/plain", "multipart/mixed"])
def test_other_bodies_go_on_to_the_json_parser(content_type: str | None) -> None:
    refuse_a_file_in_the_body(content_type)


def test_a_file_over_five_gib_is_sent_in_parts_not_in_one_post() -> None:
    """MaxUploadBytes may go past 5 GiB (multipart uploads, delivered by a multipart copy), but S3
    takes at most 5 GiB in one POST: such a POST /upload is refused with where to go instead."""
    roomy = SETTINGS.model_copy(update={"max_upload_bytes": 50 * 1024**3})
    body = {"fileName": "big.mp4", "contentType": "video/mp4"}

    assert validate(StartUploadRequest, body | {"fileSize": 5 * 1024**3}, roomy).file_size == 5 * 1024**3
    with pytest.raises(BadRequest) as raised:
        validate(StartUploadRequest, body | {"fileSize": 5 * 1024**3 + 1}, roomy)
    ((name, title),) = [(str(p.name), p.title) for p in raised.value.problems]
    assert name == "fileSize" and "multipart upload" in title and "docs/large-uploads.md" in title


def test_companion_asks_for_a_post_over_five_gib_are_refused() -> None:
    from upload_service.multipart import companion
    from upload_service.multipart.wire import CompanionFile

    roomy = SETTINGS.model_copy(update={"max_upload_bytes": 50 * 1024**3})
    file = CompanionFile.model_validate(
        {"filename": "big.mp4", "type": "video/mp4", "size": 6 * 1024**3}, context=roomy
    )

    with pytest.raises(BadRequest) as raised:
        companion.presigned_post(None, None, None, file, roomy, NOW)  # type: ignore[arg-type]
    assert [str(p.name) for p in raised.value.problems] == ["size"]
