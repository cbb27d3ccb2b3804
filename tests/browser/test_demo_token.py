"""The demo page's token (tests/browser/conftest.py): copied whole, revoked from the page, and when it
expires the page says so, stops what was on its way and takes no more files, while the table says
what becomes of an upload its token outlived."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from local_stack.demo import UPPY_MAJORS
from tests.browser.conftest import (
    CONTENT,
    open_page,
    screenshot,
    sign_in_and_mint,
    token_in_page,
    tracebacks,
    uncaught,
    watch_for_errors,
)
from tests.conftest import Stack, User


def test_the_whole_token_is_copied_and_the_page_revokes_it(stack: Stack, browser: Any, user: User) -> None:
    # given the page, as alice, with a token minted
    page = open_page(browser, clipboard=True)
    errors: list[str] = []
    watch_for_errors(page, errors)
    sign_in_and_mint(page, stack, "5", user)
    token = token_in_page(page)

    # when the token is copied
    page.get_by_role("button", name="Copy token").click()
    page.wait_for_selector("#status:has-text('on the clipboard')")

    # then the clipboard and the page hold the whole token
    assert page.evaluate("navigator.clipboard.readText()") == token
    assert page.locator("#token-value").input_value() == token

    # when it is revoked from the page
    page.get_by_role("button", name="Revoke").click()

    # then the page says so, takes no more files, and the service refuses the token
    page.wait_for_selector("#status.error:has-text('You revoked the upload token.')")
    assert page.get_by_role("button", name="Revoke").is_disabled()
    page.wait_for_selector(".uppy-Dashboard[aria-disabled='true'], .uppy-Dashboard--isDisabled")
    assert requests.get(f"{stack.api}/uploads/{token}", timeout=30).json()["title"] == (
        "The upload token was revoked."
    )
    assert not uncaught(errors), errors
    screenshot(page, "demo-revoked-from-the-page")
    page.context.close()


#: Holds the page's POST of `name` to S3 (the presigned target was handed out) until the test ends.
HOLD_THE_POST = """(name) => {
  window.heldPosts = 0;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData && body.get("file")?.name === name) {
      window.heldPosts += 1;
      return;  // never sent: the upload stays on its way
    }
    return send.call(this, body);
  };
}"""


@pytest.mark.parametrize("uppy", UPPY_MAJORS)
def test_an_expired_token_says_it_expired_and_stops_its_uploads(
    stack: Stack, browser: Any, user: User, uppy: str
) -> None:
    # given a token of 12 s, and a file whose target was handed out but whose bytes are still held
    page = open_page(browser)
    errors: list[str] = []
    watch_for_errors(page, errors)
    tracebacks_before = tracebacks(stack)
    sign_in_and_mint(page, stack, uppy, user, ttl=12)
    expires_at = page.locator("#token-status").inner_text().removeprefix("Expires at ").rstrip(".")
    page.evaluate(HOLD_THE_POST, "slow.mp4")
    page.locator("#dashboard input[type=file]").first.set_input_files(
        [{"name": "slow.mp4", "mimeType": "video/mp4", "buffer": (CONTENT / "clip.mp4").read_bytes()}]
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    page.wait_for_function("window.heldPosts === 1")
    page.locator("#decisions tr[data-file-name='slow.mp4'][data-status='PENDING']").wait_for()

    # when the token's time is up
    page.wait_for_selector("#token-status:has-text('The upload token expired')")

    # then the page says when, in the service's words, stopped the file and takes no more
    assert page.locator("#token-status").inner_text() == f"The upload token expired at {expires_at}."
    said = page.locator("#status").inner_text()
    assert "Stopped: slow.mp4." in said and "Mint a new token" in said, said
    assert page.evaluate("window.uppy.getFiles().length") == 0
    page.wait_for_selector(".uppy-Dashboard[aria-disabled='true'], .uppy-Dashboard--isDisabled")
    # and the upload the token outlived says what becomes of it, as the service reports it
    row = page.locator("#decisions tr[data-file-name='slow.mp4']")
    row.locator("td.reason:has-text('the cleanup will mark it EXPIRED')").wait_for()
    token = token_in_page(page)
    refused = requests.get(f"{stack.api}/uploads/{token}", timeout=30).json()
    assert refused["title"] == f"The upload token expired at {expires_at}."
    assert not uncaught(errors), errors
    assert tracebacks(stack)[len(tracebacks_before) :] == []  # the log only grows
    screenshot(page, f"demo-expired-uppy-{uppy}")
    page.context.close()
