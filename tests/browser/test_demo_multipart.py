"""The demo page with large files (tests/browser/conftest.py): a 64 MiB file goes as an S3 multipart
upload (several parts in flight with Uppy 5, one after the other with Uppy 6), is paused and resumed
without sending a part S3 holds again, and ends ACCEPTED with the same bytes; another is on its way
when its token is revoked elsewhere: the page stops it at once and says why, nothing offers a retry
that cannot work, and the stack prints no traceback for the refusals that follow."""

from __future__ import annotations

import base64
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

from local_stack.demo import UPPY_MAJORS
from tests.browser.conftest import (
    MIB,
    open_page,
    screenshot,
    sign_in_and_mint,
    token_in_page,
    tracebacks,
    uncaught,
    watch_for_errors,
)
from tests.conftest import ROOT, Stack, new_user, running_stack
from tests.media_files import mp4
from tests.waiting import eventually

DOCS_SCREENSHOT = ROOT / "docs" / "images" / "demo-page.png"
#: Room for 64 MiB files (the session stack's MaxUploadBytes is 1 MiB, one part at most), and for
#: one request a part plus the page's polling within the rate limits. No forwarding: the small-file
#: test shows it, and 64 MiB files still on their way to the double would only slow the stack's stop.
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


@pytest.fixture(scope="module")
def large_stack(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own for 64 MiB files (after the browser: no stack is started to be skipped)."""
    with running_stack(tmp_path_factory.mktemp("demo-multipart"), LARGE_PARAMETERS) as started:
        yield started


def large_video(path: Path, size: int, seed: int) -> Path:
    """A well-formed MP4 (the landing walks its structure) of seeded random samples, `size` in all."""
    path.write_bytes(mp4(random.Random(seed).randbytes(size - len(mp4(b"")))))
    return path


class PartPuts:
    """The part PUTs the page sends to S3: which, and how many at once."""

    def __init__(self, page: Any) -> None:
        self.sent: list[tuple[str, int]] = []
        self.with_checksum = 0
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
            self.with_checksum += "x-amz-checksum-sha256" in request.headers
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
    # given the page, as a user of its own, and two 64 MiB videos (above the page's 10 MiB multipart
    # threshold)
    stack = large_stack
    user = new_user(stack)
    big = large_video(tmp_path / "big.mp4", 64 * MIB, seed=1)
    revoked = large_video(tmp_path / f"revoked-{uppy}.mp4", 64 * MIB, seed=2)  # one name a stack
    page = open_page(browser)
    errors: list[str] = []
    watch_for_errors(page, errors)
    parts = PartPuts(page)
    tracebacks_before = tracebacks(stack)
    sign_in_and_mint(page, stack, uppy, user)
    page.evaluate(PAUSE_AFTER_PARTS, ["big.mp4", 2])
    dashboard_input = page.locator("#dashboard input[type=file]").first

    # when the first is uploaded, and paused by the page after two of its parts are in S3
    started = time.monotonic()
    dashboard_input.set_input_files(str(big))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    page.wait_for_function("window.uppy.getFiles()[0].isPaused === true")
    in_s3_when_paused = set(page.evaluate("window.partsUploaded['big.mp4']"))
    sent_before_pause = len(parts.sent)

    # then it stays paused: nothing sent, nothing in flight, and the Dashboard offers to resume
    page.wait_for_timeout(1000)
    uploaded = page.evaluate("window.uppy.getFiles()[0].progress.bytesUploaded")
    assert 0 < uploaded < 64 * MIB
    assert len(parts.sent) == sent_before_pause and parts.in_flight == 0
    # and the service shows it PENDING with the size the page declared (Uppy's meta)
    pending = page.locator("#decisions tr[data-file-name='big.mp4'][data-status='PENDING']")
    pending.locator(f"td:nth-child(2):has-text('{64 * MIB} B')").wait_for()
    resume = page.get_by_role("button", name="Resume upload")
    resume.click()

    # and, resumed, it completes: ACCEPTED, the bytes in media/ are the file's
    accepted = page.locator("#decisions tr[data-file-name='big.mp4'][data-status='ACCEPTED']")
    accepted.wait_for()
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
    if uppy == "5":  # each part signed with the SHA-256 the page computed, and S3 took each part with it
        content = big.read_bytes()
        for number in range(1, 14):
            part = content[(number - 1) * 5 * MIB : number * 5 * MIB]
            checksum = base64.b64encode(hashlib.sha256(part).digest()).decode()
            shown = page.locator(f"#checksums li[data-file-name='big.mp4'][data-what='part {number}']").first
            assert shown.get_attribute("data-checksum") == checksum
        assert parts.with_checksum == len(parts.sent)
    page.wait_for_selector("#status:has-text('Sent 1, failed 0')")
    assert not errors, errors
    first_done = time.monotonic() - started

    # when the second is on its way and its token is revoked elsewhere (its owner's JWT, from another
    # device) while part 3 is sent
    token = token_in_page(page)

    revocations: list[int] = []

    def revoke_then_send(route: Any) -> None:  # Uppy retries a part that failed: revoked once
        if not revocations:
            revocations.append(
                requests.delete(
                    f"{stack.api}/upload-tokens/{token}",
                    headers=user.headers(),
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

    # then the page stops it at once and says why: the file is taken off the uploader (its requests
    # aborted), the token marked revoked, no retry offered; the first file keeps its tile
    page.wait_for_selector("#status.error:has-text('The upload token was revoked.')")
    assert revocations == [204]
    assert f"Stopped: {revoked.name}." in page.locator("#status").inner_text()
    assert page.evaluate("window.uppy.getFiles().map((file) => file.name)") == ["big.mp4"]
    assert "revoked" in page.locator("#token-status").inner_text()
    assert page.get_by_role("button", name="Revoke").is_disabled()
    assert "before the token was revoked" in page.locator("#decisions caption").inner_text()
    assert page.get_by_role("button", name="Retry").count() == 0
    eventually(lambda: parts.in_flight, lambda count: count == 0, what="no part in flight")
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
    # what the page met after it are refusals (404s), never a 5xx nor an uncaught error; and the
    # stack's terminal shows no traceback for them
    assert not [error for error in errors if ": 5" in error or "status of 5" in error], errors
    assert not uncaught(errors), errors
    assert tracebacks(stack)[len(tracebacks_before) :] == []  # the log only grows
    finished = time.monotonic() - started

    saved = screenshot(page, f"demo-multipart-uppy-{uppy}")
    if uppy == "5" and os.environ.get("DEMO_SCREENSHOT_TO_DOCS"):  # refreshes the docs' picture on demand
        shutil.copyfile(saved, DOCS_SCREENSHOT)
    page.context.close()
    print(
        f"Uppy {uppy}: parts in flight at most {parts.most_in_flight}; the first file took {first_done:.1f} s"
        f" (a pause of 1 s included), both {finished:.1f} s"
    )
