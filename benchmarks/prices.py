"""AWS's prices for what an upload uses (us-east-1, on-demand, list prices without free tiers), where
each was read, and what benchmarks/price.py assumes rather than measures."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIB = 1024**2
GIB = 1024**3

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
