"""The large-uploads bench's throughput rounds (benchmarks/multipart.py): a multipart upload through
the Companion routes of a local stack against one direct S3 PUT of the same bytes."""

from __future__ import annotations

import hashlib
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from multipart_setup import (
    FILE_MIB,
    FILE_NAME,
    GOAL,
    IN_FLIGHT,
    MIB,
    PART_MIB,
    REFERENCE_BUCKET,
    ROUNDS,
    STACK_PARAMETERS,
    batches,
    content,
    parts_of,
    paths,
)


def measure_throughput(
    file_mib: int = FILE_MIB, part_mib: int = PART_MIB, rounds: int = ROUNDS
) -> list[dict[str, Any]]:
    paths()
    import requests

    from tests.conftest import new_user, running_stack

    size, part_bytes = file_mib * MIB, part_mib * MIB
    data = content(size)
    parts = parts_of(data, part_bytes)
    digest = hashlib.sha256(data).hexdigest()
    runs: dict[str, list[float]] = {
        name: []
        for name in ("reference", "raw", "raw_complete", "routes", "before", "puts", "complete", "accepted")
    }
    with (
        tempfile.TemporaryDirectory(prefix="multipart-bench-") as workdir,
        running_stack(Path(workdir), STACK_PARAMETERS) as stack,
    ):
        user = new_user(stack)
        s3 = stack.client("s3")
        s3.create_bucket(Bucket=REFERENCE_BUCKET)
        put_url = s3.generate_presigned_url(
            "put_object", Params={"Bucket": REFERENCE_BUCKET, "Key": FILE_NAME}, ExpiresIn=3600
        )
        minted = requests.post(
            f"{stack.api}/upload-tokens", json={"ttl": 3600}, headers=user.headers(), timeout=10
        )
        minted.raise_for_status()
        token = minted.json()["token"]
        base = f"{stack.api}/uploads/{token}/s3"
        for index in range(rounds):
            started = time.perf_counter()
            requests.put(put_url, data=data, timeout=300).raise_for_status()
            runs["reference"].append(time.perf_counter() - started)
            s3.delete_object(Bucket=REFERENCE_BUCKET, Key=FILE_NAME)
            raw, raw_complete = _raw_multipart(s3, parts)
            runs["raw"].append(raw)
            runs["raw_complete"].append(raw_complete)

            upload, timings = _multipart(base, parts)
            t0 = timings.pop("t0")
            for name, seconds in timings.items():
                runs[name].append(seconds)
            runs["accepted"].append(_accepted(stack.api, user.headers(), token, upload["uploadId"]) - t0)
            media = {
                "Bucket": stack.info["bucketName"],
                "Key": f"media/{user.sub}/{upload['uploadId']}/{FILE_NAME}",
            }
            _wait_for(s3, media)  # copied to media/ just after the decision
            if index == 0:
                stored = hashlib.sha256(s3.get_object(**media)["Body"].read()).hexdigest()
                assert stored == digest, "the accepted object is not the file's bytes"
            s3.delete_object(**media)  # the emulator keeps objects in memory
    return _throughput_rows(size, len(parts), part_mib, runs)


def _put_parts(urls: dict[str, str], parts: list[bytes]) -> list[dict[str, Any]]:
    """The parts to their presigned URLs, `IN_FLIGHT` at a time, as Uppy sends them."""
    import requests

    def put(number: int) -> dict[str, Any]:
        sent = requests.put(urls[str(number)], data=parts[number - 1], timeout=300)
        assert sent.status_code == 200, sent.text
        return {"PartNumber": number, "ETag": sent.headers["ETag"]}

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        return list(pool.map(put, range(1, len(parts) + 1)))


def _raw_multipart(s3: Any, parts: list[bytes]) -> tuple[float, float]:
    """The same multipart upload straight to the emulator (boto3 and presigned part URLs, no routes):
    its time, and its CompleteMultipartUpload's."""
    started = time.perf_counter()
    where = {"Bucket": REFERENCE_BUCKET, "Key": FILE_NAME}
    upload_id = s3.create_multipart_upload(**where, ContentType="video/mp4")["UploadId"]
    urls = {
        str(n): s3.generate_presigned_url(
            "upload_part", Params={**where, "UploadId": upload_id, "PartNumber": n}, ExpiresIn=3600
        )
        for n in range(1, len(parts) + 1)
    }
    refs = _put_parts(urls, parts)
    completing = time.perf_counter()
    s3.complete_multipart_upload(**where, UploadId=upload_id, MultipartUpload={"Parts": refs})
    done = time.perf_counter()
    s3.delete_object(**where)
    return done - started, done - completing


def _multipart(base: str, parts: list[bytes]) -> tuple[dict[str, Any], dict[str, float]]:
    """Uppy's sequence; its start time (`t0`, perf_counter) and how long each stage took."""
    import requests

    t0 = time.perf_counter()
    body = {"filename": FILE_NAME, "type": "video/mp4", "metadata": {"name": FILE_NAME, "type": "video/mp4"}}
    started = requests.post(f"{base}/multipart", json=body, timeout=30)
    assert started.status_code == 200, started.text
    upload = started.json()
    query = {"key": upload["key"]}
    urls: dict[str, str] = {}
    for numbers in batches(len(parts)):
        signed = requests.get(
            f"{base}/multipart/{upload['uploadId']}/batch",
            params={**query, "partNumbers": numbers},
            timeout=30,
        )
        assert signed.status_code == 200, signed.text
        urls.update(signed.json()["presignedUrls"])
    t_signed = time.perf_counter()
    refs = _put_parts(urls, parts)
    t_put = time.perf_counter()
    completed = requests.post(
        f"{base}/multipart/{upload['uploadId']}/complete", params=query, json={"parts": refs}, timeout=300
    )
    assert completed.status_code == 200, completed.text
    done = time.perf_counter()
    return upload, {
        "t0": t0,
        "routes": done - t0,
        "before": t_signed - t0,
        "puts": t_put - t_signed,
        "complete": done - t_put,
    }


def _accepted(api: str, headers: dict[str, str], token: str, upload_id: str, timeout: float = 120) -> float:
    """perf_counter when `GET /upload-tokens/{token}` first shows the upload ACCEPTED."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        view = requests.get(f"{api}/upload-tokens/{token}", headers=headers, timeout=10).json()
        upload = next(u for u in view["uploads"] if u["uploadId"] == upload_id)
        if upload["status"] != "PENDING":
            assert upload["status"] == "ACCEPTED", upload
            return time.perf_counter()
        assert time.monotonic() < deadline, f"still PENDING after {timeout} s"
        time.sleep(0.05)


def _wait_for(s3: Any, where: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            s3.head_object(**where)
            return
        except s3.exceptions.ClientError:
            assert time.monotonic() < deadline, f"{where['Key']} not there after {timeout} s"
            time.sleep(0.1)


def _throughput_rows(
    size: int, parts: int, part_mib: int, runs: dict[str, list[float]]
) -> list[dict[str, Any]]:
    mib = size / MIB
    median = {name: float(statistics.median(values)) for name, values in runs.items()}
    reference = median["reference"]

    def row(path: str, seconds: float, goal: bool, notes: str) -> dict[str, Any]:
        ratio = reference / seconds
        return {
            "path": path,
            "seconds": round(seconds, 2),
            "mib_per_s": round(mib / seconds),
            "ratio": round(ratio, 2),
            "goal": f">= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'}" if goal else "",
            "notes": notes,
        }

    rounds = len(runs["reference"])
    return [
        row(
            f"reference: one S3 PUT of the {round(mib)} MiB file",
            reference,
            False,
            "requests.put to a presigned PutObject URL of the same emulator, from memory",
        ),
        row(
            f"multipart through the routes: {parts} parts of {part_mib} MiB, {IN_FLIGHT} in flight",
            median["routes"],
            True,
            f"start, {len(batches(parts))} batch sign, PUT parts (requests, {IN_FLIGHT} threads), complete;"
            f" {median['before']:.2f} s to start and sign, {median['puts']:.2f} s in the part PUTs,"
            f" {median['complete']:.2f} s to complete;"
            f" median of {rounds}; bytes checked by sha256",
        ),
        row(
            "multipart through the routes, up to the complete request",
            median["before"] + median["puts"],
            True,
            "start, sign and the part PUTs: the complete request is mostly moto's CompleteMultipartUpload,"
            " which copies the parts into one object and hashes it before answering",
        ),
        row(
            f"the same multipart upload straight to the emulator (no routes), {IN_FLIGHT} in flight",
            median["raw"],
            False,
            f"boto3 create/complete, the same part PUTs; {median['raw_complete']:.2f} s in moto's"
            f" CompleteMultipartUpload; routes / it = {median['raw'] / median['routes']:.2f}",
        ),
        row(
            "multipart, until the upload is ACCEPTED",
            median["accepted"],
            False,
            "the landing checks and the copy to media/ done (polled every 50 ms)",
        ),
    ]
