"""What uploads cost on AWS: the calls each upload makes (measured by benchmarks/metering.py) times
AWS's public prices, as markdown tables.

`python benchmarks/price.py` prints the tables from the committed figures (price_figures.json);
`--measure` measures again and rewrites them, `--write-doc` puts the tables in docs/costs.md and their
summary in docs/deploying.md (tests/unit/test_price.py checks that both are what this script makes
of the committed figures).
`make bench` does all three. The prices (us-east-1) are kept here, in PRICES, with the date they were
read and where; what is assumed rather than measured is in ASSUMPTIONS, and printed with the tables.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metering import MIB, ROOT, S3_FREE, S3_GET_CLASS, S3_PUT_CLASS, measure

FIGURES = Path(__file__).resolve().parent / "price_figures.json"
DOC = ROOT / "docs" / "costs.md"
BEGIN = "<!-- benchmarks/price.py: generated, begin -->"
END = "<!-- benchmarks/price.py: generated, end -->"
GIB = 1024**3

# --- prices: us-east-1, on-demand, list prices without free tiers ---------------------------------

PRICES_READ = "2026-12-07"
PRICES_REGION = "us-east-1"
#: Where each price was read. AWS's own pages come first; the third-party pages quote the same
#: figures with a date (AWS's pages render their tables in the browser).
SOURCES = {
    "api": "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, first 300 million a month; "
    "AWS whitepaper 'Best Practices for Designing Amazon API Gateway Private APIs', cost optimization)",
    "lambda": "https://aws.amazon.com/lambda/pricing/ (arm64, first 7.5 billion GB-s a month; "
    "cloudchipr.com/blog/aws-lambda-pricing)",
    "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 2024-11-01 cut; "
    "airbyte.com/data-engineering-resources/dynamodb-pricing, 2025-07-21)",
    "s3": "https://aws.amazon.com/s3/pricing/ (S3 Standard, first 50 TB; "
    "c3x.dev/blog/s3-request-fees-explained)",
    "sqs": "https://aws.amazon.com/sqs/pricing/ (standard queues, per 64 KB chunk; "
    "cloudburn.io/blog/amazon-sqs-pricing, 2026-03)",
    "events": "https://aws.amazon.com/eventbridge/pricing/ (custom events, per 64 KB chunk; "
    "cloudburn.io/blog/amazon-eventbridge-pricing, 2026-03)",
    "logs": "https://aws.amazon.com/cloudwatch/pricing/ (Logs, standard class; "
    "hykell.com/knowledge-base/aws-cloudwatch-logs-pricing)",
    "cloudwatch": "https://aws.amazon.com/cloudwatch/pricing/ (alarms, custom metrics; "
    "c3x.dev/resources/aws/aws_cloudwatch_metric_alarm)",
    "xray": "https://aws.amazon.com/xray/pricing/ (traces recorded; the page's German edition, "
    "aws.amazon.com/de/xray/pricing/)",
    "secrets": "https://aws.amazon.com/secrets-manager/pricing/ (per secret and per 10,000 calls; "
    "hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms)",
    "transfer": "https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer out to the internet, "
    "first 10 TB; cloud-cost-557.pages.dev, 2026-06-10)",
}


@dataclass(frozen=True)
class Price:
    usd: float
    per: float
    unit: str
    source: str

    def of(self, quantity: float) -> float:
        return quantity * self.usd / self.per


PRICES = {
    "api_requests": Price(1.00, 1e6, "HTTP API requests (each 512 KB)", "api"),
    "lambda_requests": Price(0.20, 1e6, "Lambda requests", "lambda"),
    "lambda_gb_seconds": Price(0.0000133334, 1, "Lambda GB-second, arm64", "lambda"),
    "dynamodb_wru": Price(0.625, 1e6, "DynamoDB write request units, on-demand", "dynamodb"),
    "dynamodb_rru": Price(0.125, 1e6, "DynamoDB read request units, on-demand", "dynamodb"),
    "s3_put_class": Price(0.005, 1000, "S3 PUT, COPY, POST, LIST requests", "s3"),
    "s3_get_class": Price(0.0004, 1000, "S3 GET, HEAD and other requests (DELETE is free)", "s3"),
    "s3_gb_month": Price(0.023, 1, "S3 Standard storage, GB-month", "s3"),
    "sqs_requests": Price(0.40, 1e6, "SQS requests, standard queue", "sqs"),
    "events": Price(1.00, 1e6, "EventBridge custom events published", "events"),
    "log_gb": Price(0.50, 1, "CloudWatch Logs ingestion, GB", "logs"),
    "traces": Price(5.00, 1e6, "X-Ray traces recorded", "xray"),
    "secret_calls": Price(0.05, 10000, "Secrets Manager API calls", "secrets"),
    "secret_month": Price(0.40, 1, "Secrets Manager secret, month", "secrets"),
    "transfer_gb": Price(0.09, 1, "Data transfer out to the internet, GB", "transfer"),
    "alarm_month": Price(0.10, 1, "CloudWatch alarm (standard resolution), month", "cloudwatch"),
    "metric_month": Price(0.30, 1, "CloudWatch custom metric, month", "cloudwatch"),
}

# --- what is assumed, not measured ----------------------------------------------------------------


@dataclass(frozen=True)
class Assumptions:
    small_file_bytes: int = 10 * MIB  # the demo page sends up to 10 MiB as one presigned POST
    large_file_bytes: int = GIB  # MaxUploadBytes' default
    uppy_part_bytes: int = 5 * MIB  # @uppy/aws-s3: max(5 MiB, size / 10,000)
    forward_chunk_bytes: int = 50 * MIB  # ForwardChunkBytes' default
    memory_gb: float = 0.5  # MemorySize 512 (template Globals)
    api_invocation_ms: int = 60  # a warm handler making 2-4 DynamoDB calls, and ~1% cold starts (0.6 s)
    landing_ms: int = 200  # head, one 4 KiB read, a transaction, the copy request, the delete
    copy_mib_per_second: int = 100  # S3's server-side CopyObject into media/, while the processor waits
    forward_ms: int = 500  # api.video's bearer token, an upload token and its deletion
    forward_mib_per_second: int = 25  # from S3 through the function to api.video
    cleanup_ms: int = 100  # a scheduled run with nothing expired
    lambda_platform_log_bytes: int = 360  # START, END and REPORT lines of every invocation
    access_log_bytes: int = 400  # one line of the HTTP API's access log (template.yaml's format)
    sqs_requests_per_message: int = 3  # send, receive, delete: batches of one (Lambda batches up to 10)
    secret_reads_per_forward: int = 1  # at most: the key is cached 5 minutes per process
    runs_per_month: int = 43200  # CleanupSchedule rate(1 minute)

    def parts(self, size: int) -> int:
        return math.ceil(size / max(self.uppy_part_bytes, math.ceil(size / 10000)))

    def chunks(self, size: int) -> int:
        return math.ceil(size / self.forward_chunk_bytes)


ASSUME = Assumptions()


def load(path: Path = FIGURES) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(path.read_text())
    return figures


def save(figures: dict[str, Any], path: Path = FIGURES) -> None:
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


# --- pricing --------------------------------------------------------------------------------------


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
        per_chunk = _difference(two, one)
        forward = _sum(one, per_chunk, chunks - 1)
        use.add(forward, ms=ASSUME.forward_ms + 1000 * size / MIB / ASSUME.forward_mib_per_second)
        use.sqs_requests += ASSUME.sqs_requests_per_message  # "Upload Accepted", through the forward queue
        use.secret_calls += ASSUME.secret_reads_per_forward
        use.transfer_bytes += size
    return use


def _difference(two: dict[str, Any], one: dict[str, Any]) -> dict[str, Any]:
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


def _sum(one: dict[str, Any], each: dict[str, Any], times: int) -> dict[str, Any]:
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


def _money(usd: float) -> str:
    if usd == 0:
        return "$0"
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}"


def _usd(usd: float) -> str:
    """A price as AWS writes it: $0.0000133334 and $0.40, not 1.33334e-05 and 0.4."""
    whole, _, fraction = f"{usd:.10f}".partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _size(size: int) -> str:
    return f"{size // GIB} GiB" if size >= GIB else f"{size // MIB} MiB"


COLUMNS = [("small", False), ("small", True), ("large", False), ("large", True)]


def _header() -> list[str]:
    names = {
        "small": f"{_size(ASSUME.small_file_bytes)} POST",
        "large": f"{_size(ASSUME.large_file_bytes)} multipart",
    }
    return [f"{names[kind]}, forwarding {'on' if on else 'off'}" for kind, on in COLUMNS]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


def render(figures: dict[str, Any]) -> str:
    """The markdown between BEGIN and END in docs/costs.md."""
    uses = [usage(figures, kind, on) for kind, on in COLUMNS]
    per_upload = [
        ("API requests", "api_requests"),
        ("Lambda invocations", "invocations"),
        ("Lambda GB-seconds", "gb_seconds"),
        ("DynamoDB write request units", "wru"),
        ("DynamoDB read request units", "rru"),
        ("S3 PUT/COPY/POST/LIST requests", "s3_put_class"),
        ("S3 GET/HEAD requests", "s3_get_class"),
        ("SQS requests", "sqs_requests"),
        ("EventBridge events", "events"),
        ("log bytes (functions and access log)", "log_bytes"),
        ("Secrets Manager calls (at most)", "secret_calls"),
    ]
    counts = _table(
        ["per upload", *_header()],
        [[label] + [_number(float(getattr(use, name))) for use in uses] for label, name in per_upload],
    )
    costs = [use.costs() for use in uses]
    bill = [[line] + [_money(1000 * c[line]) for c in costs] for line in costs[0]]
    bill.append(["**total**"] + [f"**{_money(1000 * sum(c.values()))}**" for c in costs])
    storage = [PRICES["s3_gb_month"].of(1000 * use.stored_bytes / GIB) for use in uses]
    bill.append(["S3 storage of the 1,000 files, per month kept"] + [_money(s) for s in storage])
    dollars = _table(["per 1,000 uploads", *_header()], bill)
    return "\n\n".join(
        [
            _prose(
                f"Figures measured {figures['measured']}; prices read {PRICES_READ}, {PRICES_REGION}, list"
                " prices without free tiers."
            ),
            _prose(f"What one upload uses, from minting its token to reading its decision: {_scenarios()}."),
            counts,
            "What 1,000 of them cost:",
            dollars,
            "Every month, whatever the traffic:",
            _fixed(figures),
            "The prices:",
            _prices(),
            "Assumed, not measured:",
            _assumptions(figures),
        ]
    )


def _scenarios() -> str:
    large = ASSUME.large_file_bytes
    return "; or ".join(
        text.format(small=_size(ASSUME.small_file_bytes), large=_size(large), parts=ASSUME.parts(large))
        for text in SCENARIOS.values()
    )


def _fixed(figures: dict[str, Any]) -> str:
    cleanup_usd = _cleanup_usd(figures)
    alarms = figures["alarms"]
    metrics = figures["custom_metrics"]
    rows = [
        [
            f"CloudWatch alarms ({alarms['forwarding_off']}; {alarms['forwarding_on']} with forwarding)",
            _money(PRICES["alarm_month"].of(alarms["forwarding_off"])),
            _money(PRICES["alarm_month"].of(alarms["forwarding_on"])),
        ],
        [
            f"cleanup, {ASSUME.runs_per_month:,} runs (Lambda, DynamoDB, logs, traces, and its schedule's"
            " events if they count as custom events)",
            _money(cleanup_usd),
            _money(cleanup_usd),
        ],
        [
            f"custom metrics ({metrics['forwarding_off']}; {metrics['forwarding_on']} with forwarding: what"
            " the handlers sent while measuring, and ColdStart per function), billed for the hours one is"
            " sent",
            f"up to {_money(PRICES['metric_month'].of(metrics['forwarding_off']))}",
            f"up to {_money(PRICES['metric_month'].of(metrics['forwarding_on']))}",
        ],
        ["the api.video key's secret", "$0", _money(PRICES["secret_month"].of(1))],
    ]
    return _table(["per month", "forwarding off", "forwarding on"], rows)


def _cleanup_usd(figures: dict[str, Any]) -> float:
    """A month of scheduled cleanup runs with nothing to do, and its schedule's events at most."""
    cleanup = Usage()
    cleanup.add(figures["steps"]["cleanup run, nothing expired"], ASSUME.runs_per_month, ASSUME.cleanup_ms)
    return sum(cleanup.costs().values()) + PRICES["events"].of(ASSUME.runs_per_month)


def _prices() -> str:
    rows = [
        [price.unit, _usd(price.usd) + (f" per {price.per:,.0f}" if price.per != 1 else ""), price.source]
        for price in PRICES.values()
    ]
    sources = "\n".join(_prose(f"- {key}: {url}", "  ") for key, url in SOURCES.items())
    return _table(["what", "price (USD)", "source"], rows) + "\n\n" + sources


def _assumptions(figures: dict[str, Any]) -> str:
    a = ASSUME
    items = [
        f"files of {_size(a.small_file_bytes)} (the demo page's limit for one POST) and"
        f" {_size(a.large_file_bytes)} (`MaxUploadBytes`' default) in parts of {a.uppy_part_bytes // MIB} MiB"
        f" (Uppy's: the larger of 5 MiB and a 10,000th of the file): {a.parts(a.large_file_bytes)} parts,"
        " each signed by one request;",
        "one token per upload (a token allows `UploadsPerToken`, 10: fewer tokens cost less), and one read of"
        " the decision (`GET /upload-tokens/{token}`; each further poll costs one more API request and"
        " invocation);",
        f"forwarding in chunks of {a.forward_chunk_bytes // MIB} MiB (`ForwardChunkBytes`): 1 and"
        f" {a.chunks(a.large_file_bytes)} chunks; the per-chunk work is measured with 1 and 2 chunks;",
        f"{a.memory_gb:g} GB functions billed {a.api_invocation_ms} ms per API request, {a.landing_ms} ms per"
        f" landing plus the copy into media/ at {a.copy_mib_per_second} MiB/s, {a.forward_ms} ms per forward"
        f" plus the bytes at {a.forward_mib_per_second} MiB/s, {a.cleanup_ms} ms per cleanup run;",
        f"one invocation per queue message and {a.sqs_requests_per_message} SQS requests per message (send,"
        " receive, delete; Lambda receives and deletes up to 10 at once under load, so fewer); every"
        " invocation traced (X-Ray samples 1 a second and 5% of the rest, so fewer);",
        f"{a.lambda_platform_log_bytes} bytes of Lambda's own log lines per invocation and"
        f" {a.access_log_bytes} per access-log line, besides the functions' lines as measured;",
        f"DynamoDB items of at most 1 KB (the largest measured: {figures['largest_item_bytes']} bytes);",
        "no retries, no rejected uploads, no API responses' data transfer (a few KB each); GB is 2^30 bytes.",
    ]
    return "\n".join(_prose(f"- {item}", "  ") for item in items)


def summary(figures: dict[str, Any]) -> str:
    """The short version, for docs/deploying.md."""
    totals = {(kind, on): 1000 * sum(usage(figures, kind, on).costs().values()) for kind, on in COLUMNS}
    transfer = {
        (kind, on): 1000 * usage(figures, kind, on).costs()["Data transfer to api.video"]
        for kind, on in COLUMNS
    }
    rows = [
        [
            f"files of {_size(ASSUME.small_file_bytes)}, one presigned POST each",
            f"about {_about(totals['small', False])}",
            f"about {_about(totals['small', True])}, {_about(transfer['small', True])} of it the bytes sent"
            " to api.video",
        ],
        [
            f"files of {_size(ASSUME.large_file_bytes)}, multipart in {ASSUME.uppy_part_bytes // MIB} MiB"
            " parts",
            f"about {_about(totals['large', False])}",
            f"about {_about(totals['large', True])}, {_about(transfer['large', True])} of it the bytes sent"
            " to api.video",
        ],
    ]
    alarms, metrics = figures["alarms"], figures["custom_metrics"]
    monthly = (
        f"Storing the accepted files adds S3's {_usd(PRICES['s3_gb_month'].usd)} per GB-month (forwarded"
        " files stay in the bucket too). Every month, whatever the traffic: the alarms"
        f" ({_about(PRICES['alarm_month'].of(alarms['forwarding_off']))}, or"
        f" {_about(PRICES['alarm_month'].of(alarms['forwarding_on']))} with forwarding), the cleanup schedule"
        f" (about {_about(_cleanup_usd(figures))}), custom metrics (up to"
        f" {_about(PRICES['metric_month'].of(metrics['forwarding_on']))}) and, with forwarding, the secret"
        f" ({_about(PRICES['secret_month'].of(1))}). Cognito bills monthly active users, not uploads."
    )
    return (
        f"Per 1,000 uploads, at {PRICES_REGION}'s prices read {PRICES_READ}:\n\n"
        + _table(["per 1,000 uploads", "forwarding off", "forwarding on"], rows)
        + "\n\n"
        + _prose(monthly)
    )


def _prose(text: str, indent: str = "") -> str:
    """A paragraph wrapped as the docs are (100 columns); `indent` continues a list item."""
    return textwrap.fill(
        text, width=100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def _about(usd: float) -> str:
    """Rounded for prose: $93, $2.78, $0.07."""
    return f"${usd:,.0f}" if usd >= 10 else f"${usd:.2f}"


#: Each page with a generated block, and what writes it.
PAGES: dict[Path, Callable[[dict[str, Any]], str]] = {DOC: render, ROOT / "docs" / "deploying.md": summary}


def write_doc(figures: dict[str, Any]) -> None:
    for path, make in PAGES.items():
        page = path.read_text()
        start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
        path.write_text(page[:start] + "\n\n" + make(figures) + "\n\n" + page[end:])


def doc_tables(path: Path = DOC) -> str:
    page = path.read_text()
    return page[page.index(BEGIN) + len(BEGIN) : page.index(END)].strip()


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks/price.py", description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="measure again, write price_figures.json")
    parser.add_argument("--write-doc", action="store_true", help="also write the tables into docs/costs.md")
    args = parser.parse_args()
    if args.measure:
        save(measure())
    figures = load()
    print(render(figures))
    if args.write_doc:
        write_doc(figures)


if __name__ == "__main__":
    main()
