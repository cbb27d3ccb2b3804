"""What one upload uses, in the units AWS bills, from the measured steps (price_figures.json,
benchmarks/metering.py) and the assumptions (prices.py); benchmarks/price.py prices it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from prices import ASSUME, GIB, MIB, PRICES
from request_units import S3_FREE, S3_GET_CLASS, S3_PUT_CLASS


@dataclass
class Usage:
    """What one upload uses, in the units AWS bills."""

    api_requests: float = 0
    invocations: float = 0
    gb_seconds: float = 0
    wru: float = 0
    rru: float = 0
    s3_put_class: float = 0
    s3_get_class: float = 0
    sqs_requests: float = 0
    events: float = 0
    log_bytes: float = 0
    secret_calls: float = 0
    transfer_bytes: float = 0
    stored_bytes: float = 0

    def add(self, step: dict[str, Any], times: float = 1, ms: float = 0, api: bool = False) -> None:
        self.invocations += times
        self.gb_seconds += times * ASSUME.memory_gb * ms / 1000
        self.wru += times * step["wru"]
        self.rru += times * step["rru"]
        for operation, n in step["s3"].items():
            self.s3_request(operation, times * n)
        for call, n in step["other_calls"].items():
            if call.startswith("sqs:"):
                self.sqs_requests += times * n
            elif call.startswith("secretsmanager:"):
                self.secret_calls += times * n
            else:
                raise ValueError(f"{call} has no price here")
        self.events += times * step["events"]
        self.log_bytes += times * (step["log_bytes"] + ASSUME.lambda_platform_log_bytes)
        if api:
            self.api_requests += times
            self.log_bytes += times * ASSUME.access_log_bytes

    def s3_request(self, operation: str, times: float) -> None:
        if operation in S3_PUT_CLASS:
            self.s3_put_class += times
        elif operation in S3_GET_CLASS:
            self.s3_get_class += times
        elif operation not in S3_FREE:
            raise ValueError(f"S3 {operation} is in no request class")

    def costs(self) -> dict[str, float]:
        """Dollars per upload, by line of the bill."""
        return {
            "API Gateway (HTTP API)": PRICES["api_requests"].of(self.api_requests),
            "Lambda requests": PRICES["lambda_requests"].of(self.invocations),
            "Lambda duration (arm64)": PRICES["lambda_gb_seconds"].of(self.gb_seconds),
            "DynamoDB writes": PRICES["dynamodb_wru"].of(self.wru),
            "DynamoDB reads": PRICES["dynamodb_rru"].of(self.rru),
            "S3 requests": PRICES["s3_put_class"].of(self.s3_put_class)
            + PRICES["s3_get_class"].of(self.s3_get_class),
            "SQS": PRICES["sqs_requests"].of(self.sqs_requests),
            "EventBridge": PRICES["events"].of(self.events),
            "CloudWatch Logs": PRICES["log_gb"].of(self.log_bytes / GIB),
            "X-Ray (every invocation traced)": PRICES["traces"].of(self.invocations),
            "Secrets Manager": PRICES["secret_calls"].of(self.secret_calls),
            "Data transfer to api.video": PRICES["transfer_gb"].of(self.transfer_bytes / GIB),
        }


SCENARIOS = {
    "small": "a file of {small} sent by presigned POST (`POST /upload`)",
    "large": "a file of {large} sent by multipart, as Uppy sends it ({parts} parts, each signed by a request"
    " of its own)",
}


def usage(figures: dict[str, Any], kind: str, forwarding: bool) -> Usage:
    """One upload of the scenario: mint a token, start, send, land, read the decision (and forward)."""
    steps = figures["steps"]
    size = ASSUME.small_file_bytes if kind == "small" else ASSUME.large_file_bytes
    use = Usage(stored_bytes=size)
    use.add(steps["POST /upload-tokens"], ms=ASSUME.api_invocation_ms, api=True)
    if kind == "small":
        use.add(steps["POST /upload"], ms=ASSUME.api_invocation_ms, api=True)
        use.s3_request("PostObject", 1)  # the browser's presigned POST
        landing = steps["landing"]
    else:
        parts = ASSUME.parts(size)
        use.add(steps["POST /s3/multipart"], ms=ASSUME.api_invocation_ms, api=True)
        use.add(steps["GET /s3/multipart/{uploadId}/{partNumber}"], parts, ASSUME.api_invocation_ms, api=True)
        use.s3_request("UploadPart", parts)  # the browser's part PUTs
        use.add(steps["POST /s3/multipart/{uploadId}/complete"], ms=ASSUME.api_invocation_ms, api=True)
        landing = steps["landing (multipart)"]
    use.sqs_requests += ASSUME.sqs_requests_per_message  # S3's notification, through the uploads queue
    use.add(landing, ms=ASSUME.landing_ms + 1000 * size / MIB / ASSUME.copy_mib_per_second)
    use.add(steps["GET /upload-tokens/{token}"], ms=ASSUME.api_invocation_ms, api=True)
    if forwarding:
        one, two = steps["forward, 1 chunk"], steps["forward, 2 chunks"]
        chunks = ASSUME.chunks(size)
        per_chunk = difference(two, one)
        forward = add_times(one, per_chunk, chunks - 1)
        use.add(forward, ms=ASSUME.forward_ms + 1000 * size / MIB / ASSUME.forward_mib_per_second)
        use.sqs_requests += ASSUME.sqs_requests_per_message  # "Upload Accepted", through the forward queue
        use.secret_calls += ASSUME.secret_reads_per_forward
        use.transfer_bytes += size
    return use


def difference(two: dict[str, Any], one: dict[str, Any]) -> dict[str, Any]:
    return {
        "wru": two["wru"] - one["wru"],
        "rru": two["rru"] - one["rru"],
        "s3": {k: two["s3"].get(k, 0) - one["s3"].get(k, 0) for k in set(two["s3"]) | set(one["s3"])},
        "other_calls": {
            k: two["other_calls"].get(k, 0) - one["other_calls"].get(k, 0)
            for k in set(two["other_calls"]) | set(one["other_calls"])
        },
        "events": two["events"] - one["events"],
        "log_bytes": two["log_bytes"] - one["log_bytes"],
    }


def add_times(one: dict[str, Any], each: dict[str, Any], times: int) -> dict[str, Any]:
    """`one`, and `times` more of `each` (one invocation in all)."""
    return {
        "wru": one["wru"] + times * each["wru"],
        "rru": one["rru"] + times * each["rru"],
        "s3": {
            k: one["s3"].get(k, 0) + times * each["s3"].get(k, 0) for k in set(one["s3"]) | set(each["s3"])
        },
        "other_calls": {
            k: one["other_calls"].get(k, 0) + times * each["other_calls"].get(k, 0)
            for k in set(one["other_calls"]) | set(each["other_calls"])
        },
        "events": one["events"] + times * each["events"],
        "log_bytes": one["log_bytes"] + times * each["log_bytes"],
    }


def cleanup_usd(figures: dict[str, Any]) -> float:
    """A month of scheduled cleanup runs with nothing to do, and its schedule's events at most."""
    cleanup = Usage()
    cleanup.add(figures["steps"]["cleanup run, nothing expired"], ASSUME.runs_per_month, ASSUME.cleanup_ms)
    schedule: float = PRICES["events"].of(ASSUME.runs_per_month)
    return sum(cleanup.costs().values()) + schedule
