"""The docs' shell examples, run as written: every bash block of docs/http-api.md, then of
docs/large-uploads.md (which goes on in the same shell), run by bash, in order, in one shell, against a
fresh local stack with `make dev`'s parameters, in a working copy whose `.local/stack.json` that stack
wrote. Each paragraph must succeed (`set -euo pipefail`, nothing on stderr) and print what the page shows
under its commands; jq is not on the PATH, since the pages do not need it."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from tests.conftest import running_stack
from tests.docs_text import EXAMPLE_PAGES, ROOT, Paragraph, paragraphs, shell_blocks, shown_as_printed
from tests.waiting import PATIENCE


def example_paragraphs() -> list[tuple[str, Paragraph]]:
    """(where, paragraph) for every paragraph of every example block, in the order a reader runs them."""
    found = []
    for page in EXAMPLE_PAGES:
        for number, block in enumerate(shell_blocks(page.read_text()), start=1):
            for paragraph in paragraphs(block):
                found.append((f"{page.relative_to(ROOT)}, block {number}", paragraph))
    return found


def script_printing_each_paragraph_apart(examples: list[tuple[str, Paragraph]], outputs: Path) -> str:
    """One bash script, the paragraphs as written, each in a `{ ...; }` group (same shell, so variables
    and functions carry on) whose output goes to a file of its own."""
    groups = [
        f"{{\n{paragraph.script}\n}} > {shlex.quote(str(outputs / str(index)))}"
        for index, (_, paragraph) in enumerate(examples)
    ]
    return "\n".join(groups) + "\n"


def without_jq(tmp_path: Path) -> str:
    """A PATH on which `jq` is a command that fails, whatever the machine has installed."""
    stub = tmp_path / "no-jq"
    stub.mkdir()
    jq = stub / "jq"
    jq.write_text("#!/bin/sh\necho 'jq is no prerequisite of the docs' >&2\nexit 127\n")
    jq.chmod(0o755)
    return f"{stub}{os.pathsep}{os.environ['PATH']}"


def test_the_docs_shell_examples_run_as_written_and_print_what_they_show(
    checkout: Path, tmp_path: Path
) -> None:
    # given: a fresh stack as `make dev` runs it, and the examples in reading order
    examples = example_paragraphs()
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    script = script_printing_each_paragraph_apart(examples, outputs)
    environment = {"PATH": without_jq(tmp_path), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    with running_stack(checkout / ".local", parameters=""):
        # when
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=checkout,
            env=environment,
            capture_output=True,
            text=True,
            timeout=PATIENCE * 2,
        )
    # then: every paragraph ran, quietly, and printed what its page shows
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    for index, (where, paragraph) in enumerate(examples):
        printed = (outputs / str(index)).read_text()
        assert shown_as_printed(paragraph.shown, printed), (
            f"{where}:\n{paragraph.script}\nshows:\n" + "\n".join(paragraph.shown) + f"\nprinted:\n{printed}"
        )
