"""The layer's packages import each other one way only, as docs/architecture.md draws them: core/
and data/ import no feature, the OpenAPI document only wire models, no module imports in a circle
(in the layer, local_stack/ or benchmarks/), and the map in the docs is the one the imports make.
No module of local_stack/ or benchmarks/ grows past 400 lines (one that does does several jobs)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchmarks import layer_map
from local_stack.template import ROOT

#: Which packages each may import. An arrow that is not here is a new dependency between features:
#: add it knowingly (and see that the map in docs/architecture.md still reads well).
ALLOWED = {
    "core": set(),
    "data": {"core"},
    "http": {"core", "data"},
    "uploads": {"core", "data"},
    "tokens": {"core", "data", "http", "uploads"},
    "multipart": {"core", "data", "uploads"},
    "forwarding": {"core", "data"},
    "openapi": {"core", "uploads", "multipart"},
}
#: Lines a module of local_stack/ or benchmarks/ may have.
MAX_LINES = 400
#: What the OpenAPI document is built from: wire models, never a feature's logic.
WIRE_MODELS = {
    "upload_service.core.models",
    "upload_service.uploads.file_rules",
    "upload_service.multipart.wire",
}


@pytest.fixture(scope="module")
def layer() -> layer_map.Graph:
    return layer_map.layer()


def test_every_module_is_in_one_of_the_packages(layer: layer_map.Graph) -> None:
    assert set(layer_map.rooms(layer)) == set(ALLOWED)  # a module left loose would be a room of its own


def test_packages_import_each_other_only_as_allowed(layer: layer_map.Graph) -> None:
    arrows = layer_map.package_arrows(layer)
    assert {(source, target) for source, target in arrows if target not in ALLOWED[source]} == set()


@pytest.mark.parametrize(("package", "below"), [("core", {"core"}), ("data", {"core", "data"})])
def test_core_and_data_import_no_feature(layer: layer_map.Graph, package: str, below: set[str]) -> None:
    imported = {
        layer_map.package_of(target)
        for source, target in layer.arrows
        if layer_map.package_of(source) == package
    }
    assert imported <= below


def test_no_import_cycle_between_packages(layer: layer_map.Graph) -> None:
    assert layer_map.cycles(ALLOWED, layer_map.package_arrows(layer)) == []


def test_the_openapi_document_imports_only_wire_models(layer: layer_map.Graph) -> None:
    outside = {
        target
        for source, target in layer.arrows
        if layer_map.package_of(source) == "openapi" and layer_map.package_of(target) != "openapi"
    }
    assert outside <= WIRE_MODELS, sorted(outside - WIRE_MODELS)
    users = {source for source, target in layer.arrows if layer_map.package_of(target) == "openapi"}
    assert {layer_map.package_of(source) for source in users} <= {"openapi"}  # nothing builds on it


@pytest.mark.parametrize(
    "graph",
    [
        pytest.param(layer_map.layer, id="layers/shared"),
        pytest.param(lambda: layer_map.build(ROOT, "local_stack"), id="local_stack"),
        pytest.param(lambda: layer_map.build(ROOT, "benchmarks", bare=True), id="benchmarks"),
    ],
)
def test_no_module_imports_itself_in_a_circle(graph: Callable[[], layer_map.Graph]) -> None:
    built = graph()
    assert layer_map.cycles(built.modules, built.arrows) == []


@pytest.mark.parametrize("folder", ["local_stack", "benchmarks"])
def test_no_module_runs_past_400_lines(folder: str) -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_architecture_md_shows_the_map_the_imports_make(layer: layer_map.Graph) -> None:
    assert layer_map.doc_block() == layer_map.generated(layer), "run `python benchmarks/layer_map.py --write`"


def test_the_cycle_finder_finds_a_circle_and_nothing_else() -> None:
    arrows = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")]
    assert layer_map.cycles("abcde", arrows) == [["a", "b", "c"]]
    assert layer_map.levels([("a", "b"), ("b", "c"), ("a", "c")]) == 3
