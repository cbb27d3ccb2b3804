"""Reading the docs as tests do: pages and their links and headings (by GitHub's rules), the
README's quickstart, the shell examples of the pages whose examples run (tests/e2e/test_doc_examples.py)
and what they show, and the api.video client example of docs/api-video-compatibility.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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


#: The pages whose bash blocks are examples to run against a fresh `make dev`, in this order, in one
#: shell: large-uploads.md goes on in the shell of http-api.md's examples.
EXAMPLE_PAGES = [ROOT / "docs" / "http-api.md", ROOT / "docs" / "large-uploads.md"]
#: The pages whose commands address a deployed stack on AWS (no local stack can run them).
AWS_PAGES = [ROOT / "docs" / "deploying.md", ROOT / "docs" / "operations.md"]


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
