"""What runs in each process benchmarks/cold_start.py measures: a reference process (REFERENCES), or a
function's handler loaded as Lambda loads it and invoked once with its events/ example, every AWS
call answered by botocore's Stubber from the function's stub script.

    python benchmarks/cold_start_child.py <reference or function>   # BENCH_EVENT_FILE names its example

It imports nothing of the repository before the measured work, and only what the measurement needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIP = (ROOT / "tests" / "fixtures" / "content" / "clip.mp4").read_bytes()


def token_ref(token: str) -> str:
    """As `upload_service.ids.token_ref`, without importing our code before the measurement."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _token_item(token: str, owner: str) -> dict[str, Any]:
    return {
        "PK": {"S": f"TOKEN#{token_ref(token)}"},
        "SK": {"S": "TOKEN"},
        "token": {"S": token},
        "userId": {"S": owner},
        "ttl": {"N": "3600"},
        "createdAt": {"S": "2026-11-22T08:00:00.000Z"},
        "expiresAt": {"S": "2099-11-22T09:00:00.000Z"},
        "status": {"S": "PENDING"},
        "createdSort": {"S": f"2026-11-22T08:00:00.000Z#{token}"},
        "expirySort": {"S": f"2099-11-22T09:00:00.000Z#{token}"},
        "activeOwner": {"S": owner},
        "activeAll": {"S": "ALL"},
        "uploadsReserved": {"N": "1"},
        "uploadsOpen": {"N": "1"},
        "uploadsAccepted": {"N": "0"},
    }


def _upload_item(token: str, upload_id: str, owner: str, status: str) -> dict[str, Any]:
    return {
        "PK": {"S": f"TOKEN#{token_ref(token)}"},
        "SK": {"S": f"UPLOAD#{upload_id}"},
        "tokenRef": {"S": token_ref(token)},
        "uploadId": {"S": upload_id},
        "userId": {"S": owner},
        "fileName": {"S": "holiday clip.mp4"},
        "fileSize": {"N": "4096"},
        "contentType": {"S": "video/mp4"},
        "createdAt": {"S": "2026-11-22T08:00:00.000Z"},
        "targetExpiresAt": {"S": "2099-11-22T08:15:00.000Z"},
        "status": {"S": status},
    }


def stub_script(function: str, event: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(service, operation, response) in the order the handler makes its calls for its example event."""
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims", {})
    owner = claims.get("sub", "owner")
    token = "to1R5NZbSqXYcNq3XgsNVUNC"
    upload_id = "0f8e2c7a9b3d4e5f8a1b2c3d4e5f6a7b"
    rate = ("dynamodb", "update_item", {"Attributes": {"hits": {"N": "1"}}})
    empty_query = {"Items": [], "Count": 0, "ScannedCount": 0}
    one = {"Items": [_token_item(token, owner)], "Count": 1, "ScannedCount": 1}
    forwarded = {
        **_upload_item(token, upload_id, owner, "ACCEPTED"),
        "fwdStatus": {"S": "FORWARDED"},
        "fwdVideoId": {"S": "vi4blUQJFrYWbaG44NChkH27"},
        "fwdEventSent": {"BOOL": True},
    }
    scripts: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
        "CreateTokenFunction": [rate, ("dynamodb", "transact_write_items", {})],
        "ListTokensFunction": [
            rate,
            ("dynamodb", "query", {"Items": [{"liveTokens": {"N": "1"}}], "Count": 1, "ScannedCount": 1}),
            ("dynamodb", "query", empty_query),
            ("dynamodb", "query", one),
        ],
        "GetTokenFunction": [rate, ("dynamodb", "query", one)],
        "RevokeTokenFunction": [
            rate,
            ("dynamodb", "get_item", {"Item": _token_item(token, owner)}),
            ("dynamodb", "transact_write_items", {}),
            ("dynamodb", "query", empty_query),  # its undecided uploads
        ],
        "StartUploadFunction": [
            ("dynamodb", "get_item", {"Item": _token_item(token, owner)}),  # the token, before counting
            rate,
            ("dynamodb", "transact_write_items", {}),
        ],
        "MultipartUploadFunction": [
            ("dynamodb", "get_item", {"Item": _token_item(token, owner)}),  # the token, before counting
            rate,
            ("s3", "create_multipart_upload", {"UploadId": "mp1", "Bucket": "b", "Key": "k"}),
            ("dynamodb", "transact_write_items", {}),
        ],
        "ProcessUploadFunction": [
            ("dynamodb", "put_item", {}),  # idempotency record: in progress
            ("dynamodb", "get_item", {"Item": {"tokenRef": {"S": token_ref(token)}}}),  # upload pointer
            ("dynamodb", "get_item", {"Item": _upload_item(token, upload_id, owner, "PENDING")}),
            (
                "s3",
                "head_object",
                {"ContentLength": len(CLIP), "ContentType": "video/mp4", "ETag": '"e1"', "VersionId": "v1"},
            ),
            ("dynamodb", "get_item", {"Item": _token_item(token, owner)}),
            ("s3", "get_object", {"Body": CLIP, "ContentLength": len(CLIP)}),  # sniff, structure: one read
            ("dynamodb", "transact_write_items", {}),  # the decision
            ("s3", "put_object_tagging", {}),  # accepted: no lifecycle rule expires it any more
            ("s3-copy", "copy_object", {"CopyObjectResult": {"ETag": '"e1"'}}),  # delivered to media/
            ("s3", "delete_object", {}),  # the checked version, from where it landed
            ("s3", "head_object", {"Error": {"Code": "404"}}),  # no other version left (an error)
            ("dynamodb", "update_item", {}),  # delivered: out of the open-uploads index
            ("dynamodb", "get_item", {"Item": _token_item(token, owner)}),  # full yet?
            ("dynamodb", "update_item", {}),  # event claim
            ("events", "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}),
            ("dynamodb", "update_item", {}),  # idempotency record: completed
        ],
        "CleanupFunction": [("dynamodb", "query", empty_query), ("dynamodb", "query", empty_query)],
        "ForwardUploadFunction": [  # a duplicate delivery of a forwarded upload: init, and no HTTP
            ("dynamodb", "get_item", {"Item": {"tokenRef": {"S": token_ref(token)}}}),  # upload pointer
            ("dynamodb", "get_item", {"Item": forwarded}),
            (
                "dynamodb",
                "update_item",
                {"Error": {"Code": "ConditionalCheckFailedException", "Status": 400}},
            ),
            ("dynamodb", "get_item", {"Item": forwarded}),  # done, and announced: nothing to do
        ],
    }
    return scripts[function]


#: Processes that run no code of ours, measured beside the functions: the floor, then the floor
#: plus what every function must load by this project's choice of libraries. They show how much
#: of a function's ratio the libraries alone take, and how much is left to our code.
REFERENCES = {
    "floor": "boto3, one DynamoDB client, one stubbed call",
    "floor + pydantic": "the floor, then pydantic imported and one two-field model validated",
    "floor + libraries": (
        "the floor + pydantic, then Powertools Logger, Metrics and an APIGatewayHttpResolver "
        "answering one request to a one-route app"
    ),
}


def reference(name: str) -> None:
    """One of REFERENCES, in the measured process."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("dynamodb")
    with Stubber(client) as stub:
        stub.add_response("get_item", {})
        client.get_item(TableName="t", Key={"PK": {"S": "x"}})
    if name == "floor":
        return
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        size: int

    item = Item.model_validate({"name": "clip.mp4", "size": 1})
    if name == "floor + pydantic":
        return
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    logger, metrics, app = Logger(), Metrics(namespace="Bench"), APIGatewayHttpResolver()
    app.get("/item")(item.model_dump)
    event = json.loads((ROOT / "events" / "get_token.json").read_text())
    event |= {"routeKey": "GET /item", "rawPath": "/item"}
    event["requestContext"]["http"] |= {"method": "GET", "path": "/item"}
    logger.info("answered", extra={"status": app.resolve(event, None)["statusCode"]})  # type: ignore[arg-type]
    metrics.add_metric(name="Answered", unit="Count", value=1)
    metrics.flush_metrics()


def child(function: str) -> None:
    """Runs in the measured process."""
    if function in REFERENCES:
        reference(function)
        return
    import importlib.util

    name = os.environ["BENCH_EVENT_FILE"]
    code = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location("app", code)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the module-level init, as Lambda runs it

    from io import BytesIO

    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    from upload_service.core import aws

    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    stubs: dict[str, Stubber] = {}
    for service, operation, response in stub_script(function, event):
        if service not in stubs:  # "s3-copy": the S3 client of copies inside S3
            stubs[service] = Stubber(aws.copy_client() if service == "s3-copy" else aws.client(service))
        if "Error" in response:
            code = response["Error"]["Code"]
            status = int(response["Error"].get("Status", code))
            stubs[service].add_client_error(operation, service_error_code=code, http_status_code=status)
        elif "Body" in response:  # a streamed answer (GetObject)
            body = response["Body"]
            stubs[service].add_response(
                operation, {**response, "Body": StreamingBody(BytesIO(body), len(body))}
            )
        else:
            stubs[service].add_response(operation, response)
    for stub in stubs.values():
        stub.activate()

    class Context:
        function_name = function
        memory_limit_in_mb = 512
        invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
        aws_request_id = "bench"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 10_000

    result = module.lambda_handler(event, Context())
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
    if status >= 500 or (isinstance(result, dict) and result.get("batchItemFailures")):
        raise SystemExit(f"{function} failed: {result}")


if __name__ == "__main__":
    child(sys.argv[1])
