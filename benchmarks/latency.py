"""Warm latency through the local HTTP API, per route (p50, p99 over N requests), as a ratio to the
raw emulator round trips the route needs (the same DynamoDB calls made directly with boto3)."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent
OVERRIDES = (
    "RateLimitPerMinute=1000000 MaxActiveTokensPerUser=100000 UploadRateLimitPerMinute=1000000 "
    "UploadsPerToken=100000"
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(call: Callable[[], Any], n: int) -> list[float]:
    for _ in range(5):  # warm: every environment initialised
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure(n: int = 200) -> list[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp())
    stack_file = workdir / "stack.json"
    env = {
        **os.environ,
        "API_PORT": "0",
        "AWS_PORT": "0",
        "STACK_FILE": str(stack_file),
        "PARAMETER_OVERRIDES": OVERRIDES,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not stack_file.exists():
            if process.poll() is not None:
                raise RuntimeError("local stack did not start")
            time.sleep(0.1)
        return _measure(json.loads(stack_file.read_text()), n)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _measure(info: dict[str, Any], n: int) -> list[dict[str, Any]]:
    kwargs = {
        "endpoint_url": info["awsEndpoint"],
        "region_name": info["region"],
        "aws_access_key_id": info["awsCredentials"]["accessKeyId"],
        "aws_secret_access_key": info["awsCredentials"]["secretAccessKey"],
    }
    cognito, ddb = boto3.client("cognito-idp", **kwargs), boto3.client("dynamodb", **kwargs)
    user = next(u for u in info["users"] if not u["admin"])
    auth = cognito.initiate_auth(
        ClientId=info["userPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user["username"], "PASSWORD": user["password"]},
    )
    headers = {"Authorization": f"Bearer {auth['AuthenticationResult']['IdToken']}"}
    api, table = info["apiUrl"], info["tableName"]
    http = requests.Session()
    token = http.post(f"{api}/upload-tokens", json={"ttl": 3600}, headers=headers).json()["token"]
    for _ in range(30):
        http.post(f"{api}/upload-tokens", json={"ttl": 3600}, headers=headers)
    spare = [
        http.post(f"{api}/upload-tokens", json={"ttl": 3600}, headers=headers).json()["token"]
        for _ in range(n + 5)
    ]

    key = {"PK": {"S": f"BENCH#{uuid.uuid4().hex}"}, "SK": {"S": "X"}}

    def update() -> Any:
        return ddb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="ADD hits :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def get() -> Any:
        return ddb.get_item(TableName=table, Key=key, ConsistentRead=True)

    def query(index: str | None = None, limit: int = 1) -> Any:
        params: dict[str, Any] = {"TableName": table, "Limit": limit}
        if index:
            params |= {
                "IndexName": index,
                "KeyConditionExpression": "activeAll = :p",
                "ExpressionAttributeValues": {":p": {"S": "ALL"}},
            }
        else:
            params |= {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": key["PK"]}}
        return ddb.query(**params)

    def transact(items: int) -> Any:
        return ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": key["PK"], "SK": {"S": f"T{i}"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
                for i in range(items)
            ]
        )

    body = {"fileName": "a.mp4", "fileSize": 10, "contentType": "video/mp4"}
    routes: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "POST /upload-tokens",
            # a ttl that outlives the run: expired, not yet cleaned tokens would make every later
            # list read them (cost.py shows that case on its own row)
            lambda: http.post(f"{api}/upload-tokens", json={"ttl": 3600}, headers=headers),
            lambda: (update(), transact(3)),
        ),
        (
            "GET /upload-tokens",
            lambda: http.get(f"{api}/upload-tokens", headers=headers),
            lambda: (update(), get(), query("AllByExpiry"), query("AllByCreated", 25)),
        ),
        (
            "GET /upload-tokens/{token}",
            lambda: http.get(f"{api}/upload-tokens/{token}", headers=headers),
            lambda: (update(), query()),
        ),
        (
            "DELETE /upload-tokens/{token}",
            lambda: http.delete(f"{api}/upload-tokens/{spare.pop()}", headers=headers),
            lambda: (update(), get(), transact(3), query()),  # query: its undecided uploads
        ),
        (
            "POST /upload",
            lambda: http.post(f"{api}/upload", params={"token": token}, json=body),
            lambda: (
                get(),
                update(),
                transact(3),
            ),  # the token, its rate window, reservation + upload + pointer
        ),
    ]
    rows = []
    for name, route, raw in routes:
        route_p50, route_p99 = percentiles(timed(route, n))
        raw_p50, raw_p99 = percentiles(timed(raw, n))
        rows.append(
            {
                "route": name,
                "requests": n,
                "p50_ms": round(route_p50, 2),
                "p99_ms": round(route_p99, 2),
                "raw_p50_ms": round(raw_p50, 2),
                "raw_p99_ms": round(raw_p99, 2),
                "ratio_p50": round(route_p50 / raw_p50, 2),
            }
        )
    return rows


if __name__ == "__main__":
    for r in measure(int(os.environ.get("REQUESTS", "200"))):
        print(r)
