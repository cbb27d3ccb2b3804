"""The docs hold together: every relative link in README.md and docs/ resolves inside the repository
(to a file, and to a heading by GitHub's anchor rules), the parameters table names every template
parameter, the README's quickstart has the shape tests/e2e/test_quickstart.py runs, the functions
the docs name are template.yaml's, and no page cites what a clone does not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local_stack.template import load_template
from tests.docs_text import (
    PAGES,
    README,
    ROOT,
    anchors,
    broken_links,
    columns,
    commands,
    github_slug,
    make_recipe,
    quickstart,
)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page, page.read_text()) == []


def test_a_link_out_of_the_repository_or_to_a_missing_heading_is_broken() -> None:
    # given
    page = ROOT / "docs" / "example.md"
    markdown = (
        "# Top\n\n## Rules\n\n"
        "[ok](#rules) [ok](../README.md#quickstart) [ok](https://example.com/x#y) `[code](nowhere.md)`\n"
        "[out](../../shared/reference/x.md) [gone](missing.md) [anchor](../README.md#no-such-heading)\n"
        "[here](#no-such-heading) [folder](../tests/e2e)\n"
        "```bash\n[in a block](nowhere.md)\n```\n"
    )
    # when
    broken = broken_links(page, markdown)
    # then
    assert [entry.split(":")[0] for entry in broken] == [
        "../../shared/reference/x.md",
        "missing.md",
        "../README.md#no-such-heading",
        "#no-such-heading",
    ]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Choices beyond the design, and why", "choices-beyond-the-design-and-why"),
        ("Starting an upload: `POST /upload`", "starting-an-upload-post-upload"),
        ("`.local/stack.json`", "localstackjson"),
        ("Exactly-once effects on at-least-once delivery", "exactly-once-effects-on-at-least-once-delivery"),
        ("What `make dev` starts", "what-make-dev-starts"),
        ("See [the API](http-api.md)", "see-the-api"),
        ("`data.table` and `rate_windows`", "datatable-and-rate_windows"),
    ],
)
def test_headings_get_githubs_anchors(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_repeated_headings_get_numbered_anchors() -> None:
    assert anchors("## Rules\n\n```bash\n# Rules\n```\n\n## Rules\n\n### Rules\n") == {
        "rules",
        "rules-1",
        "rules-2",
    }


def test_the_parameters_table_names_every_template_parameter() -> None:
    table_rows = [
        line for line in (ROOT / "docs" / "deploying.md").read_text().splitlines() if line[:3] == "| `"
    ]
    documented = {name for row in table_rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented == set(load_template()["Parameters"])


def test_the_quickstart_starts_the_service_as_the_tests_do() -> None:
    """Its first block is `make dev`, which runs what tests/conftest.py's `running_stack` runs."""
    steps = quickstart(README.read_text())
    assert steps.server == ["make dev"]
    assert make_recipe("dev") == ["$(BIN)/python -m local_stack"]
    assert steps.ready_message, "the quickstart does not say what to wait for before the second terminal"


def test_the_quickstart_uploads_a_file_in_a_block_the_e2e_test_runs() -> None:
    steps = quickstart(README.read_text())
    assert steps.client_blocks, "no shell block after `make dev` in the quickstart"
    for block in steps.client_blocks:
        for command in commands(block):
            scripts = [word for word in command.split() if word.endswith(".py")]
            assert all((ROOT / script).is_file() for script in scripts), command
    shown = dict(columns(line) for line in steps.shown_output)
    assert shown["decision"].startswith("ACCEPTED"), steps.shown_output


# --- the functions the docs name are template.yaml's -----------------------------------------------

NUMBER_WORDS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def template_functions() -> dict[str, str]:
    """Logical id -> code folder name (`CreateTokenFunction` -> `create_token`)."""
    resources = load_template()["Resources"]
    return {
        name: Path(resource["Properties"]["CodeUri"]).name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_the_readme_lists_every_function_folder_and_no_other() -> None:
    (row,) = [line for line in README.read_text().splitlines() if line.startswith("| `functions/")]
    listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
    assert listed == set(template_functions().values())


def test_the_architecture_table_has_a_row_per_function() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| ([a-z-]+) \| `(\w+Function)` \|", page, re.M)
    functions = template_functions()
    assert {logical_id for _, logical_id in rows} == set(functions)
    assert {name: functions[logical_id].replace("_", "-") for name, logical_id in rows} == {
        name: name for name, _ in rows
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_a_page_names_only_functions_the_template_has(page: Path) -> None:
    text = page.read_text()
    functions = template_functions()
    named_ids = set(re.findall(r"\b([A-Z]\w+Function)\b", text)) - {"AWS::Serverless::Function"}
    named_folders = set(re.findall(r"\bfunctions/([a-z_]+)/", text))
    assert named_ids <= set(functions), named_ids - set(functions)
    assert named_folders <= set(functions.values()), named_folders - set(functions.values())


@pytest.mark.parametrize("page", [README, ROOT / "docs" / "architecture.md"], ids=lambda page: page.name)
def test_an_overview_that_counts_the_functions_counts_them_all(page: Path) -> None:
    counted = re.findall(r"\b(" + "|".join(NUMBER_WORDS) + r") (?:\w+ )?functions\b", page.read_text(), re.I)
    assert all(NUMBER_WORDS.index(word.lower()) + 1 == len(template_functions()) for word in counted), counted


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_a_page_cites_nothing_a_clone_does_not_have(page: Path) -> None:
    """The project's issue tracker and its design notes stay outside the repository: a page that cites
    them ("issue 9", "DESIGN.md §5") sends a reader nowhere."""
    text = page.read_text()
    assert not re.findall(r"\bissue \d+|DESIGN\.md|§\s*\d", text)


# --- the shell examples run as written (tests/e2e/test_doc_examples.py) ----------------------------
