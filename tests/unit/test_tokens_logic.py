from __future__ import annotations

import re

import pytest

from upload_service.core.config import Settings
from upload_service.core.errors import BadRequest
from upload_service.core.ids import generate_token, is_token_id, mask
from upload_service.http.auth import Caller
from upload_service.tokens.access import resolve_ttl

SETTINGS = Settings.model_validate({"TABLE_NAME": "t", "TOKEN_TTL_DEFAULT": "3600", "TOKEN_TTL_MAX": "86400"})
USER = Caller("u1", "alice", frozenset(), is_admin=False)
ADMIN = Caller("a1", "admin", frozenset({"admins"}), is_admin=True)


@pytest.mark.parametrize(
    ("requested", "caller", "granted"),
    [(None, USER, 3600), (1, USER, 1), (86400, USER, 86400), (0, ADMIN, 0), (86400, ADMIN, 86400)],
)
def test_ttl_granted(requested: int | None, caller: Caller, granted: int) -> None:
    assert resolve_ttl(requested, caller, SETTINGS) == granted


@pytest.mark.parametrize(
    ("requested", "caller"),
    [(0, USER), (-1, USER), (-1, ADMIN), (86401, USER), (86401, ADMIN), (10**30, USER)],
)
def test_ttl_refused(requested: int, caller: Caller) -> None:
    with pytest.raises(BadRequest) as raised:
        resolve_ttl(requested, caller, SETTINGS)
    assert raised.value.name == "ttl"


def test_tokens_are_to_plus_22_base62_and_unique() -> None:
    tokens = {generate_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(re.fullmatch(r"to[0-9A-Za-z]{22}", token) for token in tokens)
    assert all(is_token_id(token) for token in tokens)


@pytest.mark.parametrize("junk", ["", "to", "to" + "a" * 21, "to" + "a" * 23, "x" * 24, "to" + "-" * 22])
def test_junk_is_not_a_token_id(junk: str) -> None:
    assert not is_token_id(junk)


def test_mask_hides_most_of_a_token() -> None:
    token = generate_token()
    assert mask(token).startswith(token[:6])
    assert token[6:] not in mask(token)


def test_settings_refuse_a_default_above_the_maximum() -> None:
    with pytest.raises(ValueError, match="TOKEN_TTL_DEFAULT"):
        Settings.model_validate({"TABLE_NAME": "t", "TOKEN_TTL_DEFAULT": "100", "TOKEN_TTL_MAX": "10"})


def test_settings_need_a_table() -> None:
    with pytest.raises(ValueError, match="TABLE_NAME"):
        Settings.model_validate({})
