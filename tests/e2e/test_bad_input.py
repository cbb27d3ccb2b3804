"""Every bad input of DESIGN.md section 2 gets a 400 (or 404) problem document, never a 5xx."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from tests.conftest import Stack, User
from tests.e2e.conftest import assert_problem


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ('{"ttl": -1}', "ttl"),
        ('{"ttl": 86401}', "ttl"),
        ('{"ttl": 100000000000000000000000000000}', "ttl"),
        ('{"ttl": 1.5}', "ttl"),
        ('{"ttl": 3600.0}', "ttl"),
        ('{"ttl": 1e3}', "ttl"),
        ('{"ttl": "3600"}', "ttl"),
        ('{"ttl": true}', "ttl"),
        ('{"ttl": [3600]}', "ttl"),
        ('{"ttl": 3600, "expires": 1}', "expires"),
        ('{"ttl": 3600', "body"),
        ("not json", "body"),
        ("[3600]", "body"),
        ('"3600"', "body"),
    ],
)
def test_create_refuses_bad_bodies(
    stack: Stack, http: requests.Session, user: User, body: str, name: str
) -> None:
    response = http.post(
        f"{stack.api}/upload-tokens",
        data=body,
        headers={**user.headers(), "Content-Type": "application/json"},
    )
    assert_problem(response, 400, name)


@pytest.mark.parametrize("body", [b"\xff", b'{"ttl": 60, "x": "\xff"}'])
def test_bodies_that_are_not_utf8_are_400(
    stack: Stack, http: requests.Session, user: User, body: bytes
) -> None:
    """Found by the fuzzer: API Gateway base64-encodes such a body; decoding it must not 500."""
    headers = {**user.headers(), "Content-Type": "application/json"}
    assert_problem(http.post(f"{stack.api}/upload-tokens", data=body, headers=headers), 400, "body")
    upload = http.post(f"{stack.api}/upload", params={"token": "to" + "0" * 22}, data=body, headers=headers)
    assert_problem(upload, 400, "body")


def test_a_refused_create_stores_nothing(stack: Stack, http: requests.Session, user: User) -> None:
    http.post(f"{stack.api}/upload-tokens", json={"ttl": -5}, headers=user.headers())
    page = http.get(f"{stack.api}/upload-tokens", headers=user.headers()).json()
    assert page["data"] == [] and page["pagination"]["itemsTotal"] == 0


def test_every_problem_is_listed(stack: Stack, http: requests.Session, user: User) -> None:
    response = http.get(
        f"{stack.api}/upload-tokens",
        params={"pageSize": "0", "currentPage": "0", "sortBy": "size"},
        headers=user.headers(),
    )
    body = assert_problem(response, 400, "sortBy")
    assert {problem["name"] for problem in body["problems"]} == {"pageSize", "currentPage", "sortBy"}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "101"}, "pageSize"),
        ({"pageSize": "-1"}, "pageSize"),
        ({"pageSize": "ten"}, "pageSize"),
        ({"pageSize": "2.0"}, "pageSize"),
        ({"currentPage": "0"}, "currentPage"),
        ({"currentPage": "1e2"}, "currentPage"),
        ({"currentPage": ""}, "currentPage"),
        ({"sortBy": "expiresAt"}, "sortBy"),
        ({"sortBy": ""}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"sortOrder": "ASC"}, "sortOrder"),
        ({"page": "2"}, "page"),
        ({"currentPage": ["1", "2"]}, "currentPage"),
    ],
)
def test_list_refuses_bad_query_parameters(
    stack: Stack, http: requests.Session, user: User, params: dict[str, Any], name: str
) -> None:
    response = http.get(f"{stack.api}/upload-tokens", params=params, headers=user.headers())
    assert_problem(response, 400, name)


JUNK_IDS = [
    "junk",
    "to",
    "to" + "A" * 21,
    "to" + "A" * 23,
    "TO" + "A" * 22,
    "to" + "!" * 22,
    "to" + "é" * 22,
    "x" * 2000,
    "' OR '1'='1",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
]


@pytest.mark.parametrize("junk", JUNK_IDS)
def test_junk_token_ids_are_not_found(
    stack: Stack, http: requests.Session, user: User, admin: User, junk: str
) -> None:
    url = f"{stack.api}/upload-tokens/{quote(junk, safe='%')}"
    for who in (user, admin):
        assert_problem(http.get(url, headers=who.headers()), 404)
        assert_problem(http.delete(url, headers=who.headers()), 404)


def test_another_users_token_looks_exactly_like_a_missing_one(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User, other_user: User
) -> None:
    theirs = create(other_user, ttl=300)["token"]
    missing = "to" + "0" * 22

    foreign = http.get(f"{stack.api}/upload-tokens/{theirs}", headers=user.headers())
    absent = http.get(f"{stack.api}/upload-tokens/{missing}", headers=user.headers())

    assert foreign.status_code == absent.status_code == 404
    assert foreign.json() == absent.json()


@pytest.mark.parametrize("depth", [1000, 20_000, 100_000])
@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_bodies_are_400(
    stack: Stack, http: requests.Session, user: User, depth: int, opening: str
) -> None:
    """Past the JSON parser's nesting limit json.loads raises RecursionError: still not valid JSON."""
    body = opening * depth
    headers = {"Content-Type": "application/json"}
    create = http.post(f"{stack.api}/upload-tokens", data=body, headers={**user.headers(), **headers})
    upload = http.post(f"{stack.api}/upload", params={"token": "to" + "0" * 22}, data=body, headers=headers)
    for response in (create, upload):
        assert assert_problem(response, 400, "body")["title"] == "The body is not valid JSON."


def test_a_body_of_many_unknown_keys_gets_a_short_answer(
    stack: Stack, http: requests.Session, user: User
) -> None:
    """Each unknown key is a problem, but the answer lists the first 20 and says how many there were."""
    body = {f"k{index}": 1 for index in range(30_000)}
    response = http.post(f"{stack.api}/upload-tokens", json=body, headers=user.headers())
    problem = assert_problem(response, 400, "k0")
    assert len(response.content) < 20_000
    assert [item["name"] for item in problem["problems"]] == [f"k{index}" for index in range(20)]
    assert problem["detail"] == "20 of 30000 problems shown."


def test_a_long_unknown_name_is_echoed_shortened(stack: Stack, http: requests.Session, user: User) -> None:
    response = http.post(f"{stack.api}/upload-tokens", json={"k" * 5000: 1}, headers=user.headers())
    problem = assert_problem(response, 400, "k" * 64 + "…")
    assert len(problem["problems"]) == 1 and "detail" not in problem


@pytest.mark.parametrize("length", ["-1", "abc", "0x10"])
def test_a_bad_content_length_is_400(stack: Stack, length: str) -> None:
    """Not a count of bytes: answered at once (`-1` used to wait for the client to close, `abc` crashed)."""
    url = urlsplit(stack.api)
    with socket.create_connection((url.hostname, url.port), timeout=5) as connection:
        connection.sendall(
            f"POST /upload-tokens HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n{{}}".encode()
        )
        reply = connection.makefile("rb")
        assert reply.readline().split(b" ")[:2] == [b"HTTP/1.1", b"400"]
        headers = {}
        while (line := reply.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert json.loads(reply.read(int(headers["content-length"]))) == {"message": "Bad Request"}


@pytest.mark.parametrize("name", ["page_size", "current_page", "sort_by", "sort_order", "user_id"])
def test_python_names_of_query_parameters_are_unknown(
    stack: Stack, http: requests.Session, user: User, name: str
) -> None:
    """Only the documented camelCase names: `page_size=5` is an unknown parameter, not `pageSize`."""
    value = {"sort_by": "ttl", "sort_order": "desc", "user_id": user.sub}.get(name, "5")
    response = http.get(f"{stack.api}/upload-tokens", params={name: value}, headers=user.headers())
    assert_problem(response, 400, name)


def test_python_names_of_upload_fields_are_unknown(
    stack: Stack, http: requests.Session, create: Callable[..., dict[str, Any]], user: User
) -> None:
    token = create(user, ttl=300)["token"]
    body = {"file_name": "clip.mp4", "file_size": 100, "content_type": "video/mp4"}
    response = http.post(f"{stack.api}/upload", params={"token": token}, json=body)
    problem = assert_problem(response, 400, "fileName")
    assert {item["name"] for item in problem["problems"]} == {
        "fileName",
        "fileSize",
        "contentType",
        "file_name",
        "file_size",
        "content_type",
    }
