from __future__ import annotations

from typing import Any

import pytest

from local_stack.gateway import claim_strings
from upload_service.http.auth import MissingClaims, caller_from_event, parse_groups


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        (None, set()),
        ("", set()),
        ("[]", set()),
        ("[admins]", {"admins"}),
        ("[admins editors]", {"admins", "editors"}),
        ('["admins","editors"]', {'"admins","editors"'}),  # JSON is not a form we read: fail closed
        ("admins", {"admins"}),
        ("admins editors", {"admins", "editors"}),
        (["admins", "editors"], {"admins", "editors"}),
        (("admins",), {"admins"}),
        ("[administrators]", {"administrators"}),
        ("[x,admins]", {"x,admins"}),
        ("x,admins", {"x,admins"}),
        ('["admins"]', {'"admins"'}),
        ("['admins']", {"'admins'"}),
        (["admins "], {"admins "}),
        (["[admins]"], {"[admins]"}),
        ("[[admins]]", {"[admins]"}),  # how HTTP API passes the one group named `[admins]`
    ],
)
def test_parse_groups(value: Any, groups: set[str]) -> None:
    assert parse_groups(value) == groups


@pytest.mark.parametrize(
    "groups",
    [
        ["x,admins"],
        "[x,admins]",
        "x,admins",
        ['"admins"'],
        '["admins"]',
        '"admins"',
        '["admins","editors"]',
        ["admins "],
        ["[admins]"],
        "[[admins]]",
        ["Admins"],
        "[Admins]",
        "ADMINS",
        ["administrators"],
        [],
        "[]",
    ],
)
def test_lookalike_groups_are_not_admins(groups: Any) -> None:
    caller = caller_from_event(event_with({"sub": "u", "cognito:groups": groups}), "admins")
    assert not caller.is_admin, caller.groups


@pytest.mark.parametrize(
    "groups",
    ["admins", "[admins]", "[editors admins]", ["editors", "admins"], ["admins"], ("admins",)],
)
def test_admins_group_members_are_admins(groups: Any) -> None:
    caller = caller_from_event(event_with({"sub": "u", "cognito:groups": groups}), "admins")
    assert caller.is_admin, caller.groups


@pytest.mark.parametrize(
    "groups", [["admins"], ["editors", "admins"], ["x,admins"], ['"admins"'], ["Admins"]]
)
def test_what_http_api_passes_reads_back_as_the_groups(groups: list[str]) -> None:
    """The authorizer's string form of a group list (claim_strings, as API Gateway) parses back exactly."""
    claims = claim_strings({"sub": "u", "cognito:groups": groups})
    assert parse_groups(claims["cognito:groups"]) == set(groups)


def event_with(claims: dict[str, Any] | None) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {"requestContext": context}


def test_caller_from_http_api_claims() -> None:
    claims = claim_strings({"sub": "u-1", "cognito:username": "alice", "cognito:groups": ["admins", "x"]})
    caller = caller_from_event(event_with(claims), admin_group="admins")
    assert caller.user_id == "u-1" and caller.username == "alice" and caller.is_admin


def test_membership_is_exact() -> None:
    caller = caller_from_event(event_with({"sub": "u", "cognito:groups": "[administrators]"}), "admins")
    assert not caller.is_admin


@pytest.mark.parametrize("claims", [None, {}, {"sub": ""}, {"cognito:groups": "[admins]"}])
def test_missing_claims_are_refused(claims: dict[str, Any] | None) -> None:
    with pytest.raises(MissingClaims):
        caller_from_event(event_with(claims), "admins")


def test_claims_are_passed_as_http_api_strings() -> None:
    assert claim_strings({"exp": 17, "groups": ["a", "b"], "flag": True, "sub": "s"}) == {
        "exp": "17",
        "groups": "[a b]",
        "flag": "true",
        "sub": "s",
    }


def test_the_log_scan_finds_whole_tokens_and_jwts_only() -> None:
    from tests.conftest import secrets_in

    log = (
        '{"token": "to1R5N…"} uploads/to1R5NZbSqXYcNq3XgsNVUNC/x tokens tokenizer '
        "Bearer eyJraWQiOiJkdW1teSJ9.eyJzdWIiOiIxMjM0NTY3ODkw.c2lnbmF0dXJl"
    )
    assert secrets_in(log) == [
        "to1R5NZbSqXYcNq3XgsNVUNC",
        "eyJraWQiOiJkdW1teSJ9.eyJzdWIiOiIxMjM0NTY3ODkw.c2lnbmF0dXJl",
    ]
