"""`python -m local_stack.video_double`: the api.video double alone, until Ctrl-C.

Environment: VIDEO_PORT (5050; 0 = any free port), HOST (127.0.0.1), VIDEO_API_KEY (the key it
accepts; a new random one if unset), VIDEO_INFO_FILE (.local/video-double.json). It prints its URL,
never the key: `{"url", "apiKey"}` go to the info file.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

from local_stack.video_double import VideoDouble

ROOT = Path(__file__).resolve().parents[2]


def write_info(info: dict[str, str], path: Path) -> None:
    """Whole or not at all (a rename), as the local stack writes stack.json."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info, indent=2) + "\n")
    partial.replace(path)


def main() -> None:
    info_file = Path(os.environ.get("VIDEO_INFO_FILE", str(ROOT / ".local" / "video-double.json")))
    double = VideoDouble(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("VIDEO_PORT", "5050")),
        api_key=os.environ.get("VIDEO_API_KEY") or None,
    ).start()
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        write_info({"url": double.url, "apiKey": double.api_key}, info_file)
        print(
            f"api.video double on {double.url}  (URL and API key in {info_file}; Ctrl-C stops it)", flush=True
        )
        stopping.wait()
    finally:
        double.stop()


if __name__ == "__main__":
    main()
