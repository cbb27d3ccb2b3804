"""The README's quickstart, run as written: its second terminal's commands, read from README.md, run
by bash against a fresh local stack with `make dev`'s parameters (the template's defaults), in a
working copy whose `.local/stack.json` is written by that stack, as `make dev` writes it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import running_stack
from tests.docs_text import README, columns, quickstart


def test_the_readme_quickstart_uploads_a_file_sees_it_accepted_and_forwarded(checkout: Path) -> None:
    # given: what `make dev` runs, with no parameter overrides
    steps = quickstart(README.read_text())
    with running_stack(checkout / ".local", parameters="") as stack:
        # when
        runs = [
            subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                cwd=checkout,
                capture_output=True,
                text=True,
                timeout=90,
            )
            for block in steps.client_blocks
        ]
        banner = stack.log.read_text()
    # then: the stack said what the README says to wait for; the commands printed what it shows,
    # line by line, the upload ACCEPTED and forwarded to the api.video double
    assert steps.ready_message in banner
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    lines = "".join(run.stdout for run in runs).splitlines()
    assert [columns(line)[0] for line in lines] == [columns(line)[0] for line in steps.shown_output]
    shown = dict(columns(line) for line in lines)
    assert shown["decision"].startswith("ACCEPTED"), lines
    assert shown["api.video"].startswith("FORWARDED vi"), lines  # make dev forwards to its double
