"""Every AWS call an upload makes, measured, and its DynamoDB request units counted as AWS bills them
(benchmarks/price.py prices them).

The template's functions run in process against moto (`mock_aws`, provisioned from template.yaml by
cost.py's Harness, forwarding on, to the api.video double), in a child process. Every AWS call any
client makes while an invocation runs is recorded (botocore's `_make_api_call`): DynamoDB request
units, S3 requests by operation, EventBridge entries, the other services' calls; and the invocation's
log output in bytes (the handlers' lines and EMF metrics, as Lambda would ingest them). Each path runs
twice and the second, warm, run is kept.

DynamoDB request units, as AWS bills on-demand tables: a write is ceil(size / 1 KB) units of the larger
of the item before and after (a failed conditional write too), twice that inside a transaction
(ConditionCheck items included); every global secondary index the item enters, leaves or changes in
costs one more write (two when its index key changes). Sizes are the items' own, read before and
after each write. A GetItem is ceil(size / 4 KB) units, at least 1, half when eventually
consistent; a Query is charged as if each item it read were 1 KB (every item measured is smaller:
`largest_item_bytes`), at least one unit, half on an index or when eventually consistent.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "@bench-answer "
MIB = 1024**2
SECRET = "price-bench/api-video-api-key"
#: Forwarded in 5 MiB chunks while measuring, so a 7.5 MiB file makes two (per chunk = two minus one).
MEASURE_CHUNK_BYTES = 5 * MIB

S3_PUT_CLASS = {
    "PutObject",
    "PutObjectTagging",
    "PostObject",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "ListParts",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "ListMultipartUploads",
}
S3_GET_CLASS = {"GetObject", "HeadObject", "GetObjectAttributes", "GetObjectTagging"}
S3_FREE = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
DYNAMODB_READS = {"GetItem", "Query", "BatchGetItem", "TransactGetItems"}


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one DynamoDB attribute value, by AWS's item-size rules."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        return number_size(str(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(item).encode()) for item in data)
    if kind == "NS":
        return sum(number_size(str(item)) for item in data)
    if kind == "BS":
        return sum(len(item) for item in data)
    if kind == "L":
        return 3 + sum(attribute_size(item) + 1 for item in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_size(item) + 1 for name, item in data.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def number_size(text: str) -> int:
    """About one byte per two significant digits, plus one."""
    digits = re.sub(r"[^0-9]", "", text.split("e")[0].split("E")[0]).strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def kilobytes(size: int, unit: int = 1024) -> int:
    """Request units of an item of `size` bytes: ceil to the unit, at least one."""
    return max(1, math.ceil(size / unit))


@dataclass
class WriteTarget:
    table: str
    key: dict[str, Any]
    kind: str  # put, update, delete, check
    transactional: bool
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def write_units(target: WriteTarget, indexes: Mapping[str, tuple[str, ...]], failed: bool) -> float:
    """Write request units of one item written (or checked), its indexes included."""
    before, after = item_size(target.before), item_size(target.after)
    units = kilobytes(before if target.kind == "check" or failed else max(before, after))
    if target.transactional:
        units *= 2
    if target.kind == "check" or failed or target.before == target.after:
        return units
    for key_names in indexes.values():
        was = _index_key(target.before, key_names)
        now = _index_key(target.after, key_names)
        if was is None and now is None:
            continue
        if was is not None and now is not None and was == now:
            units += kilobytes(max(before, after))
        else:  # entered, left, or moved within the index: a delete and/or a put there
            units += (kilobytes(before) if was is not None else 0) + (
                kilobytes(after) if now is not None else 0
            )
    return units


def _index_key(item: dict[str, Any] | None, names: tuple[str, ...]) -> tuple[str, ...] | None:
    if not item or not all(name in item for name in names):
        return None
    return tuple(json.dumps(item[name], sort_keys=True) for name in names)


def read_units(operation: str, params: dict[str, Any], parsed: dict[str, Any], item_bound: int) -> float:
    """Read request units of one read call (see the module's docstring)."""
    if operation == "GetItem":
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        return kilobytes(item_size(parsed.get("Item")), 4096) * factor
    if operation == "Query":
        factor = 1.0 if params.get("ConsistentRead") and not params.get("IndexName") else 0.5
        scanned = int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        return kilobytes(scanned * item_bound, 4096) * factor
    if operation == "BatchGetItem":
        units = 0.0
        for table, items in parsed.get("Responses", {}).items():
            factor = 1.0 if params["RequestItems"][table].get("ConsistentRead") else 0.5
            units += sum(kilobytes(item_size(item), 4096) * factor for item in items)
        return units
    if operation == "TransactGetItems":
        return sum(2.0 * kilobytes(item_size(r.get("Item")), 4096) for r in parsed.get("Responses", []))
    raise ValueError(f"no read units for {operation}")


@dataclass
class Step:
    """One invocation: what it asked of AWS and what it logged."""

    name: str
    function: str
    dynamodb: Counter[str] = field(default_factory=Counter)
    wru: float = 0.0
    rru: float = 0.0
    s3: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    events: int = 0
    log_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "dynamodb_calls": dict(sorted(self.dynamodb.items())),
            "wru": self.wru,
            "rru": self.rru,
            "s3": dict(sorted(self.s3.items())),
            "other_calls": dict(sorted(self.other.items())),
            "events": self.events,
            "log_bytes": self.log_bytes,
        }


class CountingStdout:
    """The process's stdout, counting what is written while a step runs (logs and EMF metrics)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.counted = 0
        self.function = ""
        self.metrics: set[tuple[str, str, str, str]] = set()

    def write(self, text: str) -> int:
        self.counted += len(text.encode())
        for line in text.splitlines():
            if line.startswith('{"_aws"'):
                self._metrics(json.loads(line))
        return int(self.stream.write(text))

    def _metrics(self, blob: dict[str, Any]) -> None:
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = ",".join(
                f"{name}={blob.get(name)}" for names in directive["Dimensions"] for name in names
            )
            for metric in directive["Metrics"]:
                self.metrics.add((self.function, directive["Namespace"], metric["Name"], dimensions))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Meter:
    """Records every AWS call made while a step is current (botocore's `_make_api_call`, patched)."""

    def __init__(self, indexes: dict[str, tuple[str, ...]], key_names: tuple[str, ...]) -> None:
        self.indexes = indexes
        self.key_names = key_names
        self.current: Step | None = None
        self.largest_item = 0
        self._paused = threading.local()
        self._reader: Any = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        was = getattr(self._paused, "on", False)
        self._paused.on = True
        try:
            yield
        finally:
            self._paused.on = was

    def install(self) -> None:
        import boto3
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError

        original = BaseClient._make_api_call  # type: ignore[attr-defined]
        self._reader = boto3.client("dynamodb")
        meter = self

        def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
            step = meter.current
            if step is None or getattr(meter._paused, "on", False):
                return original(client, operation, params)
            service = client.meta.service_model.service_name
            targets = meter._targets(operation, params) if service == "dynamodb" else []
            try:
                parsed = original(client, operation, params)
            except ClientError as exc:
                meter._record(step, service, operation, params, dict(exc.response), targets, failed=True)
                raise
            meter._record(step, service, operation, params, parsed, targets, failed=False)
            return parsed

        BaseClient._make_api_call = metered  # type: ignore[attr-defined]

    def _image(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        with self.paused():
            item: dict[str, Any] | None = self._reader.get_item(
                TableName=table, Key=key, ConsistentRead=True
            ).get("Item")
        self.largest_item = max(self.largest_item, item_size(item))
        return item

    def _targets(self, operation: str, params: dict[str, Any]) -> list[WriteTarget]:
        def key_of(item: dict[str, Any]) -> dict[str, Any]:
            return {name: item[name] for name in self.key_names}

        targets: list[WriteTarget] = []
        if operation == "PutItem":
            targets.append(WriteTarget(params["TableName"], key_of(params["Item"]), "put", False))
        elif operation in ("UpdateItem", "DeleteItem"):
            kind = "update" if operation == "UpdateItem" else "delete"
            targets.append(WriteTarget(params["TableName"], params["Key"], kind, False))
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((action, body),) = entry.items()
                key = key_of(body["Item"]) if action == "Put" else body["Key"]
                kind = {"Put": "put", "Update": "update", "Delete": "delete", "ConditionCheck": "check"}[
                    action
                ]
                targets.append(WriteTarget(body["TableName"], key, kind, True))
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        targets.append(
                            WriteTarget(table, key_of(request["PutRequest"]["Item"]), "put", False)
                        )
                    else:
                        targets.append(WriteTarget(table, request["DeleteRequest"]["Key"], "delete", False))
        for target in targets:
            target.before = self._image(target.table, target.key)
        return targets

    def _record(
        self,
        step: Step,
        service: str,
        operation: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        targets: list[WriteTarget],
        failed: bool,
    ) -> None:
        if service == "dynamodb":
            step.dynamodb[operation] += 1
            if operation in DYNAMODB_WRITES:
                for target in targets:
                    target.after = self._image(target.table, target.key)
                    step.wru += write_units(target, self.indexes, failed)
            elif operation in DYNAMODB_READS:
                if not failed:
                    step.rru += read_units(operation, params, parsed, 1024)
                    for item in parsed.get("Items", []):
                        self.largest_item = max(self.largest_item, item_size(item))
            else:
                raise ValueError(f"DynamoDB {operation} is neither a read nor a write this script prices")
        elif service == "s3":
            if operation not in S3_PUT_CLASS | S3_GET_CLASS | S3_FREE:
                raise ValueError(f"S3 {operation} is in no request class this script prices")
            step.s3[operation] += 1
        elif service in ("events", "eventbridge") and operation == "PutEvents":
            step.events += len(params.get("Entries", []))
        else:
            step.other[f"{service}:{operation}"] += 1


def _indexes(template: dict[str, Any]) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    table = template["Resources"]["TokensTable"]["Properties"]
    key_names = tuple(k["AttributeName"] for k in table["KeySchema"])
    indexes = {
        index["IndexName"]: tuple(k["AttributeName"] for k in index["KeySchema"])
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    return indexes, key_names


def _alarms(template: dict[str, Any]) -> dict[str, int]:
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    return {
        "forwarding_off": sum(1 for r in alarms if r.get("Condition") != "ForwardToApiVideo"),
        "forwarding_on": len(alarms),
    }


def _custom_metrics(template: dict[str, Any], seen: set[tuple[str, str, str, str]]) -> dict[str, int]:
    """Distinct metrics (namespace, name, dimensions) a deployment sends, forwarding off and on."""
    functions = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    forwarder = {n for n, r in functions.items() if r.get("Condition") == "ForwardToApiVideo"}
    everywhere = {m[1:] for m in seen if m[2] != "ColdStart"}
    without = {m[1:] for m in seen if m[2] != "ColdStart" and m[0] not in forwarder}
    return {
        "forwarding_off": len(without) + len(functions) - len(forwarder),
        "forwarding_on": len(everywhere) + len(functions),
        "sent_by_handlers": len(everywhere),
    }


def _paths() -> None:
    for path in (str(ROOT / "layers" / "shared"), str(ROOT), str(ROOT / "benchmarks")):
        if path not in sys.path:
            sys.path.insert(0, path)


def child_measure() -> None:
    """Runs in the child: every path twice against moto and the api.video double, answers the second."""
    counting = CountingStdout(sys.stdout)
    sys.stdout = counting  # before any Logger exists: the handlers' log lines are counted
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        # As on AWS with active tracing: Powertools adds the trace id to every log line.
        _X_AMZN_TRACE_ID="Root=1-6751e2a0-3f2b9c1d8e7a6b5c4d3e2f1a;Parent=53995c3f42cd8ad8;Sampled=1",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    _paths()
    import boto3
    from cost import Harness
    from moto import mock_aws

    from local_stack.template import load_template
    from local_stack.video_double import VideoDouble

    template = load_template()
    indexes, key_names = _indexes(template)
    with VideoDouble(port=0) as double, mock_aws():
        harness = Harness(
            {
                "VideoPlatform": "apivideo",
                "ApiVideoBaseUrl": double.url,
                "ApiVideoApiKeySecret": SECRET,
                "ForwardChunkBytes": str(MEASURE_CHUNK_BYTES),
            }
        )
        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=double.api_key)
        meter = Meter(indexes, key_names)
        meter.install()
        paths = Paths(harness, meter, counting)
        paths.run()  # cold: every function's first invocation, its cold-start metric, the key's first read
        steps = paths.run()
    answer = {
        "steps": {name: step.as_dict() for name, step in steps.items()},
        "largest_item_bytes": meter.largest_item,
        # Powertools' cold-start flag is one per process here, so ColdStart (one metric per function on
        # AWS, dimension function_name) is counted from the template; the others as the handlers sent them.
        "custom_metrics": _custom_metrics(template, counting.metrics),
        "alarms": _alarms(template),
    }
    counting.stream.write(ANSWER + json.dumps(answer) + "\n")
    counting.stream.flush()


class Paths:
    """The paths an upload takes, each invocation a Step (the handlers' own events, from events/)."""

    def __init__(self, harness: Any, meter: Meter, stdout: CountingStdout) -> None:
        self.harness = harness
        self.meter = meter
        self.stdout = stdout

    def invoke(self, name: str, function: str, event: dict[str, Any]) -> tuple[Step, Any]:
        step = Step(name, function)
        sys.stdout.flush()
        self.stdout.counted = 0
        self.stdout.function = function
        self.meter.current = step
        try:
            result = self.harness.functions[function].invoke(event)
        finally:
            self.meter.current = None
            sys.stdout.flush()
            step.log_bytes = self.stdout.counted
        return step, result

    def count(self, function: str, event: dict[str, Any]) -> tuple[Step, Any]:
        """As cost.Harness.count, for multipart.py's routes."""
        return self.invoke(function, function, event)

    def run(self) -> dict[str, Step]:
        from cost import _event

        steps: dict[str, Step] = {}
        user = f"price-user-{time.monotonic_ns()}"

        def keep(step: Step) -> None:
            steps[step.name] = step

        # A small file: a token, a presigned POST, the file, the landing, the decision read, forwarding.
        token = self.mint(user, keep)
        step, result = self.invoke(
            "POST /upload",
            "StartUploadFunction",
            _event("start_upload", queryStringParameters={"token": token}, rawQueryString=f"token={token}"),
        )
        assert result["statusCode"] == 200, result
        keep(step)
        key = json.loads(result["body"])["key"]
        self.land(key, _small_file(), "landing", keep)
        step, result = self.invoke(
            "GET /upload-tokens/{token}",
            "GetTokenFunction",
            _event(
                "get_token", user, pathParameters={"uploadToken": token}, rawPath=f"/upload-tokens/{token}"
            ),
        )
        assert result["statusCode"] == 200, result
        keep(step)
        self.forward(key, "forward, 1 chunk", keep)
        # A large file: a multipart upload of two parts, signed one request per part as Uppy does.
        large = self.multipart(self.mint(user, lambda _: None), keep)
        self.forward(large, "forward, 2 chunks", keep)
        step, result = self.invoke("cleanup run, nothing expired", "CleanupFunction", _event("cleanup"))
        keep(step)
        return steps

    def mint(self, user: str, keep: Callable[[Step], None]) -> str:
        from cost import _event

        step, result = self.invoke("POST /upload-tokens", "CreateTokenFunction", _event("create_token", user))
        assert result["statusCode"] == 200, result
        keep(step)
        return str(json.loads(result["body"])["token"])

    def land(self, key: str, body: bytes | None, name: str, keep: Callable[[Step], None]) -> None:
        """The object arrives (unmetered: the browser sends it), then its S3 event through process-upload."""
        from datetime import UTC, datetime

        from cost import _event

        from upload_service.core.storage import default_storage

        if body is not None:
            storage = default_storage()
            with self.meter.paused():
                storage.client.put_object(Bucket=storage.bucket, Key=key, Body=body, ContentType="video/mp4")
        event = _event("process_upload")
        message = json.loads(event["Records"][0]["body"])
        message["Records"][0]["s3"]["object"]["key"] = key.replace(" ", "+")
        message["Records"][0]["eventTime"] = datetime.now(UTC).isoformat()
        event["Records"] = [{**event["Records"][0], "body": json.dumps(message)}]
        step, result = self.invoke(name, "ProcessUploadFunction", event)
        assert result == {"batchItemFailures": []}, result
        keep(step)

    def multipart(self, token: str, keep: Callable[[Step], None]) -> str:
        import requests
        from multipart import _Routes, content, parts_of

        routes = _Routes(self, token)
        started = routes.call(
            "POST", "/multipart", "/multipart", {}, {"filename": "large.mp4", "type": "video/mp4"}
        )
        keep(self._named(routes, "POST /s3/multipart"))
        query = {"key": started["key"]}
        data = content(MEASURE_CHUNK_BYTES + MEASURE_CHUNK_BYTES // 2)
        refs = []
        for number, part in enumerate(parts_of(data, MEASURE_CHUNK_BYTES), start=1):
            signed = routes.call(
                "GET",
                "/multipart/{uploadId}/{partNumber}",
                f"/multipart/{started['uploadId']}/{number}",
                query,
            )
            keep(self._named(routes, "GET /s3/multipart/{uploadId}/{partNumber}"))
            with self.meter.paused():
                sent = requests.put(signed["url"], data=part, timeout=60)  # moto answers it in process
            assert sent.status_code == 200, sent.text
            refs.append({"PartNumber": number, "ETag": sent.headers["ETag"]})
        routes.call(
            "POST",
            "/multipart/{uploadId}/complete",
            f"/multipart/{started['uploadId']}/complete",
            query,
            {"parts": refs},
        )
        keep(self._named(routes, "POST /s3/multipart/{uploadId}/complete"))
        self.land(started["key"], None, "landing (multipart)", keep)
        return str(started["key"])

    @staticmethod
    def _named(routes: Any, name: str) -> Step:
        step: Step = routes.counted[-1][1]
        step.name = name
        return step

    def forward(self, key: str, name: str, keep: Callable[[Step], None]) -> None:
        from cost import _event

        upload_id = key.split("/")[1]
        event = _event("forward_upload")
        message = json.loads(event["Records"][0]["body"])
        message["detail"]["uploadId"] = upload_id
        event["Records"] = [{**event["Records"][0], "body": json.dumps(message)}]
        step, result = self.invoke(name, "ForwardUploadFunction", event)
        assert result == {"batchItemFailures": []}, result
        keep(step)


def _small_file() -> bytes:
    """A real MP4 (tests/fixtures/content/clip.mp4): the landing checks accept it."""
    return (ROOT / "tests" / "fixtures" / "content" / "clip.mp4").read_bytes()


def measure() -> dict[str, Any]:
    """The figures, counted in a fresh process (moto's mock and the cached settings stay out of ours)."""
    done = subprocess.run(
        [sys.executable, __file__],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(ANSWER)]
    figures: dict[str, Any] = json.loads(lines[-1].removeprefix(ANSWER))
    figures["measured"] = time.strftime("%Y-%m-%d")
    return figures


if __name__ == "__main__":
    child_measure()
