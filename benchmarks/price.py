"""What uploads cost on AWS: the calls each upload makes (measured by benchmarks/metering.py) times
AWS's public prices, as markdown tables.

`python benchmarks/price.py` prints the tables from the committed figures (price_figures.json);
`--measure` measures again and rewrites them, `--write-doc` puts the tables in docs/costs.md and their
summary in docs/deploying.md (tests/unit/test_price.py checks that both are what this script makes
of the committed figures).
`make bench` does all three. The prices (us-east-1) are kept in prices.py, in PRICES, with the date
they were read and where, beside what is assumed rather than measured (ASSUME, printed with the
tables); what one upload uses is upload_usage.py's; here, the tables and the pages they go in.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metering import measure
from prices import ASSUME, GIB, MIB, PRICES, PRICES_READ, PRICES_REGION, SOURCES
from upload_usage import SCENARIOS, cleanup_usd, usage

ROOT = Path(__file__).resolve().parent.parent
FIGURES = Path(__file__).resolve().parent / "price_figures.json"
DOC = ROOT / "docs" / "costs.md"
BEGIN = "<!-- benchmarks/price.py: generated, begin -->"
END = "<!-- benchmarks/price.py: generated, end -->"


def load(path: Path = FIGURES) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(path.read_text())
    return figures


def save(figures: dict[str, Any], path: Path = FIGURES) -> None:
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


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
    cleanup = cleanup_usd(figures)
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
            _money(cleanup),
            _money(cleanup),
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
        f" (about {_about(cleanup_usd(figures))}), custom metrics (up to"
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
