"""The shared layer's map, read from its source with `ast`: its modules, the import arrows between
them, and the packages (features) they are grouped in.

Every import counts, wherever it is (a function's lazy import, a `TYPE_CHECKING` block): each is a
module that must exist for the other to work. `from upload_service.core import aws` is an arrow to
`upload_service.core.aws`; `from upload_service.forwarding.apivideo import Progress` to the package
`upload_service.forwarding.apivideo` (its `__init__`).

    python benchmarks/layer_map.py           # the counts, the package arrows and the diagram
    python benchmarks/layer_map.py --write   # the diagram and counts into docs/architecture.md

tests/unit/test_layer_architecture.py checks the rules the map is drawn to (no cycle, core/ and
data/ import no feature) and that docs/architecture.md shows the map as it is.
"""

from __future__ import annotations

import argparse
import ast
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "shared"
TOP = "upload_service"
DOC = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- benchmarks/layer_map.py: generated, begin -->"
END = "<!-- benchmarks/layer_map.py: generated, end -->"


@dataclass(frozen=True)
class Graph:
    """Modules (dotted names, a package as its `__init__`) and who imports whom."""

    files: dict[str, Path]
    arrows: frozenset[tuple[str, str]]

    @property
    def modules(self) -> list[str]:
        return sorted(self.files)


def module_files(source_root: Path, top: str) -> dict[str, Path]:
    """`top` and everything under it, by dotted name."""
    files = {}
    for path in sorted((source_root / top).rglob("*.py")):
        parts = path.relative_to(source_root).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imported_names(path: Path, module: str) -> Iterator[str]:
    """Every dotted name an import in the file refers to (`from a import b` yields `a.b`: the module
    `a.b`, or the name `b` in `a`); relative imports made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield from (f"{base}.{alias.name}" for alias in node.names)


def build(source_root: Path, top: str, bare: bool = False) -> Graph:
    """The import graph of `top`'s modules. With `bare`, `import cost` inside `top` means `top.cost`
    (benchmarks/ runs as scripts with its own folder on sys.path)."""
    files = module_files(source_root, top)

    def resolve(name: str) -> str | None:
        if bare and name.split(".")[0] != top:
            found = resolve_in(f"{top}.{name}")
            if found not in (None, top):
                return found
        return resolve_in(name)

    def resolve_in(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    arrows = set()
    for module, path in files.items():
        for name in imported_names(path, module):
            target = resolve(name)
            if target and target not in (module, top):
                arrows.add((module, target))
    return Graph(files, frozenset(arrows))


def layer() -> Graph:
    """The shared layer's graph, as the source is now."""
    return build(LAYER, TOP)


def package_of(module: str) -> str:
    """The room a layer module is in: `core` for `upload_service.core.aws`, `forwarding` for
    `upload_service.forwarding.apivideo.client`; a module outside any package is its own room."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_arrows(graph: Graph) -> Counter[tuple[str, str]]:
    """Module arrows between packages, counted per (importer, imported) package pair."""
    return Counter(
        (package_of(source), package_of(target))
        for source, target in graph.arrows
        if package_of(source) != package_of(target)
    )


def cycles(nodes: Iterable[str], arrows: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The import cycles: strongly connected groups of more than one node (Tarjan)."""
    edges: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in arrows:
        edges.setdefault(source, []).append(target)
        edges.setdefault(target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def levels(arrows: Iterable[tuple[str, str]]) -> int:
    """How many levels the arrows stack up to: the longest chain of imports, counted in nodes."""
    targets: dict[str, set[str]] = {}
    for source, target in arrows:
        targets.setdefault(source, set()).add(target)
    depth: dict[str, int] = {}

    def of(node: str) -> int:
        if node not in depth:
            depth[node] = 0  # a cycle stops here rather than recursing forever
            depth[node] = 1 + max((of(target) for target in targets.get(node, ())), default=0)
        return depth[node]

    return max((of(node) for node in list(targets)), default=1)


def rooms(graph: Graph) -> dict[str, list[str]]:
    """Each package's modules by short name; a subpackage's as one entry (`apivideo/`)."""
    found: dict[str, list[str]] = {}
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) < 2:
            continue
        members = found.setdefault(package_of(module), [])
        if len(parts) > 2 and f"{parts[2]}/" not in members:
            members.append(f"{parts[2]}/" if len(parts) > 3 or _is_package(graph, module) else parts[2])
    return found


def _is_package(graph: Graph, module: str) -> bool:
    return graph.files[module].name == "__init__.py"


def summary(graph: Graph) -> dict[str, int]:
    between = package_arrows(graph)
    return {
        "modules": sum(_has_code(path) for path in graph.files.values()),
        "files": len(graph.files),
        "packages": len(rooms(graph)),
        "arrows": len(graph.arrows),
        "arrows_between_packages": sum(between.values()),
        "package_arrows": len(between),
        "module_levels": levels(graph.arrows),
        "package_levels": levels(between),
    }


def _has_code(path: Path) -> bool:
    """More than a docstring (a package's `__init__` is mostly just that)."""
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def mermaid(graph: Graph) -> str:
    """The packages and the module arrows between them, lower packages at the bottom."""
    lines = ["```mermaid", "flowchart BT"]
    for room, members in sorted(rooms(graph).items()):
        names = ", ".join(members)
        lines.append(f'    {room}["<b>{room}/</b><br/>{names}"]')
    for (source, target), count in sorted(package_arrows(graph).items()):
        lines.append(f"    {source} -- {count} --> {target}")
    lines.append("```")
    return "\n".join(lines)


def generated(graph: Graph) -> str:
    figures = summary(graph)
    return "\n".join(
        [
            BEGIN,
            textwrap.fill(
                f"{figures['modules']} modules in {figures['packages']} packages;"
                f" {figures['arrows']} import arrows between modules, {figures['arrows_between_packages']}"
                f" of them from one package to another, drawn as {figures['package_arrows']} package"
                " arrows (the number on an arrow: how many module imports it stands for).",
                width=100,
            ),
            "",
            mermaid(graph),
            END,
        ]
    )


def write_doc(graph: Graph, path: Path = DOC) -> None:
    text = path.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(head + generated(graph) + tail)


def doc_block(path: Path = DOC) -> str:
    text = path.read_text()
    return BEGIN + text.partition(BEGIN)[2].partition(END)[0] + END


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update docs/architecture.md")
    graph = layer()
    if parser.parse_args().write:
        write_doc(graph)
    for name, value in summary(graph).items():
        print(f"{name}: {value}")
    for (source, target), count in sorted(package_arrows(graph).items()):
        print(f"{source} -> {target}: {count}")
    print(f"cycles: {cycles(graph.modules, graph.arrows)}")
    print(mermaid(graph))


if __name__ == "__main__":
    main()
