"""The demo page in Debian's chromium, driven by Playwright: the browser, a page, its errors, the
steps every test takes (sign in, mint), and the artifacts each test keeps (screenshots).

Needs /usr/bin/chromium (`make test` installs it where apt-get can; `CHROMIUM` points elsewhere)
and demo/node_modules (`npm ci` in demo/, which `make test` and `make dev` run). Under CI=true a
browser that cannot start fails the tests; elsewhere they skip, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from local_stack.demo import DEMO_DIR, VENDOR
from tests.conftest import PASSWORD, ROOT, Stack, User
from tests.waiting import PATIENCE

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
CONTENT = ROOT / "tests" / "fixtures" / "content"
#: Screenshots of what each test saw, kept after the run (CI keeps the folder).
ARTIFACTS = Path(__file__).parent / "artifacts"
MIB = 1024**2
#: How long the page may take to show what the service did (tests/waiting.py): a ceiling, not a goal.
PATIENCE_MS = PATIENCE * 1000


def unavailable(reason: str) -> None:
    """Fails under CI (the browser tests must run there), skips elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
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


def open_page(browser: Any, *, clipboard: bool = False) -> Any:
    """A page in a context of its own whose every wait may take PATIENCE (Playwright's default is
    30 s); with `clipboard`, the page may write and read the clipboard, as a person's page may."""
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    if clipboard:
        context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    return page


def watch_for_errors(page: Any, errors: list[str]) -> None:
    """Script errors, console errors and every HTTP error the page met, into `errors`."""

    def on_response(response: Any) -> None:
        if response.status >= 400:
            errors.append(f"{response.request.method} {response.url.split('?')[0]}: {response.status}")

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", on_console)
    page.on("response", on_response)


def uncaught(errors: list[str]) -> list[str]:
    return [error for error in errors if error.startswith("uncaught:")]


def sign_in_and_mint(page: Any, stack: Stack, uppy: str, user: User, ttl: int | None = None) -> None:
    """Open the page with Uppy's major `uppy`, sign in as `user` (a fresh one: each test's tokens
    count against a user's MaxActiveTokensPerUser), mint a token."""
    page.goto(f"{stack.api}/demo/" if uppy == "5" else f"{stack.api}/demo/?uppy={uppy}")
    assert page.locator("#uppy-majors a[aria-current=page]").get_attribute("data-major") == uppy
    # the page fills in its first demo user and wires its forms once config.json is read: typing or
    # clicking before then would be overwritten or submit the form as a plain page load
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#username").fill(user.username)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(f"#signed-in:has-text('Signed in as {user.username}'), #status.error")
    assert page.locator("#signed-in").is_visible(), page.locator("#status").inner_text()
    if ttl is not None:
        page.locator("#ttl").fill(str(ttl))
    page.get_by_role("button", name="Mint a token").click()
    page.wait_for_selector("#status:has-text('Token minted')")


def token_in_page(page: Any) -> str:
    """The token the page's uploader holds (the end of its Companion endpoint)."""
    endpoint = page.evaluate(
        "(({ opts }) => opts.endpoint || opts.companionEndpoint)"
        "(window.uppy.getPlugin('AwsS3') || window.uppy.getPlugin('AwsS3Multipart'))"
    )
    return unquote(endpoint.rsplit("/", 1)[-1])


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


#: Functions that work in the background, on other tests' uploads too (a forwarder retrying an upload
#: whose file a fault test deleted logs its traceback each time): not the page's doing.
BACKGROUND = ('"function_name":"ForwardUploadFunction"', '"function_name":"CleanupFunction"')


def tracebacks(stack: Stack) -> list[str]:
    """Tracebacks in the local stack's log (`make dev`'s terminal) that requests printed, the page's
    among them (an expected refusal prints none); not the background functions'."""
    lines = stack.log.read_text().splitlines()
    return [
        line
        for line in lines
        if "Traceback (most recent call last)" in line and not any(name in line for name in BACKGROUND)
    ]
