"""Only members of the group named exactly `admins` are admins: real Cognito groups whose names look
like it, signed in through the emulator and checked through the local API (docs/security-notes.md).

Not tested here: a group name with whitespace (`admins `, `x admins`). Cognito refuses whitespace in
group names; the emulator (moto) accepts it, and such a group would be ambiguous in the string form
API Gateway passes (`[x admins]`), which is why the string form can be trusted on real Cognito only.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import jwt
import pytest
import requests

from tests.conftest import PASSWORD, Stack, User, sign_in
from tests.e2e.conftest import assert_problem

LOOKALIKES = ["x,admins", '"admins"', "[admins]", "Admins"]


@pytest.fixture(scope="module")
def member_of(stack: Stack) -> Callable[[str], User]:
    """A fresh user in the (created on first use) group `group`, signed in after joining it."""
    cognito = stack.client("cognito-idp")
    pool = stack.info["userPoolId"]

    def make(group: str) -> User:
        with contextlib.suppress(cognito.exceptions.GroupExistsException):
            cognito.create_group(UserPoolId=pool, GroupName=group)
        username = f"member-{uuid.uuid4().hex[:12]}"
        created = cognito.admin_create_user(
            UserPoolId=pool, Username=username, TemporaryPassword=PASSWORD, MessageAction="SUPPRESS"
        )
        cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
        sub = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        tokens = sign_in(stack, username, PASSWORD)
        for token in (tokens["IdToken"], tokens["AccessToken"]):  # the claim the function will read
            assert jwt.decode(token, options={"verify_signature": False})["cognito:groups"] == [group]
        return User(username, sub, tokens["IdToken"], tokens["AccessToken"])

    return make


@pytest.mark.parametrize("group", LOOKALIKES)
@pytest.mark.parametrize("token", ["id", "access"])
def test_members_of_lookalike_groups_are_not_admins(
    stack: Stack,
    http: requests.Session,
    member_of: Callable[[str], User],
    other_user: User,
    group: str,
    token: str,
) -> None:
    """The two things only an admin may do, a token that never expires and another user's listing."""
    member = member_of(group)
    forever = http.post(f"{stack.api}/upload-tokens", json={"ttl": 0}, headers=member.headers(token))
    assert_problem(forever, 400, "ttl")
    theirs = http.get(
        f"{stack.api}/upload-tokens", params={"userId": other_user.sub}, headers=member.headers(token)
    )
    assert_problem(theirs, 400, "userId")


@pytest.mark.parametrize("token", ["id", "access"])
def test_members_of_admins_are_admins(
    stack: Stack,
    http: requests.Session,
    member_of: Callable[[str], User],
    make_user: Callable[..., User],
    other_user: User,
    token: str,
) -> None:
    for admin in (make_user(admin=True), member_of("admins")):
        forever = http.post(f"{stack.api}/upload-tokens", json={"ttl": 0}, headers=admin.headers(token))
        assert forever.status_code == 200, forever.text
        assert forever.json()["ttl"] == 0 and forever.json()["expiresAt"] is None
        theirs = http.get(
            f"{stack.api}/upload-tokens", params={"userId": other_user.sub}, headers=admin.headers(token)
        )
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["data"] == []
