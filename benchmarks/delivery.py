"""Delivering an accepted upload into media/ (delivery.py) against the emulator: a 1 GiB object
copied in parts (UploadPartCopy, `CONCURRENCY` at a time) by the real code, next to one plain
CopyObject of the same object, the emulator's own floor. The copy happens inside S3, so on AWS its
time is S3's; here it says what the code adds (its DynamoDB writes, the listing, the completion)
and that a file past the single-copy bound is delivered at all.

    .venv/bin/python benchmarks/delivery.py   # this table alone (make bench prints it too)
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
FILE_MIB = 1024
ROUNDS = 3
BUCKET = "delivery-bench"
TABLE = "delivery-bench"
TITLE = (
    f"Delivering a {FILE_MIB} MiB accepted upload into media/ against the emulator (median of {ROUNDS};"
    " ratio: over one plain CopyObject of the same object)"
)


def _paths() -> None:
    for path in (str(ROOT / "layers" / "shared"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def measure(file_mib: int = FILE_MIB, rounds: int = ROUNDS) -> list[dict[str, Any]]:
    _paths()
    from local_stack.credentials import FUNCTIONS
    from local_stack.emulator import Emulator

    os.environ.update(FUNCTIONS.environment(), AWS_DEFAULT_REGION="us-east-1")  # as the functions'

    emulator = Emulator(port=0)
    emulator.start()
    os.environ.update(AWS_ENDPOINT_URL=emulator.endpoint, TABLE_NAME=TABLE, BUCKET_NAME=BUCKET)
    try:
        return _rounds(file_mib * MIB, rounds)
    finally:
        emulator.stop()


def _rounds(size: int, rounds: int) -> list[dict[str, Any]]:
    from upload_service.core import aws
    from upload_service.core.records import UploadRecord, UploadStatus
    from upload_service.core.storage import Storage
    from upload_service.data.items import upload_item
    from upload_service.data.repository import Repository
    from upload_service.uploads import delivery
    from upload_service.uploads.landing import no_limit

    s3, dynamodb = aws.client("s3"), aws.dynamodb()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    storage, repo = Storage(BUCKET), Repository(TABLE, dynamodb)
    data = os.urandom(size)
    digest = hashlib.sha256(data).hexdigest()
    key = f"uploads/{uuid.uuid4().hex}/bench.mp4"
    landed = s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="video/mp4")
    del data
    times: dict[str, list[float]] = {"plain CopyObject": [], "delivery.deliver": []}
    parts = 0
    for index in range(rounds):
        started = time.perf_counter()
        aws.copy_client().copy_object(
            Bucket=BUCKET, Key=f"reference/{index}", CopySource={"Bucket": BUCKET, "Key": key}
        )
        times["plain CopyObject"].append(time.perf_counter() - started)
        s3.delete_object(Bucket=BUCKET, Key=f"reference/{index}")

        now = datetime.now(UTC)
        upload = UploadRecord(
            uuid.uuid4().hex,
            key.split("/")[1],
            "bench-user",
            "bench.mp4",
            size,
            "video/mp4",
            now,
            now,
            status=UploadStatus.ACCEPTED,
            object_size=size,
            etag=landed["ETag"].strip('"'),
            version_id=landed.get("VersionId"),
        )
        item = upload_item(upload, timedelta(days=1)) | {"status": {"S": UploadStatus.ACCEPTED.value}}
        dynamodb.put_item(TableName=TABLE, Item=item)
        started = time.perf_counter()
        delivery.deliver(storage, repo, upload, no_limit)
        times["delivery.deliver"].append(time.perf_counter() - started)
        media = s3.get_object(Bucket=BUCKET, Key=upload.media_key)
        etag = media["ETag"].strip('"')
        parts = int(etag.rsplit("-", 1)[1]) if "-" in etag else 1
        if index == 0:
            assert hashlib.sha256(media["Body"].read()).hexdigest() == digest, "media/ holds other bytes"
        s3.delete_object(Bucket=BUCKET, Key=upload.media_key)
    floor = statistics.median(times["plain CopyObject"])
    return [
        {
            "what": name,
            "parts": parts if name == "delivery.deliver" else 1,
            "seconds": round(statistics.median(runs), 2),
            "MiB/s": round(size / MIB / statistics.median(runs)),
            "ratio": round(statistics.median(runs) / floor, 2),
        }
        for name, runs in times.items()
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tables import table

    print(table(TITLE, measure(int(os.environ.get("DELIVERY_FILE_MIB", FILE_MIB)))))
