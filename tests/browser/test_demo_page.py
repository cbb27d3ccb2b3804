"""The demo page (`<apiUrl>/demo/`) as a person uses it, in Debian's chromium driven by Playwright:
sign in, mint a token, upload through Uppy's Dashboard, see the service's decisions on the page.

Needs /usr/bin/chromium (`make test` installs it where apt-get can) and demo/node_modules (`npm ci`
in demo/, `make test` and `make dev` run it). Under CI=true a browser that cannot start fails the
test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from local_stack.demo import DEMO_DIR, UPPY_MAJORS, VENDOR
from tests.conftest import ROOT, Stack, running_stack, sign_in
from tests.waiting import PATIENCE, eventually

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
MIB = 1024**2
#: How long the page may take to show what the service did (tests/waiting.py): a ceiling, not a goal.
PATIENCE_MS = PATIENCE * 1000
#: Room for 64 MiB files (the session stack's MaxUploadBytes is 1 MiB, one part at most), and for
#: one request a part plus the page's polling within the rate limits. No forwarding: the other test
#: shows it, and 64 MiB files still on their way to the double would only slow the stack's stop.
LARGE_PARAMETERS = (
    f"VideoPlatform=none MaxUploadBytes={80 * MIB} UploadsPerToken=3 UploadRateLimitPerMinute=100 "
    "RateLimitPerMinute=1000 "
    "MaxActiveTokensPerUser=20 UploadTargetTtlSeconds=600 CleanupGraceSeconds=0 CleanupSchedule='rate(1 day)'"
)
#: Pauses `name`'s upload (as its pause button does) once `after` of its parts are in S3: in the page,
#: at the part's event, so the test never races the upload.
PAUSE_AFTER_PARTS = """([name, after]) => {
  window.partsUploaded = {};
  window.uppy.on("s3-multipart:part-uploaded", (file, part) => {
    const done = (window.partsUploaded[file.name] ||= []);
    done.push(part.PartNumber);
    if (file.name === name && done.length === after) window.uppy.pauseResume(file.id);
  });
}"""


def unavailable(reason: str) -> None:
    """Fails under CI (the browser test must run there), skips elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not all((DEMO_DIR / file).is_file() for file in VENDOR.values()):
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


def open_page(browser: Any) -> Any:
    """A new page whose every wait may take PATIENCE (Playwright's own default is 30 s)."""
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.set_default_timeout(PATIENCE_MS)
    return page


def watch_for_errors(page: Any, errors: list[str]) -> None:
    """Script errors, console errors and every HTTP error the page met, into `errors`."""

    def on_response(response: Any) -> None:
        if response.status >= 400:
            errors.append(f"{response.request.method} {response.url.split('?')[0]}: {response.status}")

    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("response", on_response)


def sign_in_and_mint(page: Any, stack: Stack, uppy: str) -> None:
    """Open the page with Uppy's major `uppy`, sign in as alice (the first demo user), mint a token."""
    page.goto(f"{stack.api}/demo/" if uppy == "5" else f"{stack.api}/demo/?uppy={uppy}")
    assert page.locator("#uppy-majors a[aria-current=page]").get_attribute("data-major") == uppy
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#signed-in:has-text('Signed in as alice')")
    page.get_by_role("button", name="Mint a token").click()
    page.wait_for_selector("#token:has-text('Token ')")


def token_in_page(page: Any) -> str:
    """The token the page's uploader holds (the end of its Companion endpoint)."""
    endpoint = page.evaluate(
        "(({ opts }) => opts.endpoint || opts.companionEndpoint)"
        "(window.uppy.getPlugin('AwsS3') || window.uppy.getPlugin('AwsS3Multipart'))"
    )
    return unquote(endpoint.rsplit("/", 1)[-1])


@pytest.mark.parametrize("uppy", UPPY_MAJORS)
def test_a_person_signs_in_uploads_and_sees_the_decisions(stack: Stack, browser: Any, uppy: str) -> None:
    # given the page, as alice
    page = open_page(browser)
    errors: list[str] = []
    watch_for_errors(page, errors)
    page.add_init_script(RECORD_FORMS)
    sign_in_and_mint(page, stack, uppy)

    # when: a real MP4, a PNG that says it is one, and an MP4 over the stack's 1 MiB MaxUploadBytes,
    # dropped on the Dashboard and uploaded
    started = time.monotonic()
    page.locator("#dashboard input[type=file]").first.set_input_files(
        [
            {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": (CONTENT / "clip.mp4").read_bytes()},
            {
                "name": "disguised.mp4",
                "mimeType": "video/mp4",
                "buffer": (CONTENT / "still.png").read_bytes(),
            },
            {
                "name": "too-big.mp4",
                "mimeType": "video/mp4",
                "buffer": (CONTENT / "clip.mp4").read_bytes() + bytes(2 * MIB),
            },
        ]
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()

    # then: the page shows what the service decided, then the forwarding to the api.video double
    accepted = page.locator("#decisions tr[data-file-name='clip.mp4'][data-status='ACCEPTED']")
    accepted.locator("td.forwarding[data-status='FORWARDED']").wait_for(timeout=PATIENCE_MS)
    rejected = page.locator("#decisions tr[data-file-name='disguised.mp4'][data-status='REJECTED']")
    rejected.wait_for(timeout=PATIENCE_MS)
    decided = time.monotonic() - started
    assert accepted.locator("td").nth(3).inner_text() == "video/mp4"
    assert accepted.locator("td.forwarding").inner_text().startswith("FORWARDED vi")
    assert rejected.locator("td").nth(3).inner_text() == "image/png"
    assert rejected.locator("td.reason").inner_text().strip()
    # the one too big refused before its first byte, for the size the page declared, with the reason
    page.wait_for_selector("#status:has-text('Sent 2, failed 1')")
    said = page.locator("#status").inner_text()
    if uppy == "5":  # Uppy 5 shows the problem's `message`; Uppy 6 only the status text
        assert "too-big.mp4: The file size must be from 1 to 1048576 bytes." in said, said
    else:
        assert "too-big.mp4: Companion request failed: Bad Request" in said, said
    answers = [error for error in errors if error.split(" ")[0] in ("GET", "POST", "PUT", "DELETE")]
    assert answers == [f"GET {stack.api}/uploads/{token_in_page(page)}/s3/params: 400"], errors
    errors.clear()
    # each file went as its presigned POST says, with nothing else: S3 refuses fields the policy lacks
    sent_to_s3 = page.evaluate("window.sentForms")
    assert len(sent_to_s3) == 2
    for names in sent_to_s3:
        assert names[-1] == "file", names
        assert {"key", "Content-Type", "policy"} <= set(names[:-1]), names
        assert not {"name", "type", "relativePath", "uploadId"} & set(names), names  # Uppy's own meta
    assert not errors, errors

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"demo-uppy-{uppy}.png"), full_page=True)
    page.close()
    print(f"Uppy {uppy}: decided {decided:.1f} s after the click")


@pytest.fixture(scope="module")
def large_stack(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own for 64 MiB files (after the browser: no stack is started to be skipped)."""
    with running_stack(tmp_path_factory.mktemp("demo-multipart"), LARGE_PARAMETERS) as started:
        yield started


def large_video(path: Path, size: int, seed: int) -> Path:
    """A real mp4's bytes (the content check sniffs them), then seeded random padding to `size`."""
    clip = (CONTENT / "clip.mp4").read_bytes()
    path.write_bytes(clip + random.Random(seed).randbytes(size - len(clip)))
    return path


class PartPuts:
    """The part PUTs the page sends to S3: which, and how many at once."""

    def __init__(self, page: Any) -> None:
        self.sent: list[tuple[str, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        page.on("request", self._sent)
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._done)

    @staticmethod
    def part(request: Any) -> tuple[str, int] | None:
        if request.method != "PUT":
            return None
        url = urlsplit(request.url)
        numbers = parse_qs(url.query).get("partNumber")
        return (unquote(url.path).rsplit("/", 1)[-1], int(numbers[0])) if numbers else None

    def _sent(self, request: Any) -> None:
        if (part := self.part(request)) is not None:
            self.sent.append(part)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _done(self, request: Any) -> None:
        if self.part(request) is not None:
            self.in_flight -= 1

    def of(self, name: str) -> list[int]:
        return [number for file, number in self.sent if file == name]


def media_sha256(stack: Stack, upload_id: str) -> str:
    """sha256 of the accepted object in media/ (copied there just after the decision: waited for)."""
    s3 = stack.client("s3")

    def keys() -> list[str]:
        listing = s3.list_objects_v2(Bucket=stack.info["bucketName"], Prefix="media/")
        return [item["Key"] for item in listing.get("Contents", []) if f"/{upload_id}/" in item["Key"]]

    (key,) = eventually(keys, what=f"a media/ object for {upload_id}")
    body = s3.get_object(Bucket=stack.info["bucketName"], Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("uppy", UPPY_MAJORS)
def test_large_files_go_multipart_pause_resume_and_a_revoked_token_is_refused(
    browser: Any, large_stack: Stack, tmp_path: Path, uppy: str
) -> None:
    # given the page, as alice, and two 64 MiB videos (above the page's 10 MiB multipart threshold)
    stack = large_stack
    big = large_video(tmp_path / "big.mp4", 64 * MIB, seed=1)
    revoked = large_video(tmp_path / f"revoked-{uppy}.mp4", 64 * MIB, seed=2)  # one name a stack
    page = open_page(browser)
    errors: list[str] = []
    watch_for_errors(page, errors)
    parts = PartPuts(page)
    sign_in_and_mint(page, stack, uppy)
    page.evaluate(PAUSE_AFTER_PARTS, ["big.mp4", 2])
    dashboard_input = page.locator("#dashboard input[type=file]").first

    # when the first is uploaded, and paused by the page after two of its parts are in S3
    started = time.monotonic()
    dashboard_input.set_input_files(str(big))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    page.wait_for_function("window.uppy.getFiles()[0].isPaused === true", timeout=PATIENCE_MS)
    in_s3_when_paused = set(page.evaluate("window.partsUploaded['big.mp4']"))
    sent_before_pause = len(parts.sent)

    # then it stays paused: nothing sent, nothing in flight, and the Dashboard offers to resume
    page.wait_for_timeout(1000)
    uploaded = page.evaluate("window.uppy.getFiles()[0].progress.bytesUploaded")
    assert 0 < uploaded < 64 * MIB
    assert len(parts.sent) == sent_before_pause and parts.in_flight == 0
    # and the service shows it PENDING with the size the page declared (Uppy's meta)
    pending = page.locator("#decisions tr[data-file-name='big.mp4'][data-status='PENDING']")
    pending.locator(f"td:nth-child(2):has-text('{64 * MIB} B')").wait_for(timeout=PATIENCE_MS)
    resume = page.get_by_role("button", name="Resume upload")
    resume.click()

    # and, resumed, it completes: ACCEPTED, the bytes in media/ are the file's
    accepted = page.locator("#decisions tr[data-file-name='big.mp4'][data-status='ACCEPTED']")
    accepted.wait_for(timeout=PATIENCE_MS)
    sent = parts.of("big.mp4")
    assert set(sent) == set(range(1, 14))  # 13 parts of 5 MiB
    assert not in_s3_when_paused & set(sent[sent_before_pause:]), "a part S3 held was sent again"
    if uppy == "5":  # several parts of the one file in flight at once; those cut by the pause resent
        assert parts.most_in_flight >= 2
    else:  # Uppy 6: one part after the other, none sent twice
        assert parts.most_in_flight == 1 and sent == list(range(1, 14))
    upload_id = accepted.get_attribute("data-upload-id")
    assert upload_id
    expected = hashlib.sha256(big.read_bytes()).hexdigest()
    assert media_sha256(stack, upload_id) == expected
    assert accepted.locator("td").nth(3).inner_text() == "video/mp4"
    page.wait_for_selector("#status:has-text('Sent 1, failed 0')")
    assert not errors, errors
    first_done = time.monotonic() - started

    # when the second is on its way and its token is revoked (alice's JWT) while part 3 is sent
    token = token_in_page(page)
    users = requests.get(f"{stack.api}/demo/config.json", timeout=10).json()["users"]
    alice = next(user for user in users if user["username"] == "alice")
    id_token = sign_in(stack, alice["username"], alice["password"])["IdToken"]

    revocations: list[int] = []

    def revoke_then_send(route: Any) -> None:  # Uppy retries a part that failed: revoked once
        if not revocations:
            revocations.append(
                requests.delete(
                    f"{stack.api}/upload-tokens/{token}",
                    headers={"Authorization": f"Bearer {id_token}"},
                    timeout=10,
                ).status_code
            )
        route.continue_()

    page.route(
        lambda url: f"/{revoked.name}?" in url and parse_qs(urlsplit(url).query).get("partNumber") == ["3"],
        revoke_then_send,
    )
    page.locator(".uppy-DashboardContent-addMore").click()
    dashboard_input.set_input_files(str(revoked))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()

    # then the page shows the refusal: Uppy's error for the file, the token gone
    page.wait_for_selector("#status:has-text('failed 1')", timeout=PATIENCE_MS)
    assert revocations == [204]
    assert f"{revoked.name}:" in page.locator("#status").inner_text()
    page.wait_for_selector("#token.error:has-text('Revoked')", timeout=PATIENCE_MS)
    assert "before the token was revoked" in page.locator("#decisions caption").inner_text()
    sent = parts.of(revoked.name)
    assert 3 in sent and set(sent) < set(range(1, 14))
    if uppy == "6":  # one after the other: part 3 was the last
        assert sent[:3] == [1, 2, 3] and set(sent) == {1, 2, 3}
    # the API hides a revoked token and its uploads: the table holds the record
    (record,) = [
        item
        for item in stack.client("dynamodb").scan(TableName=stack.info["tableName"])["Items"]
        if item.get("fileName", {}).get("S") == revoked.name
    ]
    assert (record["status"]["S"], record["reason"]["S"]) == ("REJECTED", "token revoked")
    # what the page met after it is the refusal (404s, and S3's NoSuchUpload: without CORS headers
    # from moto, a network error to the page), never a 5xx
    assert not [error for error in errors if ": 5" in error or "status of 5" in error], errors
    finished = time.monotonic() - started

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"demo-multipart-uppy-{uppy}.png"
    page.screenshot(path=str(screenshot), full_page=True)
    if uppy == "5" and os.environ.get(
        "DEMO_SCREENSHOT_TO_DOCS"
    ):  # refreshes the docs' picture on demand only
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)
    page.close()
    print(
        f"Uppy {uppy}: parts in flight at most {parts.most_in_flight}; the first file took {first_done:.1f} s"
        f" (a pause of 1 s included), both {finished:.1f} s"
    )
