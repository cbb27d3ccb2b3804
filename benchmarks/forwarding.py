"""Forwarding to api.video (issue 11 §6): throughput against a plain `requests` reference, the
forwarding process's peak RSS, and the calls one forwarded upload makes.

Throughput and memory: a 256 MiB file in chunks of 50 MiB (6 requests) to the api.video double.
- Forwarding is the real path: the object in S3 (moto's server, over HTTP), `ApiVideoUploader` ->
  `apivideo.upload` with `StoredRange`, one ranged GetObject per chunk streamed into the request
  body. It runs in a fresh process of its own, warm as a Lambda's second invocation is (S3 client,
  API key and bearer token already there), so its time, CPU and peak RSS are the forwarder's alone:
  the double and moto run in other processes.
- The reference is plain `requests.post` of the same 6 chunks, read into memory first: the same
  requests (the video's lookup and creation, then `Content-Range` and `videoId` on every chunk) to
  the same double, without S3 and without streaming. Why not one POST of the whole file, as the
  issue words it: the double refuses a request over 200 MiB, as api.video does, so that is not a
  request the forwarder could ever make. The
  chunked reference makes the double do exactly the same work for both sides, and the ratio is what
  reading from S3 and our client add. One POST of the whole file (to a second double whose
  per-request limit is raised in its own process, nothing in local_stack/ changed) is shown beside it.
- The forwarder waits for each GetObject's first byte (moto read a whole object, then a whole range,
  before answering, until `local_stack.moto_fixes.serve_ranges_from_the_buffer` made it stream):
  the forwarding row says how much of its time that was,
  timed in the same runs with botocore hooks, and a row without it gives our own share.
Each round runs the three in turn, each in a fresh process; figures are medians over the rounds
(peak RSS: the highest), and the first round's videos are checked byte for byte (sha256).

Calls per upload: `forwarding.forward_upload` through the real stores against moto (in process,
provisioned from template.yaml) and the double, for files of 1, 3 and 6 chunks of 5 MiB: DynamoDB
calls and items written, S3 and EventBridge calls (botocore event hooks, as cost.py counts) and
api.video requests. Expected: items written = chunks + a constant (4: the lease, the video's
record before any byte, the finish, the outcome event's claim), S3 GetObject = chunks, api.video
requests = chunks + 4 (the lookup of an earlier video, its creation, the upload token made and
deleted) + the sign-in, once per process.

Alone: `.venv/bin/python benchmarks/forwarding.py` (FORWARD_FILE_MIB, FORWARD_ROUNDS) prints the
tables without writing results.json.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local_stack.credentials import FUNCTIONS, TOOLS

ROOT = Path(__file__).resolve().parent.parent
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
#: What starts a child's answer line on its stdout (anything else there is a log line).
ANSWER = "@bench-answer "
AWS_ENV = {
    **FUNCTIONS.environment(),  # what the strict emulator knows as the functions' credentials
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
}


def _paths() -> None:
    for path in (str(ROOT / "layers" / "shared"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def content(size: int, seed: int = 11) -> Iterator[bytes]:
    """The file's bytes, in blocks of at most 8 MiB: an MP4 header, then seeded random bytes."""
    rng = random.Random(seed)
    yield HEAD
    left = size - len(HEAD)
    while left > 0:
        block = rng.randbytes(min(8 * MIB, left))
        left -= len(block)
        yield block


# --- child processes ---


class Child:
    """`python benchmarks/forwarding.py --child <role> <json>`: a server prints one JSON line (where it
    listens) and serves until its stdin closes; a worker prints one JSON line (its result) and ends."""

    def __init__(self, role: str, args: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", role, json.dumps(args)],
            cwd=ROOT,
            env={**os.environ, **AWS_ENV, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(ANSWER):
                self.answer: dict[str, Any] = json.loads(line.removeprefix(ANSWER))
                return
            sys.stderr.write(line)  # a log line of the code under test
        self.process.wait(timeout=30)
        raise RuntimeError(f"the {role} child failed (exit {self.process.returncode})")

    def stop(self) -> None:
        """Closes its stdin (a server stops) and waits for it to end."""
        try:
            rest, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
        sys.stderr.write(rest or "")


def run_child(role: str, args: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    child = Child(role, args, env)
    child.stop()
    if child.process.returncode:
        raise RuntimeError(f"the {role} child failed (exit {child.process.returncode})")
    return child.answer


def _answer(answer: dict[str, Any]) -> None:
    print(ANSWER + json.dumps(answer), flush=True)


def _serve_until_stdin_closes(answer: dict[str, Any]) -> None:
    _answer(answer)
    sys.stdin.read()


def child_emulator(_: dict[str, Any]) -> None:
    from local_stack.emulator import Emulator

    emulator = Emulator(port=0)
    emulator.start()
    _serve_until_stdin_closes({"endpoint": emulator.endpoint})
    emulator.stop()


def child_double(args: dict[str, Any]) -> None:
    from local_stack.video_double import VideoDouble, uploads

    if args.get("max_request_bytes"):
        # This process's double only: one request may carry the whole file (api.video: 200 MiB).
        uploads.MAX_REQUEST_BYTES = int(args["max_request_bytes"])
    double = VideoDouble(port=0, rate_limit_per_minute=100_000).start()
    _serve_until_stdin_closes({"url": double.url, "apiKey": double.api_key})
    double.stop()


def _rss() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


class _GetObjectWaits:
    """Seconds from sending each GetObject to its answer's headers: the emulator working, the
    forwarder idle."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._sent = 0.0

    def before(self, **_: Any) -> None:
        self._sent = time.perf_counter()

    def after(self, **_: Any) -> None:
        self.seconds.append(time.perf_counter() - self._sent)


def child_forward(args: dict[str, Any]) -> None:
    """One forward of the stored file through the real uploader; its time and this process's memory."""
    _paths()
    from upload_service import apivideo, outbound
    from upload_service.apivideo import Progress
    from upload_service.config import Settings
    from upload_service.records import UploadRecord, UploadStatus
    from upload_service.storage import Storage
    from upload_service.video_platform import ApiVideoUploader

    settings = Settings.model_validate(
        {
            "TABLE_NAME": "unused",
            "BUCKET_NAME": BUCKET,
            "VIDEO_PLATFORM": "apivideo",
            "API_VIDEO_BASE_URL": args["url"],
            "API_VIDEO_API_KEY_SECRET": SECRET,
            "FORWARD_CHUNK_BYTES": str(args["chunk_bytes"]),
        }
    )
    now = datetime.now(UTC)
    upload = UploadRecord(
        token_ref="0" * 32,
        upload_id=args["upload_id"],
        user_id=OWNER,
        file_name=FILE_NAME,
        file_size=args["size"],
        content_type="video/mp4",
        created_at=now,
        target_expires_at=now + timedelta(minutes=10),
        status=UploadStatus.ACCEPTED,
        object_size=args["size"],
        etag=args["etag"],
    )
    imported = _rss()["VmRSS"]
    # Warm, as a Lambda's second invocation is: the S3 client, the API key (cached 5 min) and the
    # bearer token (cached per process) are there already (the reference's token is outside its time).
    storage = Storage(BUCKET)
    waits = _GetObjectWaits()
    storage.client.meta.events.register("before-call.s3.GetObject", waits.before)
    storage.client.meta.events.register("after-call.s3.GetObject", waits.after)
    warm = apivideo.client(settings.api_video_base_url, apivideo.api_key(SECRET))
    warm.delete_upload_token(warm.create_upload_token(60))
    before = _rss()["VmRSS"]
    started, cpu = time.perf_counter(), time.process_time()
    with outbound.deadline(lambda: 900.0, margin=60) as deadline:
        uploader = ApiVideoUploader(settings, deadline, storage)
        done = uploader(upload, Progress(), lambda _: None)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    _answer(
        {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "get_object_waits": waits.seconds,
            "rss_imported": imported,
            "rss_before": before,
            "peak_rss": _rss()["VmHWM"],
            "video_id": done.video_id,
            "bytes_sent": done.bytes_sent,
            "retries": uploader.retries,
        }
    )


def child_reference(args: dict[str, Any]) -> None:
    """Plain `requests.post` of the file's bytes from memory: in its chunks, or whole (chunk_bytes 0)."""
    import requests

    url, size, chunk_bytes = args["url"], args["size"], args["chunk_bytes"] or args["size"]
    with open(args["path"], "rb") as file:
        chunks = [file.read(chunk_bytes) for _ in range(0, size, chunk_bytes)]
    bearer = requests.post(f"{url}/auth/api-key", json={"apiKey": args["apiKey"]}, timeout=10).json()
    authorization = {"Authorization": f"Bearer {bearer['access_token']}"}
    token = requests.post(
        f"{url}/upload-tokens", json={"ttl": 960}, headers=authorization, timeout=10
    ).json()["token"]
    first = 0
    started, cpu = time.perf_counter(), time.process_time()
    # the video first, as the forwarder makes it (its lookup of an earlier one included), under an
    # upload id of its own: the forwarder must not find this video
    upload_id = os.urandom(16).hex()
    metadata = [{"key": "uploadId", "value": upload_id}]
    requests.get(f"{url}/videos", params={"metadata[uploadId]": upload_id}, headers=authorization, timeout=10)
    video_id = requests.post(
        f"{url}/videos", json={"title": FILE_NAME, "metadata": metadata}, headers=authorization, timeout=10
    ).json()["videoId"]
    for chunk in chunks:
        last = first + len(chunk) - 1
        headers = {} if len(chunks) == 1 else {"Content-Range": f"bytes {first}-{last}/{size}"}
        response = requests.post(
            f"{url}/upload",
            params={"token": token},
            data={"videoId": video_id},
            files={"file": (FILE_NAME, chunk, "video/mp4")},
            headers=headers,
            timeout=300,
        )
        response.raise_for_status()
        video_id = response.json()["videoId"]
        first = last + 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    _answer({"seconds": seconds, "cpu_seconds": cpu, "video_id": video_id})


# --- throughput and memory ---


@contextmanager
def _servers() -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    children = []
    try:
        for role, args in (("emulator", {}), ("double", {}), ("double", {"max_request_bytes": 2**40})):
            children.append(Child(role, args))
        yield children[0].answer, children[1].answer, children[2].answer
    finally:
        for child in children:
            child.stop()


def measure_throughput(
    file_mib: int = FILE_MIB, rounds: int = ROUNDS, chunk_bytes: int = CHUNK_BYTES
) -> dict[str, list[dict[str, Any]]]:
    """Rounds of (chunked reference, forwarding, whole-file reference), each a fresh process; the
    first round's videos are checked byte for byte (sha256) on the double."""
    import hashlib

    import boto3

    size = file_mib * MIB
    workdir = Path(tempfile.mkdtemp(prefix="forward-bench-"))
    path = workdir / FILE_NAME
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for block in content(size):
            digest.update(block)
            file.write(block)
    upload_id = os.urandom(16).hex()
    key = f"media/{OWNER}/{upload_id}/{FILE_NAME}"
    runs: dict[str, list[dict[str, Any]]] = {"chunked": [], "forward": [], "whole": []}
    try:
        with _servers() as (emulator, double, big_double):
            aws = {"endpoint_url": emulator["endpoint"], **_boto_kwargs()}
            s3 = boto3.client("s3", **aws)
            s3.create_bucket(Bucket=BUCKET)
            s3.upload_file(str(path), BUCKET, key)
            etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
            boto3.client("secretsmanager", **aws).create_secret(Name=SECRET, SecretString=double["apiKey"])
            common = {"size": size, "chunk_bytes": chunk_bytes, "path": str(path)}
            for index in range(rounds):
                for url in (double["url"], big_double["url"]):
                    _reset(url)  # the last round's videos deleted, rate windows emptied
                runs["chunked"].append(run_child("reference", {**common, **double}))
                runs["forward"].append(
                    run_child(
                        "forward",
                        {**common, "url": double["url"], "upload_id": upload_id, "etag": etag},
                        {"AWS_ENDPOINT_URL": emulator["endpoint"]},
                    )
                )
                if index == 0:
                    for run in (runs["chunked"][0], runs["forward"][0]):
                        assert _source_sha256(double["url"], run["video_id"]) == digest.hexdigest(), run
                runs["whole"].append(run_child("reference", {**common, **big_double, "chunk_bytes": 0}))
    finally:
        path.unlink(missing_ok=True)
        workdir.rmdir()
    return _throughput_rows(size, chunk_bytes, runs)


def _reset(url: str) -> None:
    import requests

    requests.post(f"{url}/_double/reset", timeout=60).raise_for_status()


def _source_sha256(url: str, video_id: str) -> str:
    import hashlib

    import requests

    digest = hashlib.sha256()
    with requests.get(f"{url}/videos/{video_id}/source", stream=True, timeout=60) as response:
        response.raise_for_status()
        for block in response.iter_content(MIB):
            digest.update(block)
    return digest.hexdigest()


def _boto_kwargs() -> dict[str, Any]:
    return {"region_name": AWS_ENV["AWS_DEFAULT_REGION"], **TOOLS.client_arguments()}


def _throughput_rows(
    size: int, chunk_bytes: int, runs: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    mib = size / MIB
    chunks = -(-size // chunk_bytes)
    forwards = runs["forward"]
    for run in forwards:
        assert run["bytes_sent"] == size, run
        run["moto_wait_seconds"] = sum(run["get_object_waits"])
        run["less_moto_seconds"] = run["seconds"] - run["moto_wait_seconds"]

    def median(kind: str, field: str = "seconds") -> float:
        return float(statistics.median(run[field] for run in runs[kind]))

    reference = median("chunked")

    def row(what: str, seconds: float, cpu: float | None, goal: bool, notes: str) -> dict[str, Any]:
        ratio = reference / seconds
        return {
            "path": what,
            "seconds": round(seconds, 2),
            "mib_per_s": round(mib / seconds),
            "cpu_s": "" if cpu is None else round(cpu, 2),
            "ratio": round(ratio, 2),
            "goal": f">= {THROUGHPUT_GOAL}: {'met' if ratio >= THROUGHPUT_GOAL else 'NOT met'}"
            if goal
            else "",
            "notes": notes,
        }

    forward = median("forward")
    rows = [
        row(
            f"reference: plain requests.post of the {chunks} chunks, from memory",
            reference,
            median("chunked", "cpu_seconds"),
            False,
            "the same requests (Content-Range, videoId) to the same double; no S3, no streaming",
        ),
        row(
            f"forwarding: S3 (moto server) -> ApiVideoUploader, {chunks} chunks",
            forward,
            median("forward", "cpu_seconds"),
            True,
            f"the real path; {median('forward', 'moto_wait_seconds'):.2f} s of it waiting for moto's"
            f" GetObject answers; {max(f['retries'] for f in forwards)} retries; bytes checked by sha256",
        ),
        row(
            "forwarding, less its waits for moto's GetObject answers",
            median("forward", "less_moto_seconds"),
            None,
            True,
            "our own share: the emulator's time to a GetObject's first byte taken out",
        ),
        row(
            "plain requests.post of the whole file, one request",
            median("whole"),
            median("whole", "cpu_seconds"),
            False,
            f"to a double allowed > 200 MiB a request (api.video is not); forwarding / it"
            f" = {median('whole') / forward:.2f}",
        ),
    ]
    peak = max(f["peak_rss"] for f in forwards)
    before = statistics.median(f["rss_before"] for f in forwards)
    bound = chunk_bytes + RSS_ALLOWANCE_BYTES
    memory = {
        "file_mib": round(mib),
        "chunk_mib": round(chunk_bytes / MIB, 1),
        "rss_imports_mib": round(statistics.median(f["rss_imported"] for f in forwards) / MIB, 1),
        "rss_before_mib": round(before / MIB, 1),
        "peak_rss_mib": round(peak / MIB, 1),
        "peak_minus_before_mib": round((peak - before) / MIB, 1),
        "bound_mib": bound // MIB,
        "goal": f"peak <= one chunk + 80 MiB: {'met' if peak <= bound else 'NOT met'}",
    }
    return {"throughput": rows, "memory": [memory]}


# --- calls per forwarded upload ---


def child_calls(args: dict[str, Any]) -> None:
    """In process: moto (mock_aws) provisioned from template.yaml, the double in a thread; one row per
    file size, counting only what `forward_upload` does."""
    from moto import mock_aws

    from local_stack.video_double import VideoDouble

    os.environ.update(AWS_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    chunk_bytes = int(args["chunk_bytes"])
    with VideoDouble(port=0) as double, mock_aws():
        _provision(double.url, chunk_bytes)
        import boto3

        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=double.api_key)
        rows = [_forward_counted(double, chunks, chunk_bytes) for chunks in args["chunks"]]
    _answer({"rows": rows})


def _provision(video_url: str, chunk_bytes: int) -> None:
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


def _forward_counted(double: Any, chunks: int, chunk_bytes: int) -> dict[str, Any]:
    from cost import Tally

    from upload_service import aws, forwarding, outbound
    from upload_service.config import get_settings
    from upload_service.data.forwarding import ForwardingStore
    from upload_service.data.table import default_store
    from upload_service.data.uploads import UploadStore
    from upload_service.video_platform import ApiVideoUploader

    size = (chunks - 1) * chunk_bytes + chunk_bytes // 2
    upload = _accepted_upload(size)
    requests_before = double.upload_requests
    dynamodb, s3, events = Tally(), Counter[str](), Counter[str]()
    hooks = [
        (aws.dynamodb(), "provide-client-params.dynamodb", dynamodb.params),
        (aws.dynamodb(), "after-call.dynamodb", dynamodb.after),
        (aws.client("s3"), "before-call.s3", lambda model, **_: s3.update([model.name])),
        (aws.client("events"), "before-call.events", lambda model, **_: events.update([model.name])),
    ]
    api_video: list[str] = []
    http_hooks = outbound.session().hooks["response"]
    http_hooks.append(lambda response, **_: api_video.append(response.request.method))
    for client, name, hook in hooks:
        client.meta.events.register(name, hook)
    try:
        with outbound.deadline(lambda: 900.0, margin=60) as deadline:
            outcome = forwarding.forward_upload(
                upload.upload_id,
                uploads=default_store(UploadStore),
                store=default_store(ForwardingStore),
                uploader=ApiVideoUploader(get_settings(), deadline),
                owner="bench-forwarder",
                now=int(time.time()),
                lease_seconds=900,
            )
    finally:
        http_hooks.pop()
        for client, name, hook in hooks:
            client.meta.events.unregister(name, hook)
    assert outcome.result == "forwarded", outcome
    video = double.video_stats(str(outcome.detail))
    assert video["complete"] and video["bytesReceived"] == size, video
    writes = dynamodb.written
    return {
        "chunks": chunks,
        "file_mib": round(size / MIB, 1),
        "dynamodb_calls": len(dynamodb.calls),
        "items_written": writes,
        "writes_minus_chunks": writes - chunks,
        "s3_get_object": s3["GetObject"],
        "s3_calls": sum(s3.values()),
        "eventbridge_calls": sum(events.values()),
        "api_video_calls": len(api_video),
        "upload_requests": double.upload_requests - requests_before,
        "dynamodb": ", ".join(f"{name} x{n}" for name, n in Counter(dynamodb.calls).items()),
    }


def _accepted_upload(size: int) -> Any:
    """A token with one ACCEPTED upload of `size` bytes in media/, written as the service writes it."""
    from upload_service.ids import generate_token
    from upload_service.records import TokenRecord, UploadRecord
    from upload_service.repository import default_repository
    from upload_service.storage import default_storage

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


def measure_calls(
    chunks: tuple[int, ...] = (1, 3, 6), chunk_bytes: int = CALLS_CHUNK_BYTES
) -> list[dict[str, Any]]:
    """One row per file (in a fresh process: moto's mock and the settings stay out of the caller)."""
    rows: list[dict[str, Any]] = run_child("calls", {"chunks": list(chunks), "chunk_bytes": chunk_bytes})[
        "rows"
    ]
    constants = {row["writes_minus_chunks"] for row in rows}
    for row in rows:
        formula = len(constants) == 1 and row["s3_get_object"] == row["chunks"]
        row["goal"] = f"writes = chunks + {row['writes_minus_chunks']}, GETs = chunks: " + (
            "met" if formula else "NOT met"
        )
    return rows


def main_child(role: str, args: dict[str, Any]) -> None:
    {
        "emulator": child_emulator,
        "double": child_double,
        "forward": child_forward,
        "reference": child_reference,
        "calls": child_calls,
    }[role](args)


#: results.json's keys and the titles of their tables in `make bench`'s output.
TABLES = {
    "forwarding_throughput": f"Forwarding a {FILE_MIB} MiB file to the api.video double in chunks of"
    f" {CHUNK_BYTES // MIB} MiB (median of {ROUNDS} rounds of fresh processes; ratio: throughput over"
    f" the plain requests reference's, goal >= {THROUGHPUT_GOAL})",
    "forwarding_memory": "Peak RSS of the forwarding process (goal: one chunk + 80 MiB)",
    "forwarding_calls": f"Calls per forwarded upload, chunks of {CALLS_CHUNK_BYTES // MIB} MiB"
    " (goal: DynamoDB items written = chunks + a constant, S3 GetObject = chunks)",
}


def measure(file_mib: int = FILE_MIB, rounds: int = ROUNDS) -> dict[str, list[dict[str, Any]]]:
    """Everything `make bench` shows of forwarding, by results.json key (TABLES)."""
    moved = measure_throughput(file_mib, rounds)
    return {
        "forwarding_throughput": moved["throughput"],
        "forwarding_memory": moved["memory"],
        "forwarding_calls": measure_calls(),
    }


if __name__ == "__main__":
    _paths()
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        main_child(sys.argv[2], json.loads(sys.argv[3]))
    else:  # this part of `make bench` alone: its tables, results.json left as it is
        from run import table

        figures = measure(
            int(os.environ.get("FORWARD_FILE_MIB", FILE_MIB)), int(os.environ.get("FORWARD_ROUNDS", ROUNDS))
        )
        for key, title in TABLES.items():
            print(table(title, figures[key]))
