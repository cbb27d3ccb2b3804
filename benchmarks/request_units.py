"""DynamoDB request units and S3 request classes as AWS bills them, from the items a call read and wrote
(benchmarks/metering.py records the calls; its docstring says how units are counted)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
