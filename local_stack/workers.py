"""What AWS runs around the functions: the SQS event source mapping and the EventBridge schedule."""

from __future__ import annotations

import hashlib
import re
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

from local_stack.functions import LambdaFunction
from local_stack.iam.acting import running_as

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """`rate(5 minutes)` -> 300. cron() schedules are not run locally."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise ValueError(f"only rate() schedules run locally, not {expression!r}")
    return int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")]


def scheduled_event(rule_arn: str, region: str) -> dict[str, Any]:
    """The event an EventBridge schedule rule delivers."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The batch event an SQS event source mapping delivers."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class QueuePoller(threading.Thread):
    """Long-polls a queue and invokes the function with batches; deletes what did not fail.

    Failed messages (batchItemFailures, or all of them when the function raised) stay, to come
    back after the visibility timeout and reach the DLQ after maxReceiveCount, as on AWS. Several
    pollers of one queue run at once (`number` tells them apart), so batches are processed
    concurrently by separate copies of the function, as Lambda's pollers do.
    """

    def __init__(
        self,
        function: LambdaFunction,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        region: str,
        number: int = 0,
    ) -> None:
        super().__init__(name=f"sqs-{function.spec.name}-{number}", daemon=True)
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = min(batch_size, 10)
        self.region = region
        self.stopping = threading.Event()
        self.sqs: Any = boto3.client("sqs")

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                traceback.print_exc()
                time.sleep(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One batch; Lambda's pollers receive and delete with the function's role, as this does."""
        with running_as(self.function.spec.name):
            return self._poll(wait_seconds)

    def _poll(self, wait_seconds: int) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        try:
            result = self.function.invoke(sqs_event(messages, self.queue_arn, self.region))
        except Exception:
            traceback.print_exc()
            return len(messages)
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def stop(self) -> None:
        self.stopping.set()


class Schedule(threading.Thread):
    """Invokes the function every `interval` seconds, as an EventBridge rule would."""

    def __init__(self, function: LambdaFunction, interval: int, region: str) -> None:
        super().__init__(name=f"schedule-{function.spec.name}", daemon=True)
        self.function = function
        self.interval = interval
        self.region = region
        self.stopping = threading.Event()

    def run(self) -> None:
        rule = f"arn:aws:events:{self.region}:123456789012:rule/{self.function.spec.name}-schedule"
        while not self.stopping.wait(self.interval):
            try:
                self.function.invoke(scheduled_event(rule, self.region))
            except Exception:
                traceback.print_exc()

    def stop(self) -> None:
        self.stopping.set()
