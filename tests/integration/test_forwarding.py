"""Forwarding accepted uploads to api.video, in process against the emulator and the stack's api.video
double (over HTTP, scripted through its control routes): chunks, resume, rate limits, crashes,
races, final errors. The test stack forwards in chunks of 5 MiB (ForwardChunkBytes)."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider
from botocore.exceptions import ClientError

from local_stack.iam.guard import STANDS_FOR_TAG
from local_stack.workers import sqs_event
from tests.conftest import Published, Stack, User, aws_response
from tests.integration.test_processing import CLIP, seed_upload
from upload_service.core import outbound
from upload_service.core.config import get_settings
from upload_service.core.ids import generate_token
from upload_service.core.records import ForwardingStatus, Media, TokenRecord, UploadRecord, UploadStatus
from upload_service.core.storage import default_storage
from upload_service.data.forwarding import ForwardingStore
from upload_service.data.repository import default_repository
from upload_service.data.table import default_store
from upload_service.data.uploads import UploadStore
from upload_service.forwarding import forwarder
from upload_service.forwarding.apivideo import ApiKeyUnavailable, Progress
from upload_service.forwarding.video_platform import ApiVideoUploader

MIB = 1024 * 1024


class Double:
    """The stack's api.video double, through its control routes."""

    def __init__(self, stack: Stack) -> None:
        self.url = stack.info["videoPlatform"]["url"]

    def video(self, video_id: str) -> dict[str, Any]:
        return dict(requests.get(f"{self.url}/_double/videos/{video_id}", timeout=10).json())

    def videos_titled(self, title: str) -> list[str]:
        stats = requests.get(f"{self.url}/_double/stats", timeout=10).json()
        return [video["videoId"] for video in stats["videos"] if video["title"] == title]

    def source_sha256(self, video_id: str) -> str:
        response = requests.get(f"{self.url}/videos/{video_id}/source", timeout=60)
        response.raise_for_status()
        return hashlib.sha256(response.content).hexdigest()

    def fault(self, **fault: Any) -> None:
        requests.post(f"{self.url}/_double/faults", json=fault, timeout=10).raise_for_status()

    def pending_faults(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/_double/stats", timeout=10).json()["faults"])

    def expire_access_tokens(self) -> None:
        requests.post(f"{self.url}/_double/expire-access-tokens", timeout=10).raise_for_status()


@pytest.fixture
def double(stack: Stack, lambda_env: dict[str, str]) -> Iterator[Double]:
    video_double = Double(stack)
    yield video_double
    requests.delete(f"{video_double.url}/_double/faults", timeout=10)


def accepted(size: int, media: Media | None = None) -> tuple[UploadRecord, bytes]:
    """An ACCEPTED upload of `size` bytes (an MP4 header, then seeded random bytes) in media/, under a
    name of its own (the double titles its video so)."""
    content = CLIP + random.Random(size).randbytes(size - len(CLIP))
    upload = seed_upload("forward-owner", send=False, declared=size, file_name=f"{uuid.uuid4().hex}.mp4")
    storage = default_storage()
    storage.client.put_object(
        Bucket=storage.bucket, Key=upload.media_key, Body=content, ContentType="video/mp4"
    )
    stored = storage.head(upload.media_key)
    assert stored is not None
    return default_repository().accept_upload(upload, stored, datetime.now(UTC), media=media), content


def forward(
    upload: UploadRecord,
    *,
    owner: str = "forwarder-1",
    now: int | None = None,
    remaining: Callable[[], float] = lambda: 600.0,
    interrupt: Callable[[Progress], None] | None = None,
    before_recording: bool = False,
) -> forwarder.Outcome:
    """One forward-upload invocation's work; `interrupt` runs after each acknowledged chunk."""
    with outbound.deadline(remaining, margin=20) as deadline:
        uploader: Any = ApiVideoUploader(get_settings(), deadline)
        if interrupt is not None:
            uploader = Interrupted(uploader, interrupt, before_recording=before_recording)
        return forwarder.forward_upload(
            upload.upload_id,
            uploads=default_store(UploadStore),
            store=default_store(ForwardingStore),
            uploader=uploader,
            owner=owner,
            now=now or int(time.time()),
            lease_seconds=900,
        )


class Interrupted:
    """The real uploader, with something injected after each chunk api.video acknowledged: once it is
    recorded, or (`before_recording`) before that, as a crash in between would."""

    def __init__(
        self,
        inner: ApiVideoUploader,
        interrupt: Callable[[Progress], None],
        *,
        before_recording: bool = False,
    ) -> None:
        self.inner = inner
        self.interrupt = interrupt
        self.before_recording = before_recording

    @property
    def retries(self) -> int:
        return self.inner.retries

    def __call__(
        self, upload: UploadRecord, start: Progress, on_chunk: Callable[[Progress], None]
    ) -> Progress:
        def acknowledged(progress: Progress) -> None:
            if self.before_recording:
                self.interrupt(progress)
            on_chunk(progress)
            if not self.before_recording:
                self.interrupt(progress)

        return self.inner(upload, start, acknowledged)


class Crash(BaseException):
    """The process dies: nothing of ours catches it, nothing is released."""


def record_of(upload: UploadRecord) -> UploadRecord:
    current = default_repository().get_upload(upload.upload_id)
    assert current is not None
    return current


def no_range_twice(video: dict[str, Any]) -> bool:
    ranges = [(chunk["from"], chunk["to"]) for chunk in video["chunks"]]
    return len(ranges) == len(set(ranges))


def test_a_file_of_six_chunks_is_one_video_made_first_and_named_by_every_chunk(
    double: Double, published: Published
) -> None:
    upload, content = accepted(26 * MIB)

    outcome = forward(upload)

    assert outcome.result == "forwarded"
    record = record_of(upload)
    assert record.forwarding is not None
    assert record.forwarding.status is ForwardingStatus.FORWARDED
    assert (record.forwarding.bytes_sent, record.forwarding.attempts) == (26 * MIB, 1)
    video = double.video(record.forwarding.video_id or "")
    assert [chunk["contentRange"] for chunk in video["chunks"]] == [
        f"bytes {first}-{min(first + 5 * MIB, 26 * MIB) - 1}/{26 * MIB}"
        for first in range(0, 26 * MIB, 5 * MIB)
    ]
    assert [chunk["withVideoId"] for chunk in video["chunks"]] == [True] * 6
    assert video["metadata"] == [{"key": "uploadId", "value": upload.upload_id}]
    assert double.videos_titled(upload.file_name) == [record.forwarding.video_id]
    assert double.source_sha256(record.forwarding.video_id or "") == hashlib.sha256(content).hexdigest()
    assert published.about(upload.upload_id) == ["Upload Forwarded"]


def test_the_video_carries_the_media_the_landing_read(double: Double) -> None:
    # given an upload accepted with what its structure showed
    media = Media("mp4", 2.5, 160, 120, "h264", None)
    upload, _ = accepted(1 * MIB, media)

    # when it is forwarded
    assert forward(upload).result == "forwarded"

    # then api.video's video names the upload and holds the media's facts, as strings
    record = record_of(upload)
    assert record.media == media
    video = double.video(record.forwarding.video_id or "" if record.forwarding else "")
    assert video["metadata"] == [
        {"key": "uploadId", "value": upload.upload_id},
        {"key": "container", "value": "mp4"},
        {"key": "durationSeconds", "value": "2.5"},
        {"key": "width", "value": "160"},
        {"key": "height", "value": "120"},
        {"key": "videoCodec", "value": "h264"},
    ]


def test_rate_limits_are_waited_out_and_counted(double: Double) -> None:
    upload, _ = accepted(12 * MIB)
    double.fault(status=429, times=2, route="upload", retryAfter=1)

    started = time.monotonic()
    outcome = forward(upload)

    assert outcome.result == "forwarded"
    assert time.monotonic() - started >= 2  # the two waits api.video asked for
    record = record_of(upload)
    assert record.forwarding is not None and record.forwarding.attempts == 3  # one invocation, two retries
    video = double.video(record.forwarding.video_id or "")
    assert no_range_twice(video) and video["complete"]


def test_a_wait_past_the_remaining_time_ends_the_invocation_and_the_retry_resumes(double: Double) -> None:
    upload, content = accepted(16 * MIB)

    def throttle_long_after_the_second_chunk(progress: Progress) -> None:
        if progress.bytes_sent == 10 * MIB:
            double.fault(status=429, times=1, route="upload", retryAfter=120)

    started = time.monotonic()
    first = forward(upload, remaining=lambda: 60.0, interrupt=throttle_long_after_the_second_chunk)

    assert first.result == "later" and first.retry_after == pytest.approx(120)
    assert time.monotonic() - started < 30  # it did not sleep the 120 s
    saved = record_of(upload).forwarding
    assert saved is not None and saved.status is ForwardingStatus.IN_PROGRESS
    assert saved.bytes_sent == 10 * MIB and saved.lease_owner is None

    second = forward(upload, owner="forwarder-2")

    assert second.result == "forwarded"
    done = record_of(upload).forwarding
    assert done is not None and done.video_id == saved.video_id and done.bytes_sent == 16 * MIB
    video = double.video(done.video_id or "")
    assert no_range_twice(video)
    assert video["bytesReceived"] == 16 * MIB  # no acknowledged byte sent twice
    assert double.source_sha256(done.video_id or "") == hashlib.sha256(content).hexdigest()


def test_a_crash_after_the_second_chunk_resumes_at_the_third_once_the_lease_expires(double: Double) -> None:
    upload, content = accepted(16 * MIB)

    def crash_after_the_second_chunk(progress: Progress) -> None:
        if progress.bytes_sent == 10 * MIB:
            raise Crash()

    with pytest.raises(Crash):
        forward(upload, interrupt=crash_after_the_second_chunk)
    crashed = record_of(upload).forwarding
    assert crashed is not None and crashed.lease_owner == "forwarder-1"
    assert forward(upload, owner="too-early").result == "skipped"  # the lease still holds

    resumed = forward(upload, owner="after-expiry", now=int(time.time()) + 901)

    assert resumed.result == "forwarded"
    record = record_of(upload).forwarding
    assert record is not None and record.video_id == crashed.video_id
    video = double.video(record.video_id or "")
    assert [chunk["from"] for chunk in video["chunks"]] == [0, 5 * MIB, 10 * MIB, 15 * MIB]
    assert double.videos_titled(upload.file_name) == [record.video_id]
    assert double.source_sha256(record.video_id or "") == hashlib.sha256(content).hexdigest()


def test_racing_forwarders_and_a_duplicate_event_make_one_video_and_one_event(
    double: Double, published: Published
) -> None:
    upload, _ = accepted(11 * MIB)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda n: forward(upload, owner=f"racer-{n}"), range(4)))
    again = forward(upload, owner="duplicate-delivery")

    assert sorted(o.result for o in outcomes) == ["forwarded", "skipped", "skipped", "skipped"]
    assert again.result == "skipped"
    record = record_of(upload).forwarding
    assert record is not None
    assert double.videos_titled(upload.file_name) == [record.video_id]
    assert published.about(upload.upload_id) == ["Upload Forwarded"]


def test_a_final_refusal_fails_the_upload_once_with_api_videos_error(
    double: Double, published: Published
) -> None:
    upload, _ = accepted(2 * MIB)
    double.fault(
        status=400,
        times=1,
        route="upload",
        body={
            "type": "https://docs.api.video/reference/invalid-file",
            "title": "The file is invalid.",
            "status": 400,
        },
    )

    outcome = forward(upload)
    again = forward(upload, owner="redelivery")

    assert (outcome.result, again.result) == ("failed", "skipped")
    record = record_of(upload).forwarding
    assert record is not None and record.status is ForwardingStatus.FAILED
    assert record.error is not None and "The file is invalid." in record.error
    assert published.about(upload.upload_id) == ["Upload Forward Failed"]
    (event,) = [e for e in published.entries if e["Detail"]["uploadId"] == upload.upload_id]
    assert event["Detail"]["forwarding"]["error"] == record.error


def test_an_expired_bearer_token_is_renewed_once(double: Double) -> None:
    forward(accepted(1 * MIB)[0])  # the process now holds a bearer token
    double.expire_access_tokens()
    upload, _ = accepted(1 * MIB)

    assert forward(upload).result == "forwarded"


def test_uploads_that_were_not_accepted_never_reach_api_video(double: Double) -> None:
    pending = seed_upload("never-forwarded", send=False, file_name=f"{uuid.uuid4().hex}.mp4")
    rejected = default_repository().reject_upload(pending, UploadStatus.REJECTED, "test", datetime.now(UTC))

    assert forward(pending).result == "skipped"
    assert forward(rejected).result == "skipped"
    assert double.videos_titled(pending.file_name) == []


def test_nothing_secret_is_logged_while_forwarding(
    stack: Stack, double: Double, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    double.expire_access_tokens()  # a renewal, a retry and an error, logged as they happen
    double.fault(status=503, times=1, route="upload")
    upload, _ = accepted(6 * MIB)

    assert forward(upload).result == "forwarded"

    # The Logger's handler writes to the stdout it found at import, not capsys's: its records are
    # read through caplog, with their extra fields.
    logged = capsys.readouterr()
    assert "Retrying an outbound call" in caplog.text  # the 503 was logged
    text = logged.out + logged.err + caplog.text + repr([record.__dict__ for record in caplog.records])
    assert stack.info["videoPlatform"]["apiKey"] not in text
    assert "eyJ" not in text  # the double's bearer tokens are JWT-shaped
    assert "token=" not in text


def test_the_handler_returns_a_rate_limited_message_when_api_video_said(
    double: Double, monkeypatch: pytest.MonkeyPatch, stack: Stack
) -> None:
    """forward-upload itself, on a real message of a queue of its own: a 429 asking for longer than
    the invocation has left gives the lease back and sets the message's visibility to that wait
    (not the forward queue's 90 minutes), so it comes back when api.video said."""
    from local_stack.functions import FunctionSpec, LambdaFunction
    from local_stack.template import ROOT

    sqs = boto3.client("sqs")
    queue = sqs.create_queue(
        QueueName=f"forward-{uuid.uuid4().hex[:8]}",
        Attributes={"VisibilityTimeout": "5400"},
        tags={STANDS_FOR_TAG: stack.info["forwardQueueUrl"].rsplit("/", 1)[1]},  # the forwarder's role's
    )
    monkeypatch.setenv("FORWARD_QUEUE_URL", queue["QueueUrl"])
    get_settings.cache_clear()
    upload, _ = accepted(11 * MIB)
    body = {
        "detail-type": "Upload Accepted",
        "source": "upload-tokens",
        "detail": {"uploadId": upload.upload_id},
    }
    sqs.send_message(QueueUrl=queue["QueueUrl"], MessageBody=json.dumps(body))
    (message,) = sqs.receive_message(QueueUrl=queue["QueueUrl"], AttributeNames=["All"])["Messages"]
    event = sqs_event(
        [dict(message)],
        f"arn:aws:sqs:us-east-1:123456789012:{queue['QueueUrl'].rsplit('/', 1)[1]}",
        "us-east-1",
    )
    # 70 s left, 60 kept back: a wait of 12 s is past what this invocation may spend
    forwarder = LambdaFunction(
        FunctionSpec(
            "ForwardUploadFunction", ROOT / "functions/forward_upload", "app.lambda_handler", 70, 512, {}
        )
    )
    double.fault(status=429, times=1, route="upload", retryAfter=12)

    result = forwarder.invoke(event)
    get_settings.cache_clear()

    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    saved = record_of(upload).forwarding
    assert saved is not None and saved.lease_owner is None and saved.error and "retry after 12" in saved.error
    assert sqs.receive_message(QueueUrl=queue["QueueUrl"]).get("Messages") is None  # not yet
    back = sqs.receive_message(QueueUrl=queue["QueueUrl"], WaitTimeSeconds=20).get("Messages")
    assert back and back[0]["MessageId"] == message["MessageId"]  # after ~12 s, not 5400


def test_a_chunk_whose_answer_was_lost_is_not_sent_twice_nor_failed(double: Double) -> None:
    upload, content = accepted(12 * MIB)

    def lose_the_next_answer(progress: Progress) -> None:
        if progress.bytes_sent == 5 * MIB:
            double.fault(route="upload", loseResponse=True, times=1)

    outcome = forward(upload, interrupt=lose_the_next_answer)

    assert outcome.result == "forwarded"
    record = record_of(upload).forwarding
    assert record is not None and record.bytes_sent == 12 * MIB
    video = double.video(record.video_id or "")
    assert [chunk["from"] for chunk in video["chunks"]] == [0, 5 * MIB, 10 * MIB]  # the resend was refused
    assert double.source_sha256(record.video_id or "") == hashlib.sha256(content).hexdigest()


def test_a_chunk_acknowledged_but_not_recorded_is_not_sent_again(double: Double) -> None:
    upload, content = accepted(16 * MIB)

    def crash(progress: Progress) -> None:
        if progress.bytes_sent == 10 * MIB:
            raise Crash()

    with pytest.raises(Crash):
        forward(upload, owner="crashes", interrupt=crash, before_recording=True)
    recorded = record_of(upload).forwarding
    assert recorded is not None and recorded.bytes_sent == 5 * MIB  # api.video holds 10 MiB

    assert forward(upload, owner="after-expiry", now=int(time.time()) + 901).result == "forwarded"

    record = record_of(upload).forwarding
    assert record is not None and record.video_id == recorded.video_id
    video = double.video(record.video_id or "")
    assert [chunk["from"] for chunk in video["chunks"]] == [0, 5 * MIB, 10 * MIB, 15 * MIB]
    assert not [attempt for attempt in video["attempts"] if attempt["status"] >= 400]  # nothing resent
    assert double.source_sha256(record.video_id or "") == hashlib.sha256(content).hexdigest()


def test_a_wrong_api_key_is_retried_not_failed(double: Double, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"wrong-key-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager").create_secret(Name=secret, SecretString="not-the-key")
    upload, _ = accepted(1 * MIB)
    settings = get_settings().model_copy(update={"api_video_api_key_secret": secret})

    with (
        outbound.deadline(lambda: 600.0, margin=20) as deadline,
        pytest.raises(Exception, match=r"api\.video 400"),
    ):
        forwarder.forward_upload(
            upload.upload_id,
            uploads=default_store(UploadStore),
            store=default_store(ForwardingStore),
            uploader=ApiVideoUploader(settings, deadline),
            owner="misconfigured",
            now=int(time.time()),
            lease_seconds=900,
        )

    record = record_of(upload).forwarding
    assert record is not None and record.status is ForwardingStatus.IN_PROGRESS  # not FAILED: fix the key
    assert record.lease_owner is None and record.error is not None and "400" in record.error


def test_an_upload_that_keeps_failing_is_given_up_but_rate_limit_waits_do_not_count(double: Double) -> None:
    upload, _ = accepted(1 * MIB)
    store: ForwardingStore = default_store(ForwardingStore)
    now = int(time.time())
    for n in range(forwarder.MAX_INVOCATIONS):
        assert store.claim(upload.token_ref, upload.upload_id, f"failing-{n}", now, 900) is not None
        store.release(upload.token_ref, upload.upload_id, f"failing-{n}", "api.video 503: unavailable")
    assert store.claim(upload.token_ref, upload.upload_id, "waiting", now, 900) is not None
    store.release(upload.token_ref, upload.upload_id, "waiting", "rate limited", waited=True)
    counted = record_of(upload).forwarding
    assert counted is not None and counted.invocations == forwarder.MAX_INVOCATIONS

    outcome = forward(upload)

    assert outcome.result == "failed" and "gave up after 10 invocations" in (outcome.detail or "")
    assert double.videos_titled(upload.file_name) == []


# --- exactly one video per upload (issue 18 §4): whatever answer is lost, wherever the forwarder dies ---


def one_video_holding(double: Double, upload: UploadRecord, content: bytes) -> str:
    """Asserts that api.video holds one video of the upload (titled with its file name: an empty
    one left behind counts too), recorded, complete, with the file's exact bytes; returns its id."""
    record = record_of(upload).forwarding
    assert record is not None and record.status is ForwardingStatus.FORWARDED
    assert double.videos_titled(upload.file_name) == [record.video_id]
    video = double.video(record.video_id or "")
    assert video["complete"] and video["metadata"] == [{"key": "uploadId", "value": upload.upload_id}]
    assert double.source_sha256(record.video_id or "") == hashlib.sha256(content).hexdigest()
    return record.video_id or ""


def test_a_lost_answer_to_the_video_creation_makes_one_video(double: Double, published: Published) -> None:
    upload, content = accepted(12 * MIB)
    double.fault(route="videos", method="POST", loseResponse=True, times=1)

    outcome = forward(upload)

    assert double.pending_faults() == []  # the creation's answer was lost indeed
    assert outcome.result == "forwarded"
    one_video_holding(double, upload, content)
    assert published.about(upload.upload_id) == ["Upload Forwarded"]


@pytest.mark.parametrize("size", [3 * MIB, 12 * MIB])
def test_a_lost_answer_to_the_first_upload_request_makes_one_video(
    double: Double, published: Published, size: int
) -> None:
    """Issue 18 §4's cases: 3 MiB in one request made two complete videos, 12 MiB a complete one and
    an orphan. The first request names its video now, so its resend cannot start another."""
    upload, content = accepted(size)
    double.fault(route="upload", loseResponse=True, times=1)

    outcome = forward(upload)

    assert outcome.result == "forwarded"
    video_id = one_video_holding(double, upload, content)
    assert double.video(video_id)["bytesReceived"] == size  # the resent first chunk was refused
    assert published.about(upload.upload_id) == ["Upload Forwarded"]


def test_a_crash_between_the_videos_creation_and_its_record_makes_one_video(
    double: Double, published: Published
) -> None:
    """The forwarder dies after api.video answered its first request and before the record: the next
    attempt (once the lease expired) finds that video by the upload's id and goes on in it."""
    upload, content = accepted(12 * MIB)

    def crash_before_recording_the_first_answer(progress: Progress) -> None:
        raise Crash()

    with pytest.raises(Crash):
        forward(
            upload, owner="crashes", interrupt=crash_before_recording_the_first_answer, before_recording=True
        )
    crashed = record_of(upload).forwarding
    assert crashed is not None and crashed.video_id is None  # nothing recorded

    resumed = forward(upload, owner="after-expiry", now=int(time.time()) + 901)

    assert resumed.result == "forwarded"
    video_id = one_video_holding(double, upload, content)
    assert [chunk["from"] for chunk in double.video(video_id)["chunks"]] == [0, 5 * MIB, 10 * MIB]
    assert published.about(upload.upload_id) == ["Upload Forwarded"]


# --- what the uploader sees of an error (issue 18 §6) ---


def accepted_for(user: User, size: int) -> tuple[UploadRecord, str, bytes]:
    """An ACCEPTED upload under a token `user` owns: (the upload, the token, its content)."""
    content = CLIP + random.Random(size).randbytes(size - len(CLIP))
    now = datetime.now(UTC)
    repo = default_repository()
    token = TokenRecord.new(generate_token(), user.sub, 600, now)
    repo.create_token(token, max_live=10_000)
    upload = UploadRecord(
        token.ref,
        uuid.uuid4().hex,
        user.sub,
        f"{uuid.uuid4().hex}.mp4",
        size,
        "video/mp4",
        now,
        now + timedelta(minutes=10),
    )
    repo.start_upload(upload, allowance=3, attempts=50, retention=timedelta(days=1), now=now)
    storage = default_storage()
    storage.client.put_object(
        Bucket=storage.bucket, Key=upload.media_key, Body=content, ContentType="video/mp4"
    )
    stored = storage.head(upload.media_key)
    assert stored is not None
    return repo.accept_upload(upload, stored, now), token.token, content


ACCOUNT = "123456789012"
ROLE = "upload-tokens-ForwardUploadFunctionRole-1A2B3C4D5E6F"
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:upload-tokens/api-video-AbCdEf"


def denied(action: str, resource: str) -> str:
    """IAM's refusal, as AWS words it: the account, the role and the resource by name."""
    return (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/forward-upload is not authorized to perform: "
        f"{action} on resource: {resource} because no identity-based policy allows the {action} action"
    )


@contextmanager
def secrets_manager_denied(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """GetSecretValue answered with Secrets Manager's AccessDeniedException (a provider of its own,
    so no cached key answers instead)."""
    client = boto3.client("secretsmanager")
    payload = {
        "__type": "AccessDeniedException",
        "Message": denied("secretsmanager:GetSecretValue", SECRET_ARN),
    }
    client.meta.events.register(
        "before-send.secrets-manager.GetSecretValue",
        lambda **_: aws_response(400, json.dumps(payload).encode(), "application/x-amz-json-1.1"),
    )
    monkeypatch.setitem(DEFAULT_PROVIDERS, "secrets", SecretsProvider(boto3_client=client))
    yield


@contextmanager
def s3_denied(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ranged GetObject of the file answered with S3's AccessDenied."""
    del monkeypatch
    storage = default_storage()
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>"
        + denied("s3:GetObject", f"arn:aws:s3:::{storage.bucket}/media/...")
        + "</Message><RequestId>injected</RequestId></Error>"
    )

    def deny(**_: Any) -> Any:
        return aws_response(403, body.encode(), "application/xml")

    storage.client.meta.events.register("before-send.s3.GetObject", deny)
    try:
        yield
    finally:
        storage.client.meta.events.unregister("before-send.s3.GetObject", deny)


@pytest.mark.parametrize(
    ("injected", "raised", "shown"),
    [
        (secrets_manager_denied, ApiKeyUnavailable, "the API key could not be read; retrying"),
        (s3_denied, ClientError, "an internal error; retrying"),
    ],
)
def test_an_aws_error_is_logged_but_never_shown_to_the_uploader(
    stack: Stack,
    double: Double,
    user: User,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    injected: Callable[[pytest.MonkeyPatch], Any],
    raised: type[Exception],
    shown: str,
) -> None:
    """Issue 18 §6: `forwarding.error` carried botocore's text (account, role, secret) to the uploader."""
    upload, token, _ = accepted_for(user, 1 * MIB)

    with injected(monkeypatch), pytest.raises(raised):  # raised on to the handler: the message returns later
        forward(upload)
    answer = requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=30)

    assert answer.status_code == 200
    (seen,) = [u for u in answer.json()["uploads"] if u["uploadId"] == upload.upload_id]
    assert seen["forwarding"]["status"] == "IN_PROGRESS"
    assert seen["forwarding"]["error"] == shown
    for detail in (ACCOUNT, ROLE, "arn:aws", "api-video-AbCdEf", "not authorized"):
        assert detail not in answer.text
    assert f"assumed-role/{ROLE}" in caplog.text  # the details are in the log (the traceback)
