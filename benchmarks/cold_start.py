"""Cold start per function, as a ratio to the floor (a process that imports boto3, creates one
DynamoDB client and makes one stubbed call). Each run is a fresh process that imports the handler,
runs its module-level init and handles its events/ example once, every AWS call answered by
botocore's Stubber (no network). The first event is inside the measurement on purpose: moving an
import from init into the first request gains nothing here.

Both sides run as Lambda runs them: Python 3.13, the layer exactly as `sam build` builds it
(layers/shared/Makefile, built for this machine's platform into .bench/layer), boto3 as the runtime
provides it (.bench/runtime), nothing else on the path, and no bytecode written while measuring
(Lambda's /opt and /var/task are read-only).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
LAYER = BENCH / "layer" / "python"
#: The same layer without bytecode, as SAM's python3.13 build method would ship it.
SOURCE_ONLY_LAYER = BENCH / "layer-source-only" / "python"
RUNTIME = BENCH / "runtime"


def _event_files() -> dict[str, str]:
    """Function -> its events/ example, named like its code directory (functions/<name>/)."""
    sys.path.insert(0, str(ROOT))
    from local_stack.template import load_template

    return {
        name: Path(spec["Properties"]["CodeUri"]).name
        for name, spec in load_template()["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function"
    }


EVENT_FILES = _event_files() if __name__ != "__main__" or "--child" not in sys.argv else {}


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
        "fileSize": {"N": "1024"},
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
                {"ContentLength": 11, "ContentType": "video/mp4", "ETag": '"e1"', "VersionId": "v1"},
            ),
            ("dynamodb", "get_item", {"Item": _token_item(token, owner)}),
            ("s3", "get_object", {"Body": b"\x00\x00\x00\x18ftypmp42isom", "ContentLength": 16}),  # sniff
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


def environment() -> dict[str, str]:
    """template.yaml's function variables (names for the resources), offline credentials."""
    sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]
    from local_stack.functions import function_specs
    from local_stack.template import Resolver, load_template

    template = load_template()
    resolver = Resolver(
        template,
        Resolver.parameter_values(template, {"VideoPlatform": "apivideo", "ApiVideoApiKeySecret": "bench"}),
        {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "1",
            "AWS::StackName": "bench",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        },
        ref=lambda name: name.lower(),
        get_att=lambda name, attribute: f"arn:aws:::{name}",
    )
    merged: dict[str, str] = {}
    for spec in function_specs(template, resolver).values():
        merged |= spec.environment
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONHASHSEED")}
    return {
        **keep,
        **merged,
        "PYTHONPATH": python_path(LAYER),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _run(function: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    child_env = {**env, "BENCH_EVENT_FILE": EVENT_FILES.get(function, "")}
    done = subprocess.run(
        [runtime_python(), "-s", __file__, "--child", function],
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{function}: {done.stderr[-2000:]}")
    return elapsed


def python_path(layer: Path) -> str:
    """What Lambda's sys.path holds: the layer (/opt/python), then the runtime's boto3."""
    return os.pathsep.join([str(layer), str(RUNTIME)])


@cache
def runtime_python() -> str:
    """The Lambda runtime's Python (3.13); `make bench` puts pyenv's on PATH, as for `sam build`."""
    found = shutil.which("python3.13")
    if not found:
        raise SystemExit("cold_start needs python3.13 on PATH (the Lambda runtime's version)")
    return found


def prepare() -> None:
    """Build the layer with the same recipe as `sam build`, for this machine, and the runtime's boto3."""
    from importlib.metadata import version

    platform = f"manylinux2014_{os.uname().machine}"
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            str(ROOT / "layers/shared/Makefile"),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={BENCH / 'layer'}",
            f"PLATFORM={platform}",
            f"PYTHON={sys.executable}",
            f"RUNTIME_PYTHON={runtime_python()}",
        ],
        check=True,
    )
    shutil.rmtree(SOURCE_ONLY_LAYER, ignore_errors=True)
    shutil.copytree(LAYER, SOURCE_ONLY_LAYER, ignore=shutil.ignore_patterns("__pycache__"))
    if not (RUNTIME / "boto3").is_dir():
        subprocess.run(  # compiled by pip, as in the runtime's image
            [
                runtime_python(),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(RUNTIME),
                f"boto3=={version('boto3')}",
            ],
            check=True,
        )


def measure(runs: int = 7) -> list[dict[str, Any]]:
    """Per reference process and function: cold start with the layer as built, its ratio to the
    floor and to the libraries alone, and the same with a layer that ships no bytecode (what SAM's
    python3.13 build method makes)."""
    prepare()
    env = environment()
    source_only = {**env, "PYTHONPATH": python_path(SOURCE_ONLY_LAYER)}
    measured = [*REFERENCES, *EVENT_FILES]
    variants = {name: (name, env) for name in measured}
    for name in measured:
        if name != "floor":  # the floor loads nothing from the layer
            variants[f"{name} (no bytecode)"] = (name, source_only)
    for function, variant_env in variants.values():  # warm the OS file cache; no bytecode is written
        _run(function, variant_env)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, (function, variant_env) in variants.items():  # interleaved: drift hits all alike
            times[name].append(_run(function, variant_env))
    floor = statistics.median(times["floor"])
    libraries = statistics.median(times["floor + libraries"])
    rows = []
    for name in measured:
        built = statistics.median(times[name])
        without = statistics.median(times.get(f"{name} (no bytecode)", times[name]))
        rows.append(
            {
                "function": name,
                "cold_start_s": round(built, 3),
                "ratio": round(built / floor, 2),
                "goal": 1.3,
                "ratio_to_libraries": round(built / libraries, 2),
                "no_bytecode_s": round(without, 3),
                "no_bytecode_ratio": round(without / floor, 2),
            }
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        for row in measure(runs=int(os.environ.get("RUNS", "5"))):
            print(row)
