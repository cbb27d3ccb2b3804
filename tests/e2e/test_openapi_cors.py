"""The served OpenAPI document matches the template's routes and the handlers' answers; CORS as configured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import requests

from local_stack.template import load_template
from tests.conftest import Stack, User


@pytest.fixture(scope="module")
def document(stack: Stack) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/openapi.json", timeout=10)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def template_routes() -> set[tuple[str, str]]:
    routes = set()
    for spec in load_template()["Resources"].values():
        for event in spec.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.add((event["Properties"]["Method"].lower(), event["Properties"]["Path"]))
    return routes


def test_document_describes_exactly_the_templates_routes(document: dict[str, Any]) -> None:
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }
    assert documented == template_routes()


def check(document: dict[str, Any], response: requests.Response, method: str, path: str) -> None:
    """The response's status, headers and body are what the document says for that operation."""
    operation = document["paths"][path][method]
    spec = operation["responses"][str(response.status_code)]
    for header in spec.get("headers", {}):
        assert header in response.headers, header
    if "content" not in spec:
        assert response.content == b""
        return
    media = response.headers["Content-Type"]
    schema = {**spec["content"][media]["schema"], "components": document["components"]}
    jsonschema.validate(response.json(), schema)


def test_responses_match_the_document(
    stack: Stack,
    http: requests.Session,
    document: dict[str, Any],
    user: User,
    other_user: User,
    create: Callable[..., dict[str, Any]],
) -> None:
    api = stack.api
    created = http.post(f"{api}/upload-tokens", json={"ttl": 120}, headers=user.headers())
    token = created.json()["token"]
    exchanges = [
        (created, "post", "/upload-tokens"),
        (
            http.post(f"{api}/upload-tokens", json={"ttl": "x"}, headers=user.headers()),
            "post",
            "/upload-tokens",
        ),
        (http.get(f"{api}/upload-tokens", headers=user.headers()), "get", "/upload-tokens"),
        (http.get(f"{api}/upload-tokens?pageSize=0", headers=user.headers()), "get", "/upload-tokens"),
        (
            http.get(f"{api}/upload-tokens/{token}", headers=user.headers()),
            "get",
            "/upload-tokens/{uploadToken}",
        ),
        (
            http.get(f"{api}/upload-tokens/{token}", headers=other_user.headers()),
            "get",
            "/upload-tokens/{uploadToken}",
        ),
        (
            http.delete(f"{api}/upload-tokens/{token}", headers=user.headers()),
            "delete",
            "/upload-tokens/{uploadToken}",
        ),
        (
            http.delete(f"{api}/upload-tokens/{token}", headers=user.headers()),
            "delete",
            "/upload-tokens/{uploadToken}",
        ),
        (http.get(f"{api}/upload-tokens"), "get", "/upload-tokens"),
    ]
    for _ in range(4):
        create(other_user)
    exchanges.append(
        (http.post(f"{api}/upload-tokens", json={}, headers=other_user.headers()), "post", "/upload-tokens")
    )
    assert [response.status_code for response, _, _ in exchanges] == [
        200,
        400,
        200,
        400,
        200,
        404,
        204,
        404,
        401,
        200,
    ]
    upload_body = {"fileName": "a.mp4", "fileSize": 10, "contentType": "video/mp4"}
    live = create(user)["token"]
    uploads = [
        requests.post(f"{api}/upload", params={"token": live}, json=upload_body, timeout=10),
        requests.post(
            f"{api}/upload", params={"token": live}, json={**upload_body, "fileSize": 0}, timeout=10
        ),
        requests.post(f"{api}/upload", params={"token": "to" + "0" * 22}, json=upload_body, timeout=10),
    ]
    assert [response.status_code for response in uploads] == [200, 400, 404]
    exchanges += [(response, "post", "/upload") for response in uploads]
    for response, method, path in exchanges:
        check(document, response, method, path)


def test_cors_preflight_for_an_allowed_origin(stack: Stack, http: requests.Session) -> None:
    response = http.options(
        f"{stack.api}/upload-tokens",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"]


def test_cors_exposes_rate_limit_headers_to_allowed_origins_only(
    stack: Stack, http: requests.Session, user: User
) -> None:
    allowed = http.get(
        f"{stack.api}/upload-tokens", headers={**user.headers(), "Origin": "http://localhost:5173"}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "x-ratelimit-remaining" in allowed.headers["Access-Control-Expose-Headers"]

    foreign = http.get(
        f"{stack.api}/upload-tokens", headers={**user.headers(), "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_the_emulator_answers_browsers_of_the_stacks_origins_only(stack: Stack) -> None:
    """moto allowed any origin: any page open in the developer's browser could have read the
    emulator (the api.video double's key, everyone's tokens). The demo page's origin may (it signs
    in with Cognito and uploads to S3 from there); another origin's preflight is refused and its
    answers carry no CORS header, so the browser keeps them from the page."""
    emulator, demo = stack.info["awsEndpoint"], stack.info["apiUrl"]
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    allowed = requests.options(emulator, headers={"Origin": demo, **preflight}, timeout=10)
    foreign = requests.options(emulator, headers={"Origin": "https://evil.example", **preflight}, timeout=10)
    read = requests.post(
        emulator,
        headers={
            "Origin": "https://evil.example",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        data="{}",
        timeout=10,
    )

    assert allowed.headers.get("Access-Control-Allow-Origin") in (demo, "*"), allowed.headers
    assert foreign.status_code == 403
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert not [name for name in read.headers if name.lower().startswith("access-control-")], read.headers
