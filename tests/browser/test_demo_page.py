"""The demo page (`<apiUrl>/demo/`) as a person uses it, in Debian's chromium driven by Playwright:
sign in, mint a token, upload through Uppy's Dashboard, see the service's decisions on the page.

Needs /usr/bin/chromium (`make test` installs it where apt-get can) and demo/node_modules (`npm ci`
in demo/, `make test` and `make dev` run it). Under CI=true a browser that cannot start fails the
test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack.demo import DEMO_DIR, VENDOR
from tests.conftest import ROOT, Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: As root in a closed network: no sandbox, and none of the background connections Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The field names of every multipart/form-data body the page sends (Uppy sends with XMLHttpRequest).
RECORD_FORMS = """
window.sentForms = [];
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (body instanceof FormData) window.sentForms.push([...body.keys()]);
  return send.call(this, body);
};
"""
CONTENT = ROOT / "tests" / "fixtures" / "content"
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS_SCREENSHOT = ROOT / "docs" / "images" / "demo-page.png"


def unavailable(reason: str) -> None:
    """Fails under CI (the browser test must run there), skips elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (DEMO_DIR / VENDOR["uppy.min.mjs"]).is_file():
        unavailable("Uppy is not installed: run `npm ci` in demo/ (make test does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed ({exc}): pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # a missing or broken browser: say which, in one line
            unavailable(f"chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/demo/", 200, "text/html; charset=utf-8"),
        ("/demo/app.js", 200, "text/javascript; charset=utf-8"),
        ("/demo/style.css", 200, "text/css; charset=utf-8"),
        ("/demo/config.json", 200, "application/json"),
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
    assert rule["ExposeHeaders"] == ["ETag"]


def watch_for_errors(page: Any, errors: list[str]) -> None:
    """Script errors, console errors and every HTTP error the page met, into `errors`."""

    def on_response(response: Any) -> None:
        if response.status >= 400:
            errors.append(f"{response.request.method} {response.url.split('?')[0]}: {response.status}")

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("response", on_response)


def test_a_person_signs_in_uploads_and_sees_the_decisions(stack: Stack, browser: Any) -> None:
    # given the page, as alice
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    errors: list[str] = []
    watch_for_errors(page, errors)
    page.add_init_script(RECORD_FORMS)
    page.goto(f"{stack.api}/demo/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#signed-in:has-text('Signed in as alice')")
    page.get_by_role("button", name="Mint a token").click()
    page.wait_for_selector("#token:has-text('Token ')")

    # when: a real MP4, and a PNG that says it is one, dropped on the Dashboard and uploaded
    started = time.monotonic()
    page.locator("#dashboard input[type=file]").first.set_input_files(
        [
            {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": (CONTENT / "clip.mp4").read_bytes()},
            {
                "name": "disguised.mp4",
                "mimeType": "video/mp4",
                "buffer": (CONTENT / "still.png").read_bytes(),
            },
        ]
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()

    # then: the page shows what the service decided, then the forwarding to the api.video double
    accepted = page.locator("#decisions tr[data-file-name='clip.mp4'][data-status='ACCEPTED']")
    accepted.locator("td.forwarding[data-status='FORWARDED']").wait_for(timeout=30_000)
    rejected = page.locator("#decisions tr[data-file-name='disguised.mp4'][data-status='REJECTED']")
    rejected.wait_for(timeout=30_000)
    decided = time.monotonic() - started
    assert accepted.locator("td").nth(3).inner_text() == "video/mp4"
    assert accepted.locator("td.forwarding").inner_text().startswith("FORWARDED vi")
    assert rejected.locator("td").nth(3).inner_text() == "image/png"
    assert rejected.locator("td.reason").inner_text().strip()
    page.wait_for_selector("#status:has-text('Sent 2, failed 0')")
    # each file went as its presigned POST says, with nothing else: S3 refuses fields the policy lacks
    sent_to_s3 = page.evaluate("window.sentForms")
    assert len(sent_to_s3) == 2
    for names in sent_to_s3:
        assert names[-1] == "file", names
        assert {"key", "Content-Type", "policy"} <= set(names[:-1]), names
        assert not {"name", "type", "relativePath", "uploadId"} & set(names), names  # Uppy's own meta
    assert not errors, errors

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "demo.png"
    page.screenshot(path=str(screenshot), full_page=True)
    if os.environ.get("DEMO_SCREENSHOT_TO_DOCS"):  # refreshes the docs' picture on demand only
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)
    page.close()
    assert decided < 30
