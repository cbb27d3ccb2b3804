"""Large uploads (issue 12 §5): a multipart upload through Uppy's Companion routes against one direct
S3 PUT of the same bytes, and the API calls and DynamoDB work per multipart upload by part count.

Throughput: a local stack (`tests.conftest.running_stack`, `python -m local_stack` in a child process,
MaxUploadBytes 512 MiB) and a fresh Cognito user. A 256 MiB file (clip.mp4's bytes, then seeded
random bytes, so the landing check accepts it) goes up as Uppy sends it: `POST /s3/multipart`, one
`GET .../batch` signing all 16 parts, the 16 parts of 16 MiB PUT with `requests` to their presigned
URLs from 4 threads (4 parts in flight), `POST .../complete`. The reference is one `requests.put` of
the same bytes (already in memory, as the parts are) to a presigned PutObject URL of the same
emulator, in a bucket of its own (no landing). Each round runs both; figures are medians over the
rounds; the first round's accepted object is checked byte for byte (sha256). The time until the
upload is ACCEPTED (landing checks done, polled on `GET /upload-tokens/{token}`) is a row of its own.

Calls: the template's functions run in process against moto (`mock_aws`, provisioned from
template.yaml by cost.py's Harness), in a child process so the mock and the cached settings stay out
of the caller. API Gateway events are built per route; the parts go to their presigned URLs (moto
answers those in process too); DynamoDB calls and items are counted with cost.py's botocore hooks
around each handler invocation, the landing (process-upload, from the S3 event on SQS) included.
Signing is counted twice: in batches (what the bench's client does) and one request per part.

Alone: `.venv/bin/python benchmarks/multipart.py` (MULTIPART_FILE_MIB, MULTIPART_ROUNDS) prints the
tables without writing results.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
FILE_MIB = 256
PART_MIB = 16
IN_FLIGHT = 4
ROUNDS = 3
GOAL = 0.8
COUNT_PARTS = (1, 4, 16)
#: S3's smallest part (all but the last): what the calls are counted with.
COUNT_PART_BYTES = 5 * MIB
#: Part URLs the client asks for in one batch request (the route's own limit is 100).
BATCH = 100
STACK_PARAMETERS = (
    f"MaxUploadBytes={512 * MIB} UploadsPerToken=100 UploadRateLimitPerMinute=1000 RateLimitPerMinute=100000 "
    "MaxActiveTokensPerUser=100 UploadTargetTtlSeconds=900 CleanupSchedule='rate(1 day)'"
)
REFERENCE_BUCKET = "multipart-bench-reference"
FILE_NAME = "bench.mp4"
CLIP_MP4 = (ROOT / "tests" / "fixtures" / "content" / "clip.mp4").read_bytes()
#: What starts a child's answer line on its stdout (anything else there is a log line).
ANSWER = "@bench-answer "


def _paths() -> None:
    for path in (str(ROOT / "layers" / "shared"), str(ROOT), str(ROOT / "benchmarks")):
        if path not in sys.path:
            sys.path.insert(0, path)


def content(size: int, seed: int = 12) -> bytes:
    """A real MP4 header (clip.mp4's bytes), then seeded random bytes: `size` in all."""
    head = CLIP_MP4[:size]
    return head + random.Random(seed).randbytes(size - len(head))


def parts_of(data: bytes, part_bytes: int) -> list[bytes]:
    return [data[start : start + part_bytes] for start in range(0, len(data), part_bytes)]


def _batches(count: int) -> list[str]:
    return [
        ",".join(str(n) for n in range(first, min(first + BATCH, count + 1)))
        for first in range(1, count + 1, BATCH)
    ]


# --- throughput: the routes against one direct PUT, through a local stack ---


def measure_throughput(
    file_mib: int = FILE_MIB, part_mib: int = PART_MIB, rounds: int = ROUNDS
) -> list[dict[str, Any]]:
    _paths()
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
    for numbers in _batches(len(parts)):
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
            f"start, {len(_batches(parts))} batch sign, PUT parts (requests, {IN_FLIGHT} threads), complete;"
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


# --- calls and DynamoDB work by part count, in process against moto ---


def measure_calls(parts: tuple[int, ...] = COUNT_PARTS, part_bytes: int = COUNT_PART_BYTES) -> dict[str, Any]:
    """`{"by_parts": rows, "by_route": rows}`, counted in a fresh process."""
    done = subprocess.run(
        [sys.executable, __file__, "--calls", json.dumps({"parts": list(parts), "part_bytes": part_bytes})],
        cwd=ROOT,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(ANSWER)]
    answer: dict[str, Any] = json.loads(lines[-1].removeprefix(ANSWER))
    return answer


class _Routes:
    """The multipart function's routes as API Gateway invokes them, each counted (cost.Tally)."""

    def __init__(self, harness: Any, token: str) -> None:
        self.harness = harness
        self.token = token
        self.template: dict[str, Any] = json.loads((ROOT / "events" / "multipart_upload.json").read_text())
        self.counted: list[tuple[str, Any]] = []

    def call(self, method: str, route: str, path: str, query: dict[str, str], body: Any = None) -> Any:
        from urllib.parse import urlencode

        raw_path = f"/uploads/{self.token}/s3{path}"
        route_key = f"{method} /uploads/{{uploadToken}}/s3{route}"
        names = [part.strip("{}") for part in route.split("/") if part.startswith("{")]
        values = [
            value
            for value, part in zip(path.split("/"), route.split("/"), strict=True)
            if part.startswith("{")
        ]
        event = json.loads(json.dumps(self.template))
        event.update(
            routeKey=route_key,
            rawPath=raw_path,
            rawQueryString=urlencode(query),
            pathParameters={"uploadToken": self.token, **dict(zip(names, values, strict=True))},
            body=None if body is None else json.dumps(body),
        )
        if query:
            event["queryStringParameters"] = query
        event["requestContext"].update(
            routeKey=route_key, http={**event["requestContext"]["http"], "method": method, "path": raw_path}
        )
        tally, result = self.harness.count("MultipartUploadFunction", event)
        assert result["statusCode"] == 200, result
        self.counted.append((f"{method} {route}", tally))
        return json.loads(result["body"])


def _one_upload(harness: Any, parts: int, part_bytes: int, batch: bool) -> list[tuple[str, Any]]:
    """One multipart upload of `parts` parts, start to landing: (route, tally) per request."""
    from datetime import UTC, datetime

    import requests

    from upload_service.core.ids import generate_token
    from upload_service.core.records import TokenRecord
    from upload_service.data.repository import default_repository

    token = generate_token()
    default_repository().create_token(
        TokenRecord.new(token, "bench-user", 3600, datetime.now(UTC)), max_live=100_000
    )
    routes = _Routes(harness, token)
    upload = routes.call("POST", "/multipart", "/multipart", {}, {"filename": FILE_NAME, "type": "video/mp4"})
    query = {"key": upload["key"]}
    upload_id = upload["uploadId"]
    urls: dict[str, str] = {}
    if batch:
        for numbers in _batches(parts):
            signed = routes.call(
                "GET",
                "/multipart/{uploadId}/batch",
                f"/multipart/{upload_id}/batch",
                {**query, "partNumbers": numbers},
            )
            urls.update(signed["presignedUrls"])
    else:
        for number in range(1, parts + 1):
            signed = routes.call(
                "GET", "/multipart/{uploadId}/{partNumber}", f"/multipart/{upload_id}/{number}", query
            )
            urls[str(number)] = signed["url"]
    data = content(part_bytes * (parts - 1) + part_bytes // 2)
    refs = []
    for number, part in enumerate(parts_of(data, part_bytes), start=1):
        sent = requests.put(urls[str(number)], data=part, timeout=60)  # moto's mock answers it in process
        assert sent.status_code == 200, sent.text
        refs.append({"PartNumber": number, "ETag": sent.headers["ETag"]})
    routes.call(
        "POST", "/multipart/{uploadId}/complete", f"/multipart/{upload_id}/complete", query, {"parts": refs}
    )
    return [*routes.counted, ("landing (process-upload)", _land(harness, upload["key"]))]


def _land(harness: Any, key: str) -> Any:
    """The S3 event of the completed object, through process-upload as SQS delivers it."""
    from datetime import UTC, datetime

    from cost import _event

    event = _event("process_upload")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["object"]["key"] = key.replace(" ", "+")
    body["Records"][0]["eventTime"] = datetime.now(UTC).isoformat()
    event["Records"] = [{**event["Records"][0], "body": json.dumps(body)}]
    tally, result = harness.count("ProcessUploadFunction", event)
    assert result == {"batchItemFailures": []}, result
    return tally


def _sum(counted: list[tuple[str, Any]]) -> dict[str, Any]:
    calls = [name for _, tally in counted for name in tally.calls]
    return {
        "requests": len(counted),
        "dynamodb_calls": len(calls),
        "items_read": sum(tally.read for _, tally in counted),
        "items_written": sum(tally.written for _, tally in counted),
        "calls": ", ".join(f"{name} x{n}" for name, n in Counter(calls).items()),
    }


def child_calls(args: dict[str, Any]) -> None:
    _paths()
    from cost import Harness
    from moto import mock_aws

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    part_bytes = int(args["part_bytes"])
    by_parts, by_route = [], []
    with mock_aws():
        harness = Harness()
        for parts in args["parts"]:
            batched = _one_upload(harness, parts, part_bytes, batch=True)
            single = _one_upload(harness, parts, part_bytes, batch=False)
            api = [item for item in batched if not item[0].startswith("landing")]
            signing = _sum([item for item in batched if item[0].endswith("/batch")])
            one_by_one = _sum([item for item in single if item[0].endswith("/{partNumber}")])
            total = _sum(batched)
            by_parts.append(
                {
                    "parts": parts,
                    "api_requests": len(api),
                    "s3_part_puts": parts,
                    "dynamodb_calls": total["dynamodb_calls"],
                    "items_read": total["items_read"],
                    "items_written": total["items_written"],
                    "signing_requests": signing["requests"],
                    "signing_dynamodb_calls": signing["dynamodb_calls"],
                    "signing_calls_per_part": round(signing["dynamodb_calls"] / parts, 2),
                    "unbatched_signing_requests": one_by_one["requests"],
                    "unbatched_signing_dynamodb_calls": one_by_one["dynamodb_calls"],
                    "unbatched_calls_per_part": round(one_by_one["dynamodb_calls"] / parts, 2),
                }
            )
            if parts == max(args["parts"]):
                routes: dict[str, list[tuple[str, Any]]] = {}
                for name, tally in batched + [item for item in single if item[0].endswith("/{partNumber}")]:
                    routes.setdefault(name, []).append((name, tally))
                for name, counted in routes.items():
                    by_route.append(
                        {"parts": parts, "route": name.replace("/uploads/{uploadToken}", ""), **_sum(counted)}
                    )
    print(ANSWER + json.dumps({"by_parts": by_parts, "by_route": by_route}), flush=True)


def calls_rows(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The goal per row: DynamoDB calls per upload do not grow with its parts when signed in batches."""
    rows = answer["by_parts"]
    flat = len({row["dynamodb_calls"] for row in rows}) == 1
    for row in rows:
        expected = 2 + len(_batches(row["parts"]))
        ok = flat and row["api_requests"] == expected
        row["goal"] = f"requests = 2 + batches, DynamoDB calls flat in parts: {'met' if ok else 'NOT met'}"
    return {"multipart_calls": rows, "multipart_calls_by_route": answer["by_route"]}


#: results.json's keys and the titles of their tables in `make bench`'s output.
TABLES = {
    "multipart_throughput": f"A {FILE_MIB} MiB multipart upload through the Companion routes, {PART_MIB} MiB"
    f" parts, {IN_FLIGHT} in flight (median of {ROUNDS} rounds; ratio: throughput over one direct S3 PUT"
    f" to the same emulator, goal >= {GOAL})",
    "multipart_calls": f"Calls per multipart upload by part count (parts of {COUNT_PART_BYTES // MIB} MiB;"
    " DynamoDB: the routes and the landing; signing in batches vs one request per part)",
    "multipart_calls_by_route": "DynamoDB work per route of one multipart upload",
}


def measure(file_mib: int = FILE_MIB, rounds: int = ROUNDS) -> dict[str, list[dict[str, Any]]]:
    """Everything `make bench` shows of large uploads, by results.json key (TABLES)."""
    return {
        "multipart_throughput": measure_throughput(file_mib, PART_MIB, rounds),
        **calls_rows(measure_calls()),
    }


if __name__ == "__main__":
    _paths()
    if len(sys.argv) == 3 and sys.argv[1] == "--calls":
        child_calls(json.loads(sys.argv[2]))
    else:  # this part of `make bench` alone: its tables, results.json left as it is
        from run import table

        figures = measure(
            int(os.environ.get("MULTIPART_FILE_MIB", FILE_MIB)),
            int(os.environ.get("MULTIPART_ROUNDS", ROUNDS)),
        )
        for key, title in TABLES.items():
            print(table(title, figures[key]))
