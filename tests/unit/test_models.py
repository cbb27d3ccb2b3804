from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from upload_service.core.models import CreateTokenRequest, ListTokensQuery, SortBy, SortOrder, UploadToken
from upload_service.core.records import TokenRecord, TokenStatus, isoformat

NOW = datetime(2026, 11, 22, 8, 0, 0, 123456, tzinfo=UTC)


def test_isoformat_is_utc_with_milliseconds() -> None:
    assert isoformat(NOW) == "2026-11-22T08:00:00.123Z"
    assert isoformat(datetime(2020, 12, 2, 10, 26, 46, tzinfo=UTC)) == "2020-12-02T10:26:46.000Z"


def test_upload_token_wire_shape() -> None:
    record = TokenRecord.new("to" + "a" * 22, "user-1", 3600, NOW)
    wire = UploadToken.from_record(record, NOW).model_dump(mode="json")
    assert wire == {
        "token": "to" + "a" * 22,
        "ttl": 3600,
        "createdAt": "2026-11-22T08:00:00.123Z",
        "expiresAt": "2026-11-22T09:00:00.123Z",
        "userId": "user-1",
        "status": "PENDING",
        "maxDurationSeconds": None,
    }


def test_ttl_zero_never_expires() -> None:
    record = TokenRecord.new("to" + "a" * 22, "user-1", 0, NOW)
    assert record.expires_at is None
    assert record.is_live(NOW + timedelta(days=10000))


def test_a_live_token_past_expiry_reads_as_timed_out() -> None:
    record = TokenRecord.new("to" + "a" * 22, "user-1", 60, NOW)
    assert record.effective_status(NOW + timedelta(seconds=59)) is TokenStatus.PENDING
    assert record.effective_status(NOW + timedelta(seconds=60)) is TokenStatus.TIMED_OUT
    assert not record.is_live(NOW + timedelta(seconds=60))


@pytest.mark.parametrize("ttl", [1.5, 3600.0, "3600", True, [1], {"a": 1}])
def test_create_request_takes_only_json_integers(ttl: object) -> None:
    with pytest.raises(ValidationError):
        CreateTokenRequest.model_validate({"ttl": ttl})


def test_create_request_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError) as raised:
        CreateTokenRequest.model_validate({"ttl": 1, "ttL": 2})
    assert raised.value.errors()[0]["type"] == "extra_forbidden"


def test_list_query_defaults() -> None:
    query = ListTokensQuery.model_validate({})
    assert (query.sort_by, query.sort_order, query.current_page, query.page_size, query.user_id) == (
        SortBy.CREATED_AT,
        SortOrder.ASC,
        1,
        25,
        None,
    )


@pytest.mark.parametrize("value", ["2.0", "+2", " 2", "2 ", "1e1", "0x2", "", "١"])
def test_list_query_integers_are_plain_digits(value: str) -> None:
    with pytest.raises(ValidationError):
        ListTokensQuery.model_validate({"currentPage": value})


@pytest.mark.parametrize(("size", "ok"), [("0", False), ("1", True), ("100", True), ("101", False)])
def test_page_size_bounds(size: str, ok: bool) -> None:
    if ok:
        assert ListTokensQuery.model_validate({"pageSize": size}).page_size == int(size)
    else:
        with pytest.raises(ValidationError):
            ListTokensQuery.model_validate({"pageSize": size})
