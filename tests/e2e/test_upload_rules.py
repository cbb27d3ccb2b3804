"""What a token's holder is told before sending a byte (`GET /uploads/{token}`), and why a dead
token refuses: expired, revoked or used up, said in the 404's title on every route that takes it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import assert_problem
from tests.e2e.test_multipart import Companion, companion_problem
from tests.e2e.test_uploads import decided, send, start
from tests.waiting import eventually


def rules(stack: Stack, token: str) -> requests.Response:
    return requests.get(f"{stack.api}/uploads/{token}", timeout=30)


def test_a_live_token_says_what_it_may_still_upload(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    # given a fresh token of the test stack (UploadsPerToken=3, MaxUploadBytes=1 MiB)
    token = token_of(user, ttl=300)
    view = requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=30).json()

    # when its holder asks, before and after one upload
    before = rules(stack, token)
    send(start(stack, token).json())
    after = rules(stack, token)

    # then
    assert before.status_code == 200, before.text
    assert before.json() == {
        "expiresAt": view["expiresAt"],
        "uploadsLeft": 3,
        "maxFileSize": 1048576,
        "allowedContentTypes": ["image/jpeg", "image/png", "video/mp4", "video/quicktime", "video/webm"],
    }
    assert after.json()["uploadsLeft"] == 2
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Retry-After"):
        assert before.headers[header].isdigit()


def test_a_revoked_token_says_it_was_revoked_on_every_route(
    stack: Stack, http: requests.Session, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user)
    upload = Companion(stack, token).started()
    assert http.delete(f"{stack.api}/upload-tokens/{token}", headers=user.headers()).status_code == 204

    refusals = [
        rules(stack, token),
        start(stack, token),
        Companion(stack, token).start(),
        requests.get(
            f"{stack.api}/uploads/{token}/s3/multipart/{upload['uploadId']}/1",
            params={"key": upload["key"]},
            timeout=30,
        ),
    ]

    for refused in refusals:
        assert assert_problem(refused, 404)["title"] == "The upload token was revoked.", refused.url
    assert companion_problem(refusals[2], 404)["message"].startswith("The upload token was revoked.")


def test_an_expired_token_says_when_it_expired(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    token = token_of(user, ttl=2)
    expires_at = rules(stack, token).json()["expiresAt"]
    eventually(lambda: rules(stack, token).status_code, lambda status: status == 404, what="expiry")

    for refused in (rules(stack, token), start(stack, token), Companion(stack, token).start()):
        assert assert_problem(refused, 404)["title"] == f"The upload token expired at {expires_at}."


def test_a_used_up_token_says_so(stack: Stack, user: User, token_of: Callable[..., str]) -> None:
    token = token_of(user)
    targets = [start(stack, token, name=f"clip-{n}.mp4").json() for n in range(3)]
    for target in targets:
        send(target)
    for target in targets:
        decided(stack, user, token, target["uploadId"])
    eventually(lambda: rules(stack, token).status_code, lambda status: status == 404, what="closed")

    refused = assert_problem(start(stack, token), 404)

    assert refused["title"] == "The upload token has ended (FULL_UPLOAD): it takes no more uploads."


@pytest.mark.parametrize("token", ["junk", "to" + "0" * 22])
def test_an_unknown_token_is_not_found(stack: Stack, token: str) -> None:
    assert assert_problem(rules(stack, token), 404)["title"] == "The upload token was not found."


def test_nothing_is_counted_for_a_token_that_does_not_exist(stack: Stack) -> None:
    """Past the per-token limit of the routes (RateLimitPerMinute=40): never a 429, as nothing is
    written for a token that does not exist."""
    answers = [rules(stack, "to" + "1" * 22).status_code for _ in range(45)]
    assert answers == [404] * 45
