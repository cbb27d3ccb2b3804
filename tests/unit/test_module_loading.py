"""Each function loads at init only the pieces of the layer it uses: the token API's read and create
functions load no upload code (the data layer is one module per item kind for this)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import cold_start

UPLOAD_CODE = {
    "upload_service.data.uploads",
    "upload_service.data.claims",
    "upload_service.uploads",
    "upload_service.expiry",
    "upload_service.storage",
    "upload_service.revocation",
    "upload_service.repository",
}
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("upload_service"))))
"""


@pytest.mark.parametrize("function", ["create_token", "get_token", "list_tokens"])
def test_token_functions_load_no_upload_code(function: str) -> None:
    env = {**cold_start.environment(), "PYTHONPATH": str(cold_start.ROOT / "layers" / "shared")}
    app = cold_start.ROOT / "functions" / function / "app.py"
    done = subprocess.run(
        [sys.executable, "-s", "-c", PROBE, str(app)], env=env, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "upload_service.data.tokens" in loaded
    assert not loaded & UPLOAD_CODE, sorted(loaded & UPLOAD_CODE)
