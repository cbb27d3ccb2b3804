"""Cold start per function, as a ratio to the floor (a process that imports boto3, creates one
DynamoDB client and makes one stubbed call). Each run is a fresh process that imports the handler,
runs its module-level init and handles its events/ example once, every AWS call answered by
botocore's Stubber (no network). The first event is inside the measurement on purpose: moving an
import from init into the first request gains nothing here.

Both sides run as Lambda runs them: Python 3.13, the layer exactly as `sam build` builds it
(layers/shared/Makefile, built for this machine's platform into .bench/layer), boto3 as the runtime
provides it (.bench/runtime), nothing else on the path, and no bytecode written while measuring
(Lambda's /opt and /var/task are read-only).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cold_start_child import REFERENCES

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
LAYER = BENCH / "layer" / "python"
#: The same layer without bytecode, as SAM's python3.13 build method would ship it.
SOURCE_ONLY_LAYER = BENCH / "layer-source-only" / "python"
RUNTIME = BENCH / "runtime"
#: The measured process (benchmarks/cold_start_child.py): it runs one reference or one function.
CHILD = Path(__file__).resolve().with_name("cold_start_child.py")


def _event_files() -> dict[str, str]:
    """Function -> its events/ example, named like its code directory (functions/<name>/)."""
    sys.path.insert(0, str(ROOT))
    from local_stack.template import load_template

    return {
        name: Path(spec["Properties"]["CodeUri"]).name
        for name, spec in load_template()["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function"
    }


EVENT_FILES = _event_files()


def environment() -> dict[str, str]:
    """template.yaml's function variables (names for the resources), offline credentials."""
    sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]
    from local_stack.functions import function_specs
    from local_stack.template import Resolver, load_template

    template = load_template()
    resolver = Resolver(
        template,
        Resolver.parameter_values(template, {"VideoPlatform": "apivideo", "ApiVideoApiKeySecret": "bench"}),
        {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "1",
            "AWS::StackName": "bench",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        },
        ref=lambda name: name.lower(),
        get_att=lambda name, attribute: f"arn:aws:::{name}",
    )
    merged: dict[str, str] = {}
    for spec in function_specs(template, resolver).values():
        merged |= spec.environment
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONHASHSEED")}
    return {
        **keep,
        **merged,
        "PYTHONPATH": python_path(LAYER),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _run(function: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    child_env = {**env, "BENCH_EVENT_FILE": EVENT_FILES.get(function, "")}
    done = subprocess.run(
        [runtime_python(), "-s", str(CHILD), function],
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{function}: {done.stderr[-2000:]}")
    return elapsed


def python_path(layer: Path) -> str:
    """What Lambda's sys.path holds: the layer (/opt/python), then the runtime's boto3."""
    return os.pathsep.join([str(layer), str(RUNTIME)])


@cache
def runtime_python() -> str:
    """The Lambda runtime's Python (3.13); `make bench` puts pyenv's on PATH, as for `sam build`."""
    found = shutil.which("python3.13")
    if not found:
        raise SystemExit("cold_start needs python3.13 on PATH (the Lambda runtime's version)")
    return found


def prepare() -> None:
    """Build the layer with the same recipe as `sam build`, for this machine, and the runtime's boto3."""
    from importlib.metadata import version

    platform = f"manylinux2014_{os.uname().machine}"
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            str(ROOT / "layers/shared/Makefile"),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={BENCH / 'layer'}",
            f"PLATFORM={platform}",
            f"PYTHON={sys.executable}",
            f"RUNTIME_PYTHON={runtime_python()}",
        ],
        check=True,
    )
    shutil.rmtree(SOURCE_ONLY_LAYER, ignore_errors=True)
    shutil.copytree(LAYER, SOURCE_ONLY_LAYER, ignore=shutil.ignore_patterns("__pycache__"))
    if not (RUNTIME / "boto3").is_dir():
        subprocess.run(  # compiled by pip, as in the runtime's image
            [
                runtime_python(),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(RUNTIME),
                f"boto3=={version('boto3')}",
            ],
            check=True,
        )


def measure(runs: int = 7) -> list[dict[str, Any]]:
    """Per reference process and function: cold start with the layer as built, its ratio to the
    floor and to the libraries alone, and the same with a layer that ships no bytecode (what SAM's
    python3.13 build method makes)."""
    prepare()
    env = environment()
    source_only = {**env, "PYTHONPATH": python_path(SOURCE_ONLY_LAYER)}
    measured = [*REFERENCES, *EVENT_FILES]
    variants = {name: (name, env) for name in measured}
    for name in measured:
        if name != "floor":  # the floor loads nothing from the layer
            variants[f"{name} (no bytecode)"] = (name, source_only)
    for function, variant_env in variants.values():  # warm the OS file cache; no bytecode is written
        _run(function, variant_env)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, (function, variant_env) in variants.items():  # interleaved: drift hits all alike
            times[name].append(_run(function, variant_env))
    floor = statistics.median(times["floor"])
    libraries = statistics.median(times["floor + libraries"])
    rows = []
    for name in measured:
        built = statistics.median(times[name])
        without = statistics.median(times.get(f"{name} (no bytecode)", times[name]))
        rows.append(
            {
                "function": name,
                "cold_start_s": round(built, 3),
                "ratio": round(built / floor, 2),
                "goal": 1.3,
                "ratio_to_libraries": round(built / libraries, 2),
                "no_bytecode_s": round(without, 3),
                "no_bytecode_ratio": round(without / floor, 2),
            }
        )
    return rows


if __name__ == "__main__":
    for row in measure(runs=int(os.environ.get("RUNS", "5"))):
        print(row)
