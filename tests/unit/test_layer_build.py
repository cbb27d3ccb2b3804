"""The layer `sam build` makes (layers/shared/Makefile) ships bytecode for the Lambda runtime.

Lambda cannot write bytecode to /opt, so a layer without it compiles pydantic, Powertools and
upload_service at every cold start (about 0.3 s measured by benchmarks/cold_start.py).
`make test` runs `sam build` before the tests; this reads what it built.
"""

from __future__ import annotations

import pytest

from local_stack.template import ROOT, load_template

BUILT = ROOT / ".aws-sam" / "build" / "SharedLayer" / "python"
#: importlib.util.MAGIC_NUMBER of CPython 3.13, the runtime's version.
MAGIC_313 = b"\xf3\r\r\n"
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def test_layer_is_built_by_its_makefile_for_arm64() -> None:
    metadata = load_template()["Resources"]["SharedLayer"]["Metadata"]
    assert metadata == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert (ROOT / "layers" / "shared" / "Makefile").read_text().count("build-SharedLayer:") == 1


@pytest.mark.parametrize("package", ["upload_service", "pydantic", "aws_lambda_powertools"])
def test_every_module_ships_unchecked_bytecode_for_python_313(package: str) -> None:
    if not BUILT.is_dir():
        pytest.skip("no sam build output: run `make build` (make test does)")
    sources = sorted((BUILT / package).rglob("*.py"))
    assert sources, f"{package} is missing from the layer"
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert compiled.is_file(), f"no bytecode for {source.relative_to(BUILT)}"
        header = compiled.read_bytes()[:8]
        assert header[:4] == MAGIC_313, compiled
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, compiled


def test_layer_holds_only_what_lambda_loads() -> None:
    if not BUILT.is_dir():
        pytest.skip("no sam build output: run `make build` (make test does)")
    assert not (BUILT / "bin").exists()
    assert not list(BUILT.rglob("*.cpython-311.pyc")), "bytecode of the wrong Python version"
    native = list((BUILT / "pydantic_core").glob("*.so"))
    assert [path.name for path in native] == ["_pydantic_core.cpython-313-aarch64-linux-gnu.so"]
