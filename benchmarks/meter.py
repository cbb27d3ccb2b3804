"""Records every AWS call an invocation makes (botocore's `_make_api_call`, patched) as a Step: its
DynamoDB request units, S3 requests, EventBridge entries, other calls, and the bytes it logged
(benchmarks/metering.py)."""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from request_units import (
    DYNAMODB_READS,
    DYNAMODB_WRITES,
    S3_FREE,
    S3_GET_CLASS,
    S3_PUT_CLASS,
    WriteTarget,
    item_size,
    read_units,
    write_units,
)


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
