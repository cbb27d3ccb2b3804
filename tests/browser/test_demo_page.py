"""The demo page (`<apiUrl>/demo/`) as a person uses it, in Debian's chromium driven by Playwright
(tests/browser/conftest.py): its own files served and nothing else; sign in, mint a token, upload
small files through Uppy's Dashboard (5 and 6), see the service's decisions on the page and on each
file's tile; files the token's rules refuse are refused before their first byte, and a refusal by
the service shows in its own words."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import pytest
import requests

from local_stack.demo import DEMO_DIR, UPPY_MAJORS
from tests.browser.conftest import (
    CONTENT,
    MIB,
    open_page,
    screenshot,
    sign_in_and_mint,
    token_in_page,
    tracebacks,
    uncaught,
    watch_for_errors,
)
from tests.conftest import Stack, User
from tests.waiting import PATIENCE

#: The field names of every multipart/form-data body the page sends (Uppy sends with XMLHttpRequest).
RECORD_FORMS = """
window.sentForms = [];
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (body instanceof FormData) window.sentForms.push([...body.keys()]);
  return send.call(this, body);
};
"""


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/demo/", 200, "text/html; charset=utf-8"),
        ("/demo/app.js", 200, "text/javascript; charset=utf-8"),
        ("/demo/style.css", 200, "text/css; charset=utf-8"),
        ("/demo/config.json", 200, "application/json"),
        ("/demo/vendor/uppy-5/uppy.min.mjs", 200, "text/javascript; charset=utf-8"),
        ("/demo/vendor/uppy-6/uppy.min.css", 200, "text/css; charset=utf-8"),
        ("/demo/vendor/uppy-7/uppy.min.mjs", 404, "application/json"),
        ("/demo/vendor/uppy-5/package.json", 404, "application/json"),
        ("/demo/node_modules/uppy-5/package.json", 404, "application/json"),
        ("/demo/package.json", 404, "application/json"),
        ("/demo/node_modules/uppy/package.json", 404, "application/json"),
        ("/demo/../template.yaml", 404, "application/json"),
        ("/demo/vendor/../../template.yaml", 404, "application/json"),
        ("/demo/%2e%2e/%2e%2e/template.yaml", 404, "application/json"),
        ("/demo/vendor/..%2f..%2fpackage.json", 404, "application/json"),
        ("/demo//etc/passwd", 404, "application/json"),
    ],
)
def test_the_page_serves_its_own_files_only(stack: Stack, path: str, status: int, content_type: str) -> None:
    # given a path sent as is (requests would resolve the dots)
    session = requests.Session()
    request = requests.Request("GET", stack.api + "/demo/").prepare()
    request.url = stack.api + path
    # when
    response = session.send(request, timeout=10)
    # then
    assert response.status_code == status, response.text[:200]
    assert response.headers["Content-Type"] == content_type
    if status == 200:
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_answers_get_and_head_only_and_says_where_it_is(stack: Stack) -> None:
    assert requests.post(f"{stack.api}/demo/app.js", timeout=10).status_code == 405
    assert requests.delete(f"{stack.api}/demo/", timeout=10).status_code == 405
    head = requests.head(f"{stack.api}/demo/app.js", timeout=10)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len((DEMO_DIR / "app.js").read_bytes())
    moved = requests.get(f"{stack.api}/demo", allow_redirects=False, timeout=10)
    assert (moved.status_code, moved.headers["Location"]) == (308, "/demo/")
    config = requests.get(f"{stack.api}/demo/config.json", timeout=10).json()
    assert config["awsEndpoint"] == stack.info["awsEndpoint"]
    assert config["userPoolClientId"] == stack.info["userPoolClientId"]
    # the bucket lets the page's origin send files to it (POST now, PUT for multipart parts)
    (rule,) = stack.client("s3").get_bucket_cors(Bucket=stack.info["bucketName"])["CORSRules"]
    assert stack.api in rule["AllowedOrigins"]
    assert set(rule["AllowedMethods"]) == {"POST", "PUT"}
    assert rule["ExposeHeaders"] == ["ETag", "Location"]


def drop(page: Any, *files: tuple[str, str, bytes]) -> None:
    """Files dropped on the Dashboard: (name, type, bytes) each."""
    page.locator("#dashboard input[type=file]").first.set_input_files(
        [{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]
    )


def upload(page: Any) -> None:
    page.locator(".uppy-StatusBar-actionBtn--upload").click()


def tile(page: Any, name: str) -> Any:
    """The Dashboard's tile of the file `name`."""
    return page.locator(".uppy-Dashboard-Item").filter(has_text=name)


@pytest.mark.parametrize("uppy", UPPY_MAJORS)
def test_a_person_signs_in_uploads_and_sees_the_decisions(
    stack: Stack, browser: Any, user: User, uppy: str
) -> None:
    # given the page, as a user of the test's own
    page = open_page(browser)
    errors: list[str] = []
    watch_for_errors(page, errors)
    page.add_init_script(RECORD_FORMS)
    tracebacks_before = tracebacks(stack)
    sign_in_and_mint(page, stack, uppy, user)

    # when: a real MP4 and a PNG that says it is one, dropped on the Dashboard and uploaded
    drop(
        page,
        ("clip.mp4", "video/mp4", (CONTENT / "clip.mp4").read_bytes()),
        ("disguised.mp4", "video/mp4", (CONTENT / "still.png").read_bytes()),
    )
    upload(page)

    # then: the page shows what the service decided, then the forwarding to the api.video double
    accepted = page.locator("#decisions tr[data-file-name='clip.mp4'][data-status='ACCEPTED']")
    accepted.locator("td.forwarding[data-status='FORWARDED']").wait_for()
    rejected = page.locator("#decisions tr[data-file-name='disguised.mp4'][data-status='REJECTED']")
    rejected.wait_for()
    assert accepted.locator("td").nth(3).inner_text() == "video/mp4"
    assert accepted.locator("td.media").inner_text() == "mp4 0.5s 64×64 h264"  # what the landing read
    assert rejected.locator("td.media").inner_text() == ""
    assert accepted.locator("td.forwarding").inner_text().startswith("FORWARDED vi")
    assert rejected.locator("td").nth(3).inner_text() == "image/png"
    reason = rejected.locator("td.reason").inner_text().strip()
    assert reason
    # and the rejected file's tile says so too, instead of the tick S3's answer earned it
    page.wait_for_selector(".uppy-Dashboard-Item.is-error:has-text('disguised.mp4')")
    assert (
        tile(page, "disguised.mp4").locator(".uppy-Dashboard-Item-errorDetails").get_attribute("aria-label")
        == f"REJECTED: {reason}"
    )
    assert "is-complete" in (tile(page, "clip.mp4").get_attribute("class") or "")
    assert page.get_by_role("button", name="Retry").count() == 0  # nothing offers what cannot work
    # the page computed each file's SHA-256 (Web Crypto), showed it, and the service recorded it
    clip_sha256 = base64.b64encode(hashlib.sha256((CONTENT / "clip.mp4").read_bytes()).digest()).decode()
    assert accepted.locator("td.checksum").inner_text() == clip_sha256
    shown = page.locator("#checksums li[data-file-name='clip.mp4'][data-what='whole file']")
    assert shown.get_attribute("data-checksum") == clip_sha256
    # each file went as its presigned POST says, with nothing else: S3 refuses fields the policy lacks
    sent_to_s3 = page.evaluate("window.sentForms")
    assert len(sent_to_s3) == 2
    for names in sent_to_s3:
        assert names[-1] == "file", names
        assert {"key", "Content-Type", "policy"} <= set(names[:-1]), names
        assert {"x-amz-checksum-algorithm", "x-amz-checksum-sha256"} <= set(names[:-1]), names
        assert not {"name", "type", "relativePath", "uploadId"} & set(names), names  # Uppy's own meta
    assert not errors, errors
    assert tracebacks(stack)[len(tracebacks_before) :] == []  # the log only grows
    screenshot(page, f"demo-uppy-{uppy}")
    page.context.close()


@pytest.mark.parametrize("uppy", UPPY_MAJORS)
def test_files_the_token_cannot_take_are_refused_before_their_first_byte(
    stack: Stack, browser: Any, user: User, uppy: str
) -> None:
    """The token's rules (GET /uploads/{token}) are Uppy's restrictions: a type the deployment does
    not allow, and a file over MaxUploadBytes (1 MiB on the test stack), never leave the page."""
    page = open_page(browser)
    errors: list[str] = []
    watch_for_errors(page, errors)
    sign_in_and_mint(page, stack, uppy, user)
    requests_to_the_service: list[str] = []
    page.on(
        "request",
        lambda request: requests_to_the_service.append(request.url) if "/uploads/" in request.url else None,
    )

    drop(page, ("notes.txt", "text/plain", b"some notes"))
    page.wait_for_selector("#status.error:has-text('notes.txt')")
    said_of_type = page.locator("#status").inner_text()
    drop(page, ("too-big.mp4", "video/mp4", (CONTENT / "clip.mp4").read_bytes() + bytes(2 * MIB)))
    page.wait_for_selector("#status.error:has-text('too-big.mp4')")
    said_of_size = page.locator("#status").inner_text()

    assert "video/mp4" in said_of_type, said_of_type  # Uppy names what is allowed
    assert "1 MB" in said_of_size or "1048576" in said_of_size, said_of_size
    assert page.evaluate("window.uppy.getFiles().length") == 0
    assert requests_to_the_service == [] and not errors, (requests_to_the_service, errors)
    note = page.locator(".uppy-Dashboard-note").inner_text()
    assert "video/mp4" in note and "1 MiB" in note and "3 files" in note, note
    screenshot(page, f"demo-restrictions-uppy-{uppy}")
    page.context.close()


@pytest.mark.parametrize("uppy", UPPY_MAJORS)
def test_a_refusal_by_the_service_shows_in_its_own_words(
    stack: Stack, browser: Any, user: User, uppy: str
) -> None:
    """A rule the uploader cannot check (a file name the service refuses): the service's problem
    document is what the page and the file's tile say, with Uppy 6 as with Uppy 5 (which reports a
    Companion refusal by its HTTP status text alone)."""
    page = open_page(browser)
    errors: list[str] = []
    watch_for_errors(page, errors)
    sign_in_and_mint(page, stack, uppy, user)
    token = token_in_page(page)
    refused = requests.get(
        f"{stack.api}/uploads/{token}/s3/params",
        params={"filename": "clip#1.mp4", "type": "video/mp4"},
        timeout=30,
    ).json()

    drop(page, ("clip#1.mp4", "video/mp4", (CONTENT / "clip.mp4").read_bytes()))
    upload(page)

    page.wait_for_selector("#status.error:has-text('clip#1.mp4')")
    said = page.locator("#status").inner_text()
    assert f"clip#1.mp4: {refused['title']}" in said, said
    assert (
        tile(page, "clip#1.mp4").locator(".uppy-Dashboard-Item-errorDetails").get_attribute("aria-label")
        == refused["title"]
    )
    assert "Companion request failed" not in said
    assert not uncaught(errors), errors
    screenshot(page, f"demo-refusal-uppy-{uppy}")
    page.context.close()


def test_a_name_typed_before_the_page_is_ready_stays(browser: Any, stack: Stack, user: User) -> None:
    """The page fills in its first demo user once config.json arrives: a name typed before must not
    be overwritten (a person on a slow line, or a test that types at once, signed in as another)."""
    page = open_page(browser)
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/demo/config.json", hold)
    try:
        page.goto(f"{stack.api}/demo/")
        page.locator("#username").fill(user.username)
        deadline = time.monotonic() + PATIENCE
        while not held and time.monotonic() < deadline:  # Playwright hands the request over in a wait
            page.wait_for_timeout(50)
        held[0].continue_()
        page.wait_for_selector("body[data-ready=true]")

        assert page.locator("#username").input_value() == user.username
    finally:
        page.context.close()
