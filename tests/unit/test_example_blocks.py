"""The docs' runnable examples have the shape their runners rely on: the shell examples of
docs/http-api.md and docs/large-uploads.md (tests/e2e/test_doc_examples.py runs them) split into
paragraphs of commands and what they print, need no jq, and are whole shell commands; the api.video
client example of docs/api-video-compatibility.md uses the client as the page says it must."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.docs_text import (
    AWS_PAGES,
    COMPATIBILITY,
    EXAMPLE_PAGES,
    PAGES,
    ROOT,
    Paragraph,
    client_example,
    commands,
    paragraphs,
    shell_blocks,
    shown_as_printed,
)


def test_a_paragraph_splits_into_script_and_what_it_shows() -> None:
    block = (
        "# what it does\nA=1\necho $A\n# 1\n\n"
        'echo \'{"a":1,"b":2}\'; echo done\n'
        '# {"a":1,\n#  "b":2}\n# done\n'
    )
    assert paragraphs(block) == [
        Paragraph("# what it does\nA=1\necho $A", ["1"]),
        Paragraph('echo \'{"a":1,"b":2}\'; echo done', ['{"a":1,"b":2}', "done"]),
    ]


@pytest.mark.parametrize(
    ("shown", "printed", "same"),
    [
        (
            ['{"token":"to1tcmSFHeYY5KzyhOqVKMKb","ttl":600}'],
            '{"token":"toAAAAAAAAAAAAAAAAAAAAAA","ttl":600}\n',
            True,
        ),
        (
            ['{"token":"to1tcmSFHeYY5KzyhOqVKMKb","ttl":600}'],
            '{"token":"toAAAAAAAAAAAAAAAAAAAAAA","ttl":60}\n',
            False,
        ),
        (['{"userId":"…","status":"PENDING"}'], '{"userId":"8c727bf9-dd52","status":"PENDING"}', True),
        (['{"userId":"…","status":"PENDING"}'], '{"userId":"8c727bf9-dd52","status":"CLOSED"}', False),
        (
            ["http://127.0.0.1:5000/x 2026-11-22T08:00:00.000Z"],
            "http://127.0.0.1:41234/x 2027-01-01T00:00:00.123Z",
            True,
        ),
        (['ETag: "d41d8cd98f00b204e9800998ecf8427e"'], 'ETag: "0cc175b9c0f1b6a831c399e269772661"\r\n', True),
        (["204"], "204\n404\n", False),
        (["204", "404"], "204\n", False),
    ],
)
def test_what_a_page_shows_is_compared_with_what_was_printed(
    shown: list[str], printed: str, same: bool
) -> None:
    assert shown_as_printed(shown, printed) is same


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_pages_with_curl_examples_are_the_pages_whose_examples_run(page: Path) -> None:
    """Every page whose shell blocks call the API locally is run by the examples test; the pages about
    a deployed stack (AWS_PAGES) call it on AWS, where no test can."""
    blocks = shell_blocks(page.read_text())
    calls_the_api = any(re.search(r"\bcurl\b", block) for block in blocks)
    assert calls_the_api == (page in EXAMPLE_PAGES) or page in AWS_PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_shell_example_needs_jq(page: Path) -> None:
    """jq is no prerequisite (CI machines may lack it): the examples read JSON with the venv's Python."""
    needing = [
        block for block in shell_blocks(page.read_text()) if re.search(r"\bjq\b", "\n".join(commands(block)))
    ]
    assert not needing


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda page: page.name)
def test_every_example_paragraph_is_a_whole_shell_command(page: Path) -> None:
    """The runner puts each paragraph in a group of its own: none may end inside a loop or a quote."""
    for block in shell_blocks(page.read_text()):
        for paragraph in paragraphs(block):
            checked = subprocess.run(
                ["bash", "-n"], input=paragraph.script, capture_output=True, text=True, check=False
            )
            assert checked.returncode == 0, paragraph.script + "\n" + checked.stderr


# --- api.video's Python client, as docs/api-video-compatibility.md shows it ------------------------


def test_the_compatibility_page_uses_the_clients_plain_api_client_with_a_bearer() -> None:
    example = client_example(COMPATIBILITY.read_text())
    assert "AuthenticatedApiClient" not in example.program  # it signs in at /auth/api-key, not served
    assert 'header_name="Authorization"' in example.program
    assert "upload_with_upload_token" in example.program
    assert any(line.startswith("upload 400 ") for line in example.shown_output)
