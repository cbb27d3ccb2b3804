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
tables without writing results.json. The file and its parts: multipart_setup.py; the throughput
rounds: multipart_throughput.py; the calls counted: multipart_calls.py; here, the tables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from multipart_calls import calls_rows, measure_calls
from multipart_setup import COUNT_PART_BYTES, FILE_MIB, GOAL, IN_FLIGHT, MIB, PART_MIB, ROUNDS
from multipart_throughput import measure_throughput

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


if __name__ == "__main__":  # this part of `make bench` alone: its tables, results.json left as it is
    from tables import table

    figures = measure(
        int(os.environ.get("MULTIPART_FILE_MIB", FILE_MIB)),
        int(os.environ.get("MULTIPART_ROUNDS", ROUNDS)),
    )
    for key, title in TABLES.items():
        print(table(title, figures[key]))
