"""The forwarding bench's setup (benchmarks/forwarding.py): the file, the servers it is forwarded
between (the AWS emulator, the api.video double), the stores and the bucket as the service leaves an
accepted upload, and what the bench checks on the double afterwards."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from children import Child, serve_until_stdin_closes

from local_stack.credentials import FUNCTIONS, TOOLS

MIB = 1024 * 1024
FILE_MIB = 256
CHUNK_BYTES = 50 * MIB
#: The peak RSS goal: one chunk + this.
RSS_ALLOWANCE_BYTES = 80 * MIB
THROUGHPUT_GOAL = 0.8
ROUNDS = 5
CALLS_CHUNK_BYTES = 5 * MIB
BUCKET = "forward-bench"
SECRET = "forward-bench/api-video-api-key"
OWNER = "bench-owner"
FILE_NAME = "bench.mp4"
#: An MP4's `ftyp` box, so the bytes look like what the service accepts.
HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
AWS_ENV = {
    **FUNCTIONS.environment(),  # what the strict emulator knows as the functions' credentials
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
}


def content(size: int, seed: int = 11) -> Iterator[bytes]:
    """The file's bytes, in blocks of at most 8 MiB: an MP4 header, then seeded random bytes."""
    rng = random.Random(seed)
    yield HEAD
    left = size - len(HEAD)
    while left > 0:
        block = rng.randbytes(min(8 * MIB, left))
        left -= len(block)
        yield block


# --- servers, each in a process of its own ---


def child_emulator(_: dict[str, Any]) -> None:
    from local_stack.emulator import Emulator

    emulator = Emulator(port=0)
    emulator.start()
    serve_until_stdin_closes({"endpoint": emulator.endpoint})
    emulator.stop()


def child_double(args: dict[str, Any]) -> None:
    from local_stack.video_double import VideoDouble, uploads

    if args.get("max_request_bytes"):
        # This process's double only: one request may carry the whole file (api.video: 200 MiB).
        uploads.MAX_REQUEST_BYTES = int(args["max_request_bytes"])
    double = VideoDouble(port=0, rate_limit_per_minute=100_000).start()
    serve_until_stdin_closes({"url": double.url, "apiKey": double.api_key})
    double.stop()


@contextmanager
def servers() -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    children = []
    try:
        for role, args in (("emulator", {}), ("double", {}), ("double", {"max_request_bytes": 2**40})):
            children.append(Child("forwarding_setup", f"child_{role}", args, AWS_ENV))
        yield children[0].answer, children[1].answer, children[2].answer
    finally:
        for child in children:
            child.stop()


def reset(url: str) -> None:
    import requests

    requests.post(f"{url}/_double/reset", timeout=60).raise_for_status()


def source_sha256(url: str, video_id: str) -> str:
    import hashlib

    import requests

    digest = hashlib.sha256()
    with requests.get(f"{url}/videos/{video_id}/source", stream=True, timeout=60) as response:
        response.raise_for_status()
        for block in response.iter_content(MIB):
            digest.update(block)
    return digest.hexdigest()


def boto_kwargs() -> dict[str, Any]:
    return {"region_name": AWS_ENV["AWS_DEFAULT_REGION"], **TOOLS.client_arguments()}


# --- an accepted upload, in process against moto ---


def provision(video_url: str, chunk_bytes: int) -> None:
    """The template's resources in moto and the forwarder's environment, as cost.Harness does."""
    from local_stack.functions import function_specs
    from local_stack.provision import Provisioner
    from local_stack.template import Resolver, load_template

    template = load_template()
    parameters = {
        "VideoPlatform": "apivideo",
        "ApiVideoBaseUrl": video_url,
        "ApiVideoApiKeySecret": SECRET,
        "ForwardChunkBytes": str(chunk_bytes),
    }
    provisioner = Provisioner(template, Resolver.parameter_values(template, parameters), "us-east-1", "bench")
    provisioner.provision_all()
    os.environ.update(function_specs(template, provisioner.resolver)["ForwardUploadFunction"].environment)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # no line per forwarded upload in the bench's output


def accepted_upload(size: int) -> Any:
    """A token with one ACCEPTED upload of `size` bytes in media/, written as the service writes it."""
    from upload_service.core.ids import generate_token
    from upload_service.core.records import TokenRecord, UploadRecord
    from upload_service.core.storage import default_storage
    from upload_service.data.repository import default_repository

    now = datetime.now(UTC)
    repo = default_repository()
    token = TokenRecord.new(generate_token(), OWNER, 3600, now)
    repo.create_token(token, max_live=10_000)
    upload = UploadRecord(
        token.ref, os.urandom(16).hex(), OWNER, FILE_NAME, size, "video/mp4", now, now + timedelta(minutes=10)
    )
    repo.start_upload(upload, allowance=3, attempts=50, retention=timedelta(days=1), now=now)
    storage = default_storage()
    storage.client.put_object(
        Bucket=storage.bucket, Key=upload.media_key, Body=b"".join(content(size)), ContentType="video/mp4"
    )
    stored = storage.head(upload.media_key)
    assert stored is not None
    return repo.accept_upload(upload, stored, now)
