"""The large-uploads bench's calls (benchmarks/multipart.py): the template's functions in process
against moto, in a child process (`python benchmarks/multipart_calls.py --calls <json>`), one
multipart upload per part count, every API Gateway request and DynamoDB call of it counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from multipart_setup import (
    ANSWER,
    COUNT_PART_BYTES,
    COUNT_PARTS,
    FILE_NAME,
    ROOT,
    batches,
    content,
    parts_of,
    paths,
)


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


class Routes:
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
    routes = Routes(harness, token)
    upload = routes.call("POST", "/multipart", "/multipart", {}, {"filename": FILE_NAME, "type": "video/mp4"})
    query = {"key": upload["key"]}
    upload_id = upload["uploadId"]
    urls: dict[str, str] = {}
    if batch:
        for numbers in batches(parts):
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
    paths()
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
        expected = 2 + len(batches(row["parts"]))
        ok = flat and row["api_requests"] == expected
        row["goal"] = f"requests = 2 + batches, DynamoDB calls flat in parts: {'met' if ok else 'NOT met'}"
    return {"multipart_calls": rows, "multipart_calls_by_route": answer["by_route"]}


if __name__ == "__main__":
    paths()
    if len(sys.argv) == 3 and sys.argv[1] == "--calls":
        child_calls(json.loads(sys.argv[2]))
