"""Every AWS call an upload makes, measured, and its DynamoDB request units counted as AWS bills them
(benchmarks/price.py prices them). The paths measured are upload_paths.py's, the calls recorded by
meter.py, the units counted by request_units.py; here, the child process that runs them.

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
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meter import CountingStdout, Meter
from upload_paths import MEASURE_CHUNK_BYTES, Paths

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "@bench-answer "
SECRET = "price-bench/api-video-api-key"


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
