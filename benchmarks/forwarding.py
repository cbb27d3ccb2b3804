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

Calls per upload: `forwarder.forward_upload` through the real stores against moto (in process,
provisioned from template.yaml) and the double, for files of 1, 3 and 6 chunks of 5 MiB: DynamoDB
calls and items written, S3 and EventBridge calls (botocore event hooks, as cost.py counts) and
api.video requests. Expected: items written = chunks + a constant (4: the lease, the video's
record before any byte, the finish, the outcome event's claim), S3 GetObject = chunks, api.video
requests = chunks + 4 (the lookup of an earlier video, its creation, the upload token made and
deleted) + the sign-in, once per process.

Alone: `.venv/bin/python benchmarks/forwarding.py` (FORWARD_FILE_MIB, FORWARD_ROUNDS) prints the
tables without writing results.json. The servers, the file and the accepted upload are set up by
forwarding_setup.py; what runs in the child processes is in forwarding_runs.py; here, the rounds and
the tables.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from children import run_child
from forwarding_setup import (
    AWS_ENV,
    BUCKET,
    CALLS_CHUNK_BYTES,
    CHUNK_BYTES,
    FILE_MIB,
    FILE_NAME,
    MIB,
    OWNER,
    ROUNDS,
    RSS_ALLOWANCE_BYTES,
    SECRET,
    THROUGHPUT_GOAL,
    boto_kwargs,
    content,
    reset,
    servers,
    source_sha256,
)

# --- throughput and memory ---


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
        with servers() as (emulator, double, big_double):
            aws = {"endpoint_url": emulator["endpoint"], **boto_kwargs()}
            s3 = boto3.client("s3", **aws)
            s3.create_bucket(Bucket=BUCKET)
            s3.upload_file(str(path), BUCKET, key)
            etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
            boto3.client("secretsmanager", **aws).create_secret(Name=SECRET, SecretString=double["apiKey"])
            common = {"size": size, "chunk_bytes": chunk_bytes, "path": str(path)}
            for index in range(rounds):
                for url in (double["url"], big_double["url"]):
                    reset(url)  # the last round's videos deleted, rate windows emptied
                runs["chunked"].append(
                    run_child("forwarding_runs", "child_reference", {**common, **double}, AWS_ENV)
                )
                runs["forward"].append(
                    run_child(
                        "forwarding_runs",
                        "child_forward",
                        {**common, "url": double["url"], "upload_id": upload_id, "etag": etag},
                        {**AWS_ENV, "AWS_ENDPOINT_URL": emulator["endpoint"]},
                    )
                )
                if index == 0:
                    for run in (runs["chunked"][0], runs["forward"][0]):
                        assert source_sha256(double["url"], run["video_id"]) == digest.hexdigest(), run
                runs["whole"].append(
                    run_child(
                        "forwarding_runs",
                        "child_reference",
                        {**common, **big_double, "chunk_bytes": 0},
                        AWS_ENV,
                    )
                )
    finally:
        path.unlink(missing_ok=True)
        workdir.rmdir()
    return _throughput_rows(size, chunk_bytes, runs)


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


def measure_calls(
    chunks: tuple[int, ...] = (1, 3, 6), chunk_bytes: int = CALLS_CHUNK_BYTES
) -> list[dict[str, Any]]:
    """One row per file (in a fresh process: moto's mock and the settings stay out of the caller)."""
    args = {"chunks": list(chunks), "chunk_bytes": chunk_bytes}
    rows: list[dict[str, Any]] = run_child("forwarding_runs", "child_calls", args, AWS_ENV)["rows"]
    constants = {row["writes_minus_chunks"] for row in rows}
    for row in rows:
        formula = len(constants) == 1 and row["s3_get_object"] == row["chunks"]
        row["goal"] = f"writes = chunks + {row['writes_minus_chunks']}, GETs = chunks: " + (
            "met" if formula else "NOT met"
        )
    return rows


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


if __name__ == "__main__":  # this part of `make bench` alone: its tables, results.json left as it is
    from tables import table

    figures = measure(
        int(os.environ.get("FORWARD_FILE_MIB", FILE_MIB)), int(os.environ.get("FORWARD_ROUNDS", ROUNDS))
    )
    for key, title in TABLES.items():
        print(table(title, figures[key]))
