"""Built size of each function and of the layer (`sam build`, unzipped)."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _tree_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def measure() -> list[dict[str, Any]]:
    python313 = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin")))
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "PATH": os.pathsep.join([*python313, str(ROOT / ".venv" / "bin"), os.environ["PATH"]]),
    }
    subprocess.run(
        ["sam", "build", "--cached", "--parallel"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    build = ROOT / ".aws-sam" / "build"
    return [
        {"artifact": path.name, "unzipped_kib": round(_tree_bytes(path) / 1024, 1)}
        for path in sorted(build.iterdir())
        if path.is_dir()
    ]


if __name__ == "__main__":
    for r in measure():
        print(r)
