"""DynamoDB work per operation: calls, items read, items written, counted with botocore event hooks
on the shared client while each handler runs in process against moto (in-process mock)."""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: A file the landing checks accept: an MP4's `ftyp` box and a few bytes.
CLIP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"x" * 10
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]

PARAMETERS = {
    "RateLimitPerMinute": "1000000",
    "MaxActiveTokensPerUser": "100000",
    "CleanupGraceSeconds": "0",
    "CleanupBatchSize": "1000",
    "UploadRateLimitPerMinute": "1000000",
}


@dataclass
class Tally:
    calls: list[str] = field(default_factory=list)
    read: int = 0
    written: int = 0
    _params: dict[str, Any] = field(default_factory=dict)

    def params(self, params: dict[str, Any], **_: Any) -> None:
        self._params = params

    def after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        self.calls.append(name)
        if name in ("Query", "Scan"):
            self.read += int(parsed.get("ScannedCount", 0))
        elif name == "GetItem":
            self.read += 1 if "Item" in parsed else 0
        elif name == "BatchGetItem":
            self.read += sum(len(items) for items in parsed.get("Responses", {}).values())
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.written += 1
        elif name == "TransactWriteItems":
            self.written += len(self._params.get("TransactItems", []))
        elif name == "BatchWriteItem":
            self.written += sum(len(items) for items in self._params.get("RequestItems", {}).values())


class Harness:
    def __init__(self, parameters: dict[str, str] | None = None) -> None:
        from local_stack.functions import FunctionSpec, LambdaFunction, function_specs
        from local_stack.provision import Provisioner
        from local_stack.template import Resolver, load_template

        template = load_template()
        provisioner = Provisioner(
            template,
            Resolver.parameter_values(template, {**PARAMETERS, **(parameters or {})}),
            "us-east-1",
            "bench",
        )
        self.resources = provisioner.provision_all()
        specs = function_specs(template, provisioner.resolver)
        for spec in specs.values():
            os.environ.update(spec.environment)
        self.functions = {
            name: LambdaFunction(FunctionSpec(name, spec.code_dir, spec.handler, 900, 512, {}))
            for name, spec in specs.items()
        }
        from upload_service.core import aws

        self.client = aws.dynamodb()

    def count(self, function: str, event: dict[str, Any]) -> tuple[Tally, Any]:
        tally = Tally()
        events = self.client.meta.events
        events.register("provide-client-params.dynamodb", tally.params)
        events.register("after-call.dynamodb", tally.after)
        try:
            result = self.functions[function].invoke(event)
        finally:
            events.unregister("provide-client-params.dynamodb", tally.params)
            events.unregister("after-call.dynamodb", tally.after)
        return tally, result


def _event(name: str, sub: str | None = None, admin: bool = False, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims")
    if claims is not None and sub:
        claims["sub"] = sub
        claims["cognito:groups"] = "[admins]" if admin else "[]"
    event.update(changes)
    return event


def _seed(count: int, owner: str, ttl: int, created: datetime) -> list[str]:
    """Tokens written directly in batches (counters included), as creates would leave them."""
    from upload_service.core.records import TokenRecord
    from upload_service.data.items import token_item
    from upload_service.data.repository import default_repository

    repo = default_repository()
    tokens = [TokenRecord.new("to" + uuid.uuid4().hex[:22], owner, ttl, created) for _ in range(count)]
    for start in range(0, count, 25):
        chunk = tokens[start : start + 25]
        repo.client.batch_write_item(
            RequestItems={repo.table_name: [{"PutRequest": {"Item": token_item(t)}} for t in chunk]}
        )
    repo.client.update_item(
        TableName=repo.table_name,
        Key={"PK": {"S": f"USER#{owner}"}, "SK": {"S": "COUNTERS"}},
        UpdateExpression="ADD liveTokens :n",
        ExpressionAttributeValues={":n": {"N": str(count)}},
    )
    repo.client.update_item(
        TableName=repo.table_name,
        Key={"PK": {"S": "COUNTERS#ALL"}, "SK": {"S": "SHARD#0"}},
        UpdateExpression="ADD liveTokens :n",
        ExpressionAttributeValues={":n": {"N": str(count)}},
    )
    return [t.token for t in tokens]


def measure() -> list[dict[str, Any]]:
    from moto import mock_aws

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    rows: list[dict[str, Any]] = []
    with mock_aws():
        h = Harness()
        now = datetime.now(UTC)

        def row(operation: str, tally: Tally, goal: str) -> None:
            rows.append(
                {
                    "operation": operation,
                    "dynamodb_calls": len(tally.calls),
                    "items_read": tally.read,
                    "items_written": tally.written,
                    "calls": ",".join(tally.calls),
                    "goal": goal,
                }
            )

        user = "bench-user"
        mine = _seed(60, user, 3600, now)
        _seed(500, "someone-else", 3600, now)
        tally, result = h.count("CreateTokenFunction", _event("create_token", user))
        assert result["statusCode"] == 200, result
        row("POST /upload-tokens", tally, "")
        tally, result = h.count(
            "GetTokenFunction",
            _event(
                "get_token",
                user,
                pathParameters={"uploadToken": mine[0]},
                rawPath=f"/upload-tokens/{mine[0]}",
            ),
        )
        assert result["statusCode"] == 200, result
        row("GET /upload-tokens/{token}", tally, "1 read besides rate limiting")
        page: dict[str, Any] = {"queryStringParameters": {"pageSize": "25"}, "rawQueryString": "pageSize=25"}
        tally, result = h.count("ListTokensFunction", _event("list_tokens", user, **page))
        assert result["statusCode"] == 200, result
        row("GET /upload-tokens (user, page 1 of 61)", tally, "<= pageSize + constant reads")
        tally, result = h.count(
            "ListTokensFunction", _event("list_tokens", "bench-admin", admin=True, **page)
        )
        assert result["statusCode"] == 200, result
        row("GET /upload-tokens (admin, page 1 of 561)", tally, "<= pageSize + constant reads")
        tally, result = h.count(
            "RevokeTokenFunction",
            _event(
                "revoke_token",
                user,
                pathParameters={"uploadToken": mine[1]},
                rawPath=f"/upload-tokens/{mine[1]}",
            ),
        )
        assert result["statusCode"] == 204, result
        row("DELETE /upload-tokens/{token}", tally, "")
        start = _event(
            "start_upload", queryStringParameters={"token": mine[2]}, rawQueryString=f"token={mine[2]}"
        )
        tally, result = h.count("StartUploadFunction", start)
        assert result["statusCode"] == 200, result
        row("POST /upload", tally, "")
        target = json.loads(result["body"])
        row("process one upload", _process(h, target, mine[2]), "")
        _seed(10_000, "cleanup-live", 3600, now)
        _seed(100, "cleanup-expired", 60, now - timedelta(hours=2))
        tally, result = h.count(
            "ListTokensFunction", _event("list_tokens", "bench-admin", admin=True, **page)
        )
        assert result["statusCode"] == 200, result
        row(
            "GET /upload-tokens (admin, page 1, 100 expired not yet cleaned up)",
            tally,
            "<= pageSize + constant reads: not met until cleanup runs",
        )
        tally, result = h.count("CleanupFunction", _event("cleanup"))
        assert result["tokens_timed_out"] == 100, result
        row("cleanup run (10,000 live, 100 expired)", tally, "<= 100 + constant reads")
    return rows


def _process(h: Harness, target: dict[str, Any], token: str) -> Tally:
    from upload_service.core.storage import default_storage

    storage = default_storage()
    storage.client.put_object(Bucket=storage.bucket, Key=target["key"], Body=CLIP, ContentType="video/mp4")
    ranges: list[str] = []
    storage.client.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: ranges.append(params.get("Range", "all"))
    )
    event = _event("process_upload")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["object"]["key"] = target["key"].replace(" ", "+")
    body["Records"][0]["eventTime"] = datetime.now(UTC).isoformat()
    event["Records"] = [{**event["Records"][0], "body": json.dumps(body)}]
    tally, result = h.count("ProcessUploadFunction", event)
    assert result == {"batchItemFailures": []}, result
    assert ranges == ["bytes=0-4095"], f"the content check reads one range of the file, not {ranges}"
    return tally


if __name__ == "__main__":
    for r in measure():
        print(r)
