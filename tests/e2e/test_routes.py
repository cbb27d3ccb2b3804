"""Every row of DESIGN.md's route table, through the local HTTP API with Cognito-issued JWTs."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import RATE_HEADERS, assert_problem

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def tokens_of(page: dict[str, Any]) -> list[str]:
    return [item["token"] for item in page["data"]]


def test_create_gives_an_api_video_upload_token(stack: Stack, http: requests.Session, user: User) -> None:
    # when
    response = http.post(f"{stack.api}/upload-tokens", json={"ttl": 600}, headers=user.headers())
    # then
    assert response.status_code == 200, response.text
    token = response.json()
    assert re.fullmatch(r"to[0-9A-Za-z]{22}", token["token"])
    assert token["ttl"] == 600
    assert ISO_MS.fullmatch(token["createdAt"]) and ISO_MS.fullmatch(token["expiresAt"])
    assert parse(token["expiresAt"]) - parse(token["createdAt"]) == timedelta(seconds=600)
    assert token["userId"] == user.sub
    assert token["status"] == "PENDING"
    for header in RATE_HEADERS:
        assert response.headers[header].isdigit()


def test_create_without_ttl_uses_the_short_default(stack: Stack, http: requests.Session, user: User) -> None:
    bodies: list[dict[str, Any] | None] = [{}, None]
    for body in bodies:
        response = http.post(f"{stack.api}/upload-tokens", json=body, headers=user.headers())
        assert response.status_code == 200, response.text
        assert response.json()["ttl"] == 3600


def test_access_tokens_work_like_id_tokens(stack: Stack, http: requests.Session, user: User) -> None:
    response = http.post(f"{stack.api}/upload-tokens", json={"ttl": 60}, headers=user.headers("access"))
    assert response.status_code == 200, response.text
    assert response.json()["userId"] == user.sub


def test_only_admins_create_tokens_that_never_expire(
    stack: Stack, http: requests.Session, user: User, admin: User
) -> None:
    refused = http.post(f"{stack.api}/upload-tokens", json={"ttl": 0}, headers=user.headers())
    assert_problem(refused, 400, "ttl")

    granted = http.post(f"{stack.api}/upload-tokens", json={"ttl": 0}, headers=admin.headers())
    assert granted.status_code == 200, granted.text
    assert granted.json()["ttl"] == 0
    assert granted.json()["expiresAt"] is None


def test_get_shows_a_token_to_its_owner_and_admins_only(
    stack: Stack,
    http: requests.Session,
    create: Callable[..., dict[str, Any]],
    user: User,
    other_user: User,
    admin: User,
) -> None:
    token = create(user, ttl=300)
    url = f"{stack.api}/upload-tokens/{token['token']}"

    assert http.get(url, headers=user.headers()).json() == {**token, "uploads": []}
    assert http.get(url, headers=admin.headers()).json() == {**token, "uploads": []}
    assert_problem(http.get(url, headers=other_user.headers()), 404)


def test_list_shows_users_their_own_live_tokens(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User, other_user: User
) -> None:
    mine = [create(user, ttl=300)["token"] for _ in range(2)]
    theirs = create(other_user, ttl=300)["token"]

    page = http.get(f"{stack.api}/upload-tokens", headers=user.headers()).json()

    assert tokens_of(page) == mine
    assert theirs not in tokens_of(page)
    assert page["pagination"]["itemsTotal"] == 2


def test_admin_lists_everyone_and_filters_by_user(
    stack: Stack,
    http: requests.Session,
    create: Callable[..., dict[str, Any]],
    user: User,
    other_user: User,
    admin: User,
) -> None:
    mine = create(user, ttl=300)["token"]
    theirs = create(other_user, ttl=300)["token"]

    everyone = http.get(
        f"{stack.api}/upload-tokens", params={"pageSize": "100", "sortOrder": "desc"}, headers=admin.headers()
    ).json()
    assert {mine, theirs} <= set(tokens_of(everyone))

    filtered = http.get(
        f"{stack.api}/upload-tokens", params={"userId": user.sub}, headers=admin.headers()
    ).json()
    assert tokens_of(filtered) == [mine]
    assert filtered["pagination"]["itemsTotal"] == 1
    assert filtered["pagination"]["links"][0] == {
        "rel": "self",
        "uri": f"/upload-tokens?userId={user.sub}&currentPage=1&pageSize=25",
    }


def test_users_cannot_list_another_users_tokens(
    stack: Stack, http: requests.Session, user: User, other_user: User
) -> None:
    response = http.get(
        f"{stack.api}/upload-tokens", params={"userId": other_user.sub}, headers=user.headers()
    )
    assert_problem(response, 400, "userId")


def test_pagination_object_and_links(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    created = [create(user, ttl=300)["token"] for _ in range(5)]

    def page(number: int) -> dict[str, Any]:
        response = http.get(
            f"{stack.api}/upload-tokens",
            params={"currentPage": number, "pageSize": 2},
            headers=user.headers(),
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    first, middle, last, beyond = page(1), page(2), page(3), page(4)

    assert tokens_of(first) + tokens_of(middle) + tokens_of(last) == created
    assert middle["pagination"] == {
        "currentPage": 2,
        "currentPageItems": 2,
        "pageSize": 2,
        "pagesTotal": 3,
        "itemsTotal": 5,
        "links": [
            {"rel": "self", "uri": "/upload-tokens?currentPage=2&pageSize=2"},
            {"rel": "first", "uri": "/upload-tokens?currentPage=1&pageSize=2"},
            {"rel": "previous", "uri": "/upload-tokens?currentPage=1&pageSize=2"},
            {"rel": "next", "uri": "/upload-tokens?currentPage=3&pageSize=2"},
            {"rel": "last", "uri": "/upload-tokens?currentPage=3&pageSize=2"},
        ],
    }
    assert [link["rel"] for link in first["pagination"]["links"]] == ["self", "first", "next", "last"]
    assert [link["rel"] for link in last["pagination"]["links"]] == ["self", "first", "previous", "last"]
    assert last["pagination"]["currentPageItems"] == 1
    assert beyond["data"] == [] and beyond["pagination"]["currentPageItems"] == 0


def test_sorting_by_created_at_and_by_ttl(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    long_lived = create(user, ttl=900)["token"]
    short_lived = create(user, ttl=60)["token"]
    medium = create(user, ttl=300)["token"]

    def order(**params: str) -> list[str]:
        return tokens_of(http.get(f"{stack.api}/upload-tokens", params=params, headers=user.headers()).json())

    assert order() == [long_lived, short_lived, medium]
    assert order(sortBy="createdAt", sortOrder="desc") == [medium, short_lived, long_lived]
    assert order(sortBy="ttl", sortOrder="asc") == [short_lived, medium, long_lived]
    assert order(sortBy="ttl", sortOrder="desc") == [long_lived, medium, short_lived]


def test_revoke_is_effective_at_once(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    token = create(user, ttl=300)["token"]
    url = f"{stack.api}/upload-tokens/{token}"

    response = http.delete(url, headers=user.headers())

    assert response.status_code == 204 and response.content == b""
    assert response.headers["X-RateLimit-Limit"] == "40"
    assert_problem(http.get(url, headers=user.headers()), 404)
    assert token not in tokens_of(http.get(f"{stack.api}/upload-tokens", headers=user.headers()).json())
    assert_problem(http.delete(url, headers=user.headers()), 404)


def test_users_cannot_revoke_another_users_token_but_admins_can(
    stack: Stack,
    http: requests.Session,
    create: Callable[..., dict[str, Any]],
    user: User,
    other_user: User,
    admin: User,
) -> None:
    token = create(user, ttl=300)["token"]
    url = f"{stack.api}/upload-tokens/{token}"

    assert_problem(http.delete(url, headers=other_user.headers()), 404)
    assert http.get(url, headers=user.headers()).status_code == 200

    assert http.delete(url, headers=admin.headers()).status_code == 204
    assert_problem(http.get(url, headers=user.headers()), 404)


def test_expired_tokens_are_never_listed_or_reported_active(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    expiring = create(user, ttl=1)["token"]
    lasting = create(user, ttl=300)["token"]
    time.sleep(1.2)

    for sort in ("createdAt", "ttl"):
        page = http.get(f"{stack.api}/upload-tokens", params={"sortBy": sort}, headers=user.headers()).json()
        assert tokens_of(page) == [lasting]
        assert page["pagination"]["itemsTotal"] == 1
    shown = http.get(f"{stack.api}/upload-tokens/{expiring}", headers=user.headers()).json()
    assert shown["status"] == "TIMED_OUT"
