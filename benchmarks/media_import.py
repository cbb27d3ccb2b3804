"""What loading the structure probe (`upload_service.uploads.media`: the probe and its walkers) adds
to the processor's cold start: in fresh processes set up as benchmarks/cold_start.py sets them up
(the runtime's Python, the layer as built, no bytecode written), the time of importing
`upload_service.uploads.media.probe` after what the processor loads anyway (its storage, records and
logging), with the layer as built and with a layer that ships no bytecode; medians of `RUNS`.
ProcessUploadFunction's cold start (benchmarks/cold_start.py) includes it already.

    .venv/bin/python benchmarks/media_import.py   # this table alone (make bench prints it too)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cold_start

RUNS = 9
TITLE = (
    f"Import of upload_service.uploads.media in a fresh process, after what the processor loads anyway"
    f" (ms, median of {RUNS}; share: of ProcessUploadFunction's cold start)"
)
#: Run in the measured process: what the processor imports anyway, then the probe, timed.
CODE = """
import time
import upload_service.core.observability, upload_service.core.records, upload_service.core.storage
started = time.perf_counter()
import upload_service.uploads.media.probe
print(time.perf_counter() - started)
"""


def _once(env: dict[str, str]) -> float:
    done = subprocess.run(
        [cold_start.runtime_python(), "-s", "-c", CODE], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"importing the probe: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def measure(runs: int = RUNS, cold_starts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The probe's import time with the layer as built and without bytecode; beside each, its share of
    ProcessUploadFunction's cold start when `cold_starts` (cold_start.measure's rows) are given."""
    if not cold_start.LAYER.is_dir():
        cold_start.prepare()
    env = cold_start.environment()
    variants = {
        "layer as built": env,
        "no bytecode": {**env, "PYTHONPATH": cold_start.python_path(cold_start.SOURCE_ONLY_LAYER)},
    }
    for variant in variants.values():  # warm the OS file cache; no bytecode is written
        _once(variant)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, variant in variants.items():  # interleaved: drift hits both alike
            times[name].append(_once(variant))
    process = next((row for row in cold_starts or [] if row["function"] == "ProcessUploadFunction"), None)
    rows = []
    for name, runs_s in times.items():
        median = statistics.median(runs_s)
        row: dict[str, Any] = {
            "layer": name,
            "import_ms": round(median * 1000, 1),
            "min_ms": round(min(runs_s) * 1000, 1),
            "max_ms": round(max(runs_s) * 1000, 1),
        }
        if process is not None:
            whole = process["cold_start_s" if name == "layer as built" else "no_bytecode_s"]
            row["share"] = f"{median / whole:.1%} of {whole * 1000:.0f} ms"
        rows.append(row)
    return rows


if __name__ == "__main__":
    import os

    from tables import table

    print(table(TITLE, measure(int(os.environ.get("RUNS", RUNS)))))
