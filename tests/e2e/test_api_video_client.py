"""api.video's official Python client (`api.video` 1.4.7) against the local stack: the example of
docs/api-video-compatibility.md runs as written and prints what the page shows, and the differences a
client can see are what the page says (sign-in, the upload call, extra members, ttl rules)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from apivideo import AuthenticatedApiClient
from apivideo.api.upload_tokens_api import UploadTokensApi
from apivideo.api.videos_api import VideosApi
from apivideo.api_client import ApiClient
from apivideo.configuration import Configuration
from apivideo.exceptions import ApiException, NotFoundException
from apivideo.model.token_creation_payload import TokenCreationPayload

from tests.conftest import PASSWORD, ROOT, Stack, User
from tests.docs_text import COMPATIBILITY, client_example
from tests.e2e.conftest import RATE_HEADERS
from tests.isolation import loggers_as_they_were
from tests.waiting import PATIENCE

CLIP = ROOT / "tests" / "fixtures" / "content" / "clip.mp4"


@pytest.fixture(autouse=True)
def official_client_logging() -> Iterator[None]:
    """The client sets urllib3's and its own logger's level when configured: put them back."""
    with loggers_as_they_were("urllib3", "apivideo"):
        yield


@contextmanager
def official_client(stack: Stack, user: User) -> Iterator[ApiClient]:
    """The client as the page configures it: its plain ApiClient, our URL, the Cognito token as bearer."""
    with ApiClient(
        Configuration(host=stack.api), header_name="Authorization", header_value=f"Bearer {user.id_token}"
    ) as client:
        yield client


def test_the_pages_example_runs_as_written_and_prints_what_the_page_shows(
    stack: Stack, user: User, checkout: Path
) -> None:
    # given: the page's program, in a checkout whose stack file is the test stack's, its first user
    # one of the test's own (the page signs in as the first: make dev's alice)
    example = client_example(COMPATIBILITY.read_text())
    stack_file = {**stack.info, "users": [{"username": user.username, "password": PASSWORD, "admin": False}]}
    (checkout / ".local" / "stack.json").write_text(json.dumps(stack_file))
    (checkout / "client.py").write_text(example.program)
    # when: run as the page says, `.venv/bin/python client.py` at the top of the checkout
    run = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "client.py"],
        cwd=checkout,
        env={"PATH": "/usr/bin:/bin", "HOME": str(checkout.parent), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )
    # then
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == example.shown_output, run.stdout


def test_api_videos_authenticated_client_cannot_sign_in_here(stack: Stack) -> None:
    """It exchanges an API key at /auth/api-key: not served, API Gateway's 404."""
    client = AuthenticatedApiClient("any-api-key")
    client.configuration.host = stack.api
    try:
        with pytest.raises(NotFoundException) as refused:
            client.connect()
    finally:
        client.close()

    assert refused.value.status == 404
    assert json.loads(refused.value.body) == {"message": "Not Found"}


def test_an_api_key_as_basic_credentials_is_refused(stack: Stack) -> None:
    """What api.video's Node.js client sends (`Basic base64(apiKey:)`) is no Cognito token."""
    answer = requests.get(f"{stack.api}/upload-tokens", auth=("any-api-key", ""), timeout=30)

    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert not set(RATE_HEADERS) & set(answer.headers)  # API Gateway's answer: no function ran


def test_the_upload_calls_are_refused_with_a_problem_document_and_record_nothing(
    stack: Stack, user: User
) -> None:
    with official_client(stack, user) as client:
        token = UploadTokensApi(client).create_token(TokenCreationPayload(ttl=600)).token
        videos = VideosApi(client)
        refusals = []
        with CLIP.open("rb") as whole:
            with pytest.raises(ApiException) as refused:
                videos.upload_with_upload_token(token, whole)
            refusals.append(refused.value)
        session = videos.create_upload_with_upload_token_progressive_session(token)
        with CLIP.open("rb") as part:
            with pytest.raises(ApiException) as refused:
                session.uploadLastPart(part)
            refusals.append(refused.value)
        raw = UploadTokensApi(client).get_token(token, _preload_content=False)

    for refusal in refusals:
        assert refusal.status == 400
        assert refusal.headers["Content-Type"] == "application/problem+json"
        assert all(refusal.headers[header].isdigit() for header in RATE_HEADERS)
        problem = json.loads(refusal.body)
        assert (problem["status"], problem["name"]) == (400, "body")
        assert problem["title"] == "POST /upload takes a JSON description of the file, not the file."
        assert '{"fileName", "fileSize", "contentType"}' in problem["detail"]
    assert json.loads(raw.data)["uploads"] == []


def test_the_client_drops_our_extra_members_and_its_raw_answer_has_them(
    stack: Stack, user: User, other_user: User
) -> None:
    with official_client(stack, user) as client:
        tokens = UploadTokensApi(client)
        token = tokens.create_token(TokenCreationPayload(ttl=600)).token
        shown = tokens.get_token(token)
        raw = json.loads(tokens.get_token(token, _preload_content=False).data)
        listed = tokens.list().data
    with official_client(stack, other_user) as client, pytest.raises(NotFoundException):
        UploadTokensApi(client).get_token(token)  # another user's token: as if there were none

    assert sorted(shown.to_dict()) == ["created_at", "expires_at", "token", "ttl"]
    assert [t.token for t in listed] == [token]
    assert sorted(listed[0].to_dict()) == ["created_at", "expires_at", "token", "ttl"]
    assert (raw["token"], raw["userId"], raw["status"], raw["uploads"]) == (token, user.sub, "PENDING", [])


def test_ttl_defaults_and_never_expiring_tokens_differ_from_api_video(
    stack: Stack, user: User, admin: User
) -> None:
    with official_client(stack, user) as client:
        tokens = UploadTokensApi(client)
        default = tokens.create_token(TokenCreationPayload())
        with pytest.raises(ApiException) as refused:
            tokens.create_token(TokenCreationPayload(ttl=0))
        with pytest.raises(ApiException) as too_long:
            tokens.create_token(TokenCreationPayload(ttl=86401))
    with official_client(stack, admin) as client:
        forever = UploadTokensApi(client).create_token(TokenCreationPayload(ttl=0))
        UploadTokensApi(client).delete_token(forever.token)

    assert default.ttl == 3600  # api.video: no ttl, no expiry
    assert (default.expires_at - default.created_at).total_seconds() == 3600
    for refusal in (refused.value, too_long.value):
        assert refusal.status == 400
        assert json.loads(refusal.body)["name"] == "ttl"
    assert forever.ttl == 0
    assert forever.get("expires_at") is None
