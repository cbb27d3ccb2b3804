"""What the forwarding bench (benchmarks/forwarding.py) measures, each run in a child process of its
own (benchmarks/children.py): one forward of the stored file through the real uploader (its time,
its memory), the plain `requests` reference, and one forwarded upload per file size with every call
it makes counted."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from children import answer
from forwarding_setup import AWS_ENV, BUCKET, FILE_NAME, MIB, OWNER, SECRET, accepted_upload, provision


def _rss() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


class _GetObjectWaits:
    """Seconds from sending each GetObject to its answer's headers: the emulator working, the
    forwarder idle."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._sent = 0.0

    def before(self, **_: Any) -> None:
        self._sent = time.perf_counter()

    def after(self, **_: Any) -> None:
        self.seconds.append(time.perf_counter() - self._sent)


def child_forward(args: dict[str, Any]) -> None:
    """One forward of the stored file through the real uploader; its time and this process's memory."""
    from upload_service.core import outbound
    from upload_service.core.config import Settings
    from upload_service.core.records import UploadRecord, UploadStatus
    from upload_service.core.storage import Storage
    from upload_service.forwarding import apivideo
    from upload_service.forwarding.apivideo import Progress
    from upload_service.forwarding.video_platform import ApiVideoUploader

    settings = Settings.model_validate(
        {
            "TABLE_NAME": "unused",
            "BUCKET_NAME": BUCKET,
            "VIDEO_PLATFORM": "apivideo",
            "API_VIDEO_BASE_URL": args["url"],
            "API_VIDEO_API_KEY_SECRET": SECRET,
            "FORWARD_CHUNK_BYTES": str(args["chunk_bytes"]),
        }
    )
    now = datetime.now(UTC)
    upload = UploadRecord(
        token_ref="0" * 32,
        upload_id=args["upload_id"],
        user_id=OWNER,
        file_name=FILE_NAME,
        file_size=args["size"],
        content_type="video/mp4",
        created_at=now,
        target_expires_at=now + timedelta(minutes=10),
        status=UploadStatus.ACCEPTED,
        object_size=args["size"],
        etag=args["etag"],
    )
    imported = _rss()["VmRSS"]
    # Warm, as a Lambda's second invocation is: the S3 client, the API key (cached 5 min) and the
    # bearer token (cached per process) are there already (the reference's token is outside its time).
    storage = Storage(BUCKET)
    waits = _GetObjectWaits()
    storage.client.meta.events.register("before-call.s3.GetObject", waits.before)
    storage.client.meta.events.register("after-call.s3.GetObject", waits.after)
    warm = apivideo.client(settings.api_video_base_url, apivideo.api_key(SECRET))
    warm.delete_upload_token(warm.create_upload_token(60))
    before = _rss()["VmRSS"]
    started, cpu = time.perf_counter(), time.process_time()
    with outbound.deadline(lambda: 900.0, margin=60) as deadline:
        uploader = ApiVideoUploader(settings, deadline, storage)
        done = uploader(upload, Progress(), lambda _: None)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    answer(
        {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "get_object_waits": waits.seconds,
            "rss_imported": imported,
            "rss_before": before,
            "peak_rss": _rss()["VmHWM"],
            "video_id": done.video_id,
            "bytes_sent": done.bytes_sent,
            "retries": uploader.retries,
        }
    )


def child_reference(args: dict[str, Any]) -> None:
    """Plain `requests.post` of the file's bytes from memory: in its chunks, or whole (chunk_bytes 0)."""
    import requests

    url, size, chunk_bytes = args["url"], args["size"], args["chunk_bytes"] or args["size"]
    with open(args["path"], "rb") as file:
        chunks = [file.read(chunk_bytes) for _ in range(0, size, chunk_bytes)]
    bearer = requests.post(f"{url}/auth/api-key", json={"apiKey": args["apiKey"]}, timeout=10).json()
    authorization = {"Authorization": f"Bearer {bearer['access_token']}"}
    token = requests.post(
        f"{url}/upload-tokens", json={"ttl": 960}, headers=authorization, timeout=10
    ).json()["token"]
    first = 0
    started, cpu = time.perf_counter(), time.process_time()
    # the video first, as the forwarder makes it (its lookup of an earlier one included), under an
    # upload id of its own: the forwarder must not find this video
    upload_id = os.urandom(16).hex()
    metadata = [{"key": "uploadId", "value": upload_id}]
    requests.get(f"{url}/videos", params={"metadata[uploadId]": upload_id}, headers=authorization, timeout=10)
    video_id = requests.post(
        f"{url}/videos", json={"title": FILE_NAME, "metadata": metadata}, headers=authorization, timeout=10
    ).json()["videoId"]
    for chunk in chunks:
        last = first + len(chunk) - 1
        headers = {} if len(chunks) == 1 else {"Content-Range": f"bytes {first}-{last}/{size}"}
        response = requests.post(
            f"{url}/upload",
            params={"token": token},
            data={"videoId": video_id},
            files={"file": (FILE_NAME, chunk, "video/mp4")},
            headers=headers,
            timeout=300,
        )
        response.raise_for_status()
        video_id = response.json()["videoId"]
        first = last + 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    answer({"seconds": seconds, "cpu_seconds": cpu, "video_id": video_id})


# --- calls per forwarded upload ---


def child_calls(args: dict[str, Any]) -> None:
    """In process: moto (mock_aws) provisioned from template.yaml, the double in a thread; one row per
    file size, counting only what `forward_upload` does."""
    from moto import mock_aws

    from local_stack.video_double import VideoDouble

    os.environ.update(AWS_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    chunk_bytes = int(args["chunk_bytes"])
    with VideoDouble(port=0) as double, mock_aws():
        provision(double.url, chunk_bytes)
        import boto3

        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=double.api_key)
        rows = [_forward_counted(double, chunks, chunk_bytes) for chunks in args["chunks"]]
    answer({"rows": rows})


def _forward_counted(double: Any, chunks: int, chunk_bytes: int) -> dict[str, Any]:
    from cost import Tally

    from upload_service.core import aws, outbound
    from upload_service.core.config import get_settings
    from upload_service.data.forwarding import ForwardingStore
    from upload_service.data.table import default_store
    from upload_service.data.uploads import UploadStore
    from upload_service.forwarding import forwarder
    from upload_service.forwarding.video_platform import ApiVideoUploader

    size = (chunks - 1) * chunk_bytes + chunk_bytes // 2
    upload = accepted_upload(size)
    requests_before = double.upload_requests
    dynamodb, s3, events = Tally(), Counter[str](), Counter[str]()
    hooks = [
        (aws.dynamodb(), "provide-client-params.dynamodb", dynamodb.params),
        (aws.dynamodb(), "after-call.dynamodb", dynamodb.after),
        (aws.client("s3"), "before-call.s3", lambda model, **_: s3.update([model.name])),
        (aws.client("events"), "before-call.events", lambda model, **_: events.update([model.name])),
    ]
    api_video: list[str] = []
    http_hooks = outbound.session().hooks["response"]
    http_hooks.append(lambda response, **_: api_video.append(response.request.method))
    for client, name, hook in hooks:
        client.meta.events.register(name, hook)
    try:
        with outbound.deadline(lambda: 900.0, margin=60) as deadline:
            outcome = forwarder.forward_upload(
                upload.upload_id,
                uploads=default_store(UploadStore),
                store=default_store(ForwardingStore),
                uploader=ApiVideoUploader(get_settings(), deadline),
                owner="bench-forwarder",
                now=int(time.time()),
                lease_seconds=900,
            )
    finally:
        http_hooks.pop()
        for client, name, hook in hooks:
            client.meta.events.unregister(name, hook)
    assert outcome.result == "forwarded", outcome
    video = double.video_stats(str(outcome.detail))
    assert video["complete"] and video["bytesReceived"] == size, video
    writes = dynamodb.written
    return {
        "chunks": chunks,
        "file_mib": round(size / MIB, 1),
        "dynamodb_calls": len(dynamodb.calls),
        "items_written": writes,
        "writes_minus_chunks": writes - chunks,
        "s3_get_object": s3["GetObject"],
        "s3_calls": sum(s3.values()),
        "eventbridge_calls": sum(events.values()),
        "api_video_calls": len(api_video),
        "upload_requests": double.upload_requests - requests_before,
        "dynamodb": ", ".join(f"{name} x{n}" for name, n in Counter(dynamodb.calls).items()),
    }
