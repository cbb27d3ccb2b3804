"""S3's event notifications from the emulator name the object's version and a sequencer, as S3's
do (local_stack/moto_fixes/s3_notifications.py): the processor tells object versions apart by them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.moto_fixes.s3_notifications import notifications_name_version_and_sequence


@pytest.fixture
def bucket_and_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    """A versioned bucket whose ObjectCreated events go to a queue (moto in process, mended)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with notifications_name_version_and_sequence.held(), mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="arrivals")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.create_bucket(Bucket="arrivals-bucket")
        s3.put_bucket_versioning(Bucket="arrivals-bucket", VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket="arrivals-bucket",
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        yield s3, sqs, queue


def objects_named(sqs: Any, queue: str) -> list[dict[str, Any]]:
    found = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            found += [record["s3"]["object"] for record in body.get("Records", [])]
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_the_same_bytes_sent_again_are_another_version_in_another_event(
    bucket_and_queue: tuple[Any, Any, str],
) -> None:
    s3, sqs, queue = bucket_and_queue
    versions = [s3.put_object(Bucket="arrivals-bucket", Key="k", Body=b"same")["VersionId"] for _ in range(3)]

    events = objects_named(sqs, queue)

    assert [event["versionId"] for event in events] == versions
    assert len({event["eTag"] for event in events}) == 1  # the same bytes: only the version tells
    sequencers = [event["sequencer"] for event in events]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 3
