"""Each function loads at init only the pieces of the layer it uses: the token API's read and create
functions load no upload code (the data layer is one module per item kind for this), and starting an
upload loads none of the landing checks (the content check's signature database included)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import cold_start

UPLOAD_CODE = {
    "upload_service.data.uploads",
    "upload_service.data.claims",
    "upload_service.uploads.starting",
    "upload_service.uploads.landing",
    "upload_service.uploads.expiry",
    "upload_service.core.storage",
    "upload_service.tokens.revocation",
    "upload_service.data.repository",
}
#: The features whose modules are all upload code (the packages themselves included).
UPLOAD_FEATURES = ("upload_service.uploads", "upload_service.multipart", "upload_service.forwarding")
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
ours = ("upload_service", "puremagic")
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ours)))
"""
LANDING_CODE = {"upload_service.uploads.landing", "upload_service.uploads.content", "puremagic"}
#: The structure check of what landed (uploads/media/): the processor's and the cleanup's only.
MEDIA_CODE = "upload_service.uploads.media"
FUNCTIONS = sorted(path.parent.name for path in (cold_start.ROOT / "functions").glob("*/app.py"))


def loaded_by(function: str) -> set[str]:
    """The layer's modules (and puremagic) a fresh process has loaded after the function's init."""
    env = {**cold_start.environment(), "PYTHONPATH": str(cold_start.ROOT / "layers" / "shared")}
    app = cold_start.ROOT / "functions" / function / "app.py"
    done = subprocess.run(
        [sys.executable, "-s", "-c", PROBE, str(app)], env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", ["create_token", "get_token", "list_tokens"])
def test_token_functions_load_no_upload_code(function: str) -> None:
    loaded = loaded_by(function)
    assert "upload_service.data.tokens" in loaded
    assert not loaded & UPLOAD_CODE, sorted(loaded & UPLOAD_CODE)
    features = [name for name in loaded if name.startswith(UPLOAD_FEATURES)]
    assert not features, features


def test_starting_an_upload_loads_no_landing_checks() -> None:
    assert "upload_service.uploads.starting" in loaded_by("start_upload")
    assert not loaded_by("start_upload") & LANDING_CODE
    assert loaded_by("process_upload") >= LANDING_CODE


@pytest.mark.parametrize(
    "function", [name for name in FUNCTIONS if name not in ("process_upload", "cleanup")]
)
def test_only_the_processor_and_the_cleanup_load_the_media_walkers(function: str) -> None:
    loaded = loaded_by(function)
    assert not [name for name in loaded if name.startswith(MEDIA_CODE)]


def test_the_processor_loads_the_media_walkers() -> None:
    loaded = loaded_by("process_upload")
    assert {
        f"{MEDIA_CODE}.probe",
        f"{MEDIA_CODE}.isobmff",
        f"{MEDIA_CODE}.matroska",
        f"{MEDIA_CODE}.images",
    } <= loaded
