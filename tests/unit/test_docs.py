"""The docs hold together: every relative link in README.md and docs/ resolves inside the repository
(to a file, and to a heading by GitHub's anchor rules), the parameters table names every template
parameter, and the README's quickstart has the shape tests/e2e/test_quickstart.py runs."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

FENCED_BLOCK = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
EXTERNAL = re.compile(r"^(https?:|mailto:)", re.I)


def prose(markdown: str) -> str:
    """The text outside fenced code blocks (a `# comment` in a bash block is no heading)."""
    return FENCED_BLOCK.sub("", markdown)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its rendered text lowercased, punctuation but `-` and `_`
    dropped, spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = re.sub(r"[`*]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor; a repeated one gets `-1`, `-2`, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(markdown)):
        slug = github_slug(heading)
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def broken_links(page: Path, markdown: str) -> list[str]:
    """The relative links of `page` that leave the repository, name no file, or name no heading."""
    broken = []
    for target in LINK.findall(INLINE_CODE.sub("", prose(markdown))):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve()
        if not path:
            if anchor not in anchors(markdown):
                broken.append(f"{target}: no such heading on this page")
        elif not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    return broken


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


@dataclass(frozen=True)
class Quickstart:
    """The README's "Quickstart" section: its shell blocks in the order a newcomer runs them (the
    first starts the service, the others run in a second terminal once the service prints
    `ready_message`), and what the README shows those print."""

    shell_blocks: list[str]
    shown_output: list[str]
    ready_message: str

    @property
    def server(self) -> list[str]:
        return commands(self.shell_blocks[0])

    @property
    def client_blocks(self) -> list[str]:
        """What tests/e2e/test_quickstart.py runs, verbatim, against a fresh local stack."""
        return self.shell_blocks[1:]


def quickstart(readme: str) -> Quickstart:
    section = re.search(r"^## Quickstart\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section, "README.md has no '## Quickstart' section"
    blocks = FENCED_BLOCK.findall(section.group(1))
    ready = re.search(r"once it prints `([^`]+)`", prose(section.group(1)))
    return Quickstart(
        shell_blocks=[body for language, body in blocks if language in ("bash", "sh", "shell")],
        shown_output=[line for language, body in blocks if language == "text" for line in body.splitlines()],
        ready_message=ready.group(1) if ready else "",
    )


def commands(block: str) -> list[str]:
    """A shell block's command lines, without comments."""
    lines = (line.split(" #")[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def columns(line: str) -> tuple[str, str]:
    """`label    value` as the quickstart prints it."""
    label, _, value = line.partition("  ")
    return label, value.strip()


def make_recipe(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert rule, f"the Makefile has no {target} target"
    return [line.strip() for line in rule.group(1).splitlines()]


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

#: The pages whose bash blocks are examples to run against a fresh `make dev`, in this order, in one
#: shell: large-uploads.md goes on in the shell of http-api.md's examples.
EXAMPLE_PAGES = [ROOT / "docs" / "http-api.md", ROOT / "docs" / "large-uploads.md"]


@dataclass(frozen=True)
class Paragraph:
    """Lines of a shell block between blank lines: comments that open it say what it does; a comment
    after a command shows what the commands print (a line starting `#  ` goes on the line above)."""

    script: str
    shown: list[str]


def shell_blocks(markdown: str) -> list[str]:
    return [body for language, body in FENCED_BLOCK.findall(markdown) if language in ("bash", "sh", "shell")]


def paragraphs(block: str) -> list[Paragraph]:
    found = []
    for text in re.split(r"\n[ \t]*\n", block.strip("\n")):
        script: list[str] = []
        shown: list[str] = []
        for line in text.splitlines():
            if not line.startswith("#") or not script:
                script.append(line)
            elif line.startswith("#  ") and shown:
                shown[-1] += line[3:].lstrip()
            else:
                shown.append(line[2:])
        found.append(Paragraph("\n".join(script), shown))
    return found


#: What differs from run to run, and how the docs may write it: any realistic example, or `…`.
VARYING = [
    (re.compile(r"\bto[0-9A-Za-z]{22}\b"), "<token>"),
    (re.compile(r"\bvi[0-9A-Za-z]{22}\b"), "<videoId>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), "<timestamp>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<hex>"),
    (re.compile(r"//127\.0\.0\.1:\d+"), "//127.0.0.1:<port>"),
]


def normalised(line: str) -> str:
    for pattern, placeholder in VARYING:
        line = pattern.sub(placeholder, line)
    return line.rstrip()


def shown_as_printed(shown: list[str], printed: str) -> bool:
    """`printed` is what `shown` says, line by line: values that vary may differ, `…` stands for anything."""
    lines = printed.splitlines()
    if len(lines) != len(shown):
        return False
    patterns = [".*?".join(re.escape(part) for part in normalised(line).split("…")) for line in shown]
    return all(re.fullmatch(pattern, normalised(line)) for pattern, line in zip(patterns, lines, strict=True))


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
    blocks = shell_blocks(page.read_text())
    assert any(re.search(r"\bcurl\b", block) for block in blocks) == (page in EXAMPLE_PAGES)


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

COMPATIBILITY = ROOT / "docs" / "api-video-compatibility.md"


@dataclass(frozen=True)
class ClientExample:
    """The page's "Using api.video's Python client": the program (tests/e2e/test_api_video_client.py
    runs it, as written) and what the page says it prints."""

    program: str
    shown_output: list[str]


def client_example(markdown: str) -> ClientExample:
    section = re.search(r"^## Using api\.video's Python client\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert section, "no '## Using api.video's Python client' section"
    blocks = FENCED_BLOCK.findall(section.group(1))
    programs = [body for language, body in blocks if language == "python"]
    outputs = [body for language, body in blocks if language == "text"]
    assert len(programs) == 1, "the section shows one program"
    assert len(outputs) == 1, "the section shows what the program prints, once"
    return ClientExample(programs[0], outputs[0].splitlines())


def test_the_compatibility_page_uses_the_clients_plain_api_client_with_a_bearer() -> None:
    example = client_example(COMPATIBILITY.read_text())
    assert "AuthenticatedApiClient" not in example.program  # it signs in at /auth/api-key, not served
    assert 'header_name="Authorization"' in example.program
    assert "upload_with_upload_token" in example.program
    assert any(line.startswith("upload 400 ") for line in example.shown_output)
