"""The paths an upload takes through the template's functions, as benchmarks/metering.py measures
them: a small file by presigned POST, a large one by multipart (signed part by part, as Uppy does),
each landed, read and forwarded, and one cleanup run."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meter import CountingStdout, Meter, Step

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024**2
#: Forwarded in 5 MiB chunks while measuring, so a 7.5 MiB file makes two (per chunk = two minus one).
MEASURE_CHUNK_BYTES = 5 * MIB


class Paths:
    """The paths an upload takes, each invocation a Step (the handlers' own events, from events/)."""

    def __init__(self, harness: Any, meter: Meter, stdout: CountingStdout) -> None:
        self.harness = harness
        self.meter = meter
        self.stdout = stdout

    def invoke(self, name: str, function: str, event: dict[str, Any]) -> tuple[Step, Any]:
        step = Step(name, function)
        sys.stdout.flush()
        self.stdout.counted = 0
        self.stdout.function = function
        self.meter.current = step
        try:
            result = self.harness.functions[function].invoke(event)
        finally:
            self.meter.current = None
            sys.stdout.flush()
            step.log_bytes = self.stdout.counted
        return step, result

    def count(self, function: str, event: dict[str, Any]) -> tuple[Step, Any]:
        """As cost.Harness.count, for multipart.py's routes."""
        return self.invoke(function, function, event)

    def run(self) -> dict[str, Step]:
        from cost import _event

        steps: dict[str, Step] = {}
        user = f"price-user-{time.monotonic_ns()}"

        def keep(step: Step) -> None:
            steps[step.name] = step

        # A small file: a token, a presigned POST, the file, the landing, the decision read, forwarding.
        token = self.mint(user, keep)
        step, result = self.invoke(
            "POST /upload",
            "StartUploadFunction",
            _event("start_upload", queryStringParameters={"token": token}, rawQueryString=f"token={token}"),
        )
        assert result["statusCode"] == 200, result
        keep(step)
        key = json.loads(result["body"])["key"]
        self.land(key, _small_file(), "landing", keep)
        step, result = self.invoke(
            "GET /upload-tokens/{token}",
            "GetTokenFunction",
            _event(
                "get_token", user, pathParameters={"uploadToken": token}, rawPath=f"/upload-tokens/{token}"
            ),
        )
        assert result["statusCode"] == 200, result
        keep(step)
        self.forward(key, "forward, 1 chunk", keep)
        # A large file: a multipart upload of two parts, signed one request per part as Uppy does.
        large = self.multipart(self.mint(user, lambda _: None), keep)
        self.forward(large, "forward, 2 chunks", keep)
        step, result = self.invoke("cleanup run, nothing expired", "CleanupFunction", _event("cleanup"))
        keep(step)
        return steps

    def mint(self, user: str, keep: Callable[[Step], None]) -> str:
        from cost import _event

        step, result = self.invoke("POST /upload-tokens", "CreateTokenFunction", _event("create_token", user))
        assert result["statusCode"] == 200, result
        keep(step)
        return str(json.loads(result["body"])["token"])

    def land(self, key: str, body: bytes | None, name: str, keep: Callable[[Step], None]) -> None:
        """The object arrives (unmetered: the browser sends it), then its S3 event through process-upload."""
        from datetime import UTC, datetime

        from cost import _event

        from upload_service.core.storage import default_storage

        if body is not None:
            storage = default_storage()
            with self.meter.paused():
                storage.client.put_object(Bucket=storage.bucket, Key=key, Body=body, ContentType="video/mp4")
        event = _event("process_upload")
        message = json.loads(event["Records"][0]["body"])
        message["Records"][0]["s3"]["object"]["key"] = key.replace(" ", "+")
        message["Records"][0]["eventTime"] = datetime.now(UTC).isoformat()
        event["Records"] = [{**event["Records"][0], "body": json.dumps(message)}]
        step, result = self.invoke(name, "ProcessUploadFunction", event)
        assert result == {"batchItemFailures": []}, result
        keep(step)

    def multipart(self, token: str, keep: Callable[[Step], None]) -> str:
        import requests
        from multipart_calls import Routes
        from multipart_setup import content, parts_of

        routes = Routes(self, token)
        started = routes.call(
            "POST", "/multipart", "/multipart", {}, {"filename": "large.mp4", "type": "video/mp4"}
        )
        keep(self._named(routes, "POST /s3/multipart"))
        query = {"key": started["key"]}
        data = content(MEASURE_CHUNK_BYTES + MEASURE_CHUNK_BYTES // 2)
        refs = []
        for number, part in enumerate(parts_of(data, MEASURE_CHUNK_BYTES), start=1):
            signed = routes.call(
                "GET",
                "/multipart/{uploadId}/{partNumber}",
                f"/multipart/{started['uploadId']}/{number}",
                query,
            )
            keep(self._named(routes, "GET /s3/multipart/{uploadId}/{partNumber}"))
            with self.meter.paused():
                sent = requests.put(signed["url"], data=part, timeout=60)  # moto answers it in process
            assert sent.status_code == 200, sent.text
            refs.append({"PartNumber": number, "ETag": sent.headers["ETag"]})
        routes.call(
            "POST",
            "/multipart/{uploadId}/complete",
            f"/multipart/{started['uploadId']}/complete",
            query,
            {"parts": refs},
        )
        keep(self._named(routes, "POST /s3/multipart/{uploadId}/complete"))
        self.land(started["key"], None, "landing (multipart)", keep)
        return str(started["key"])

    @staticmethod
    def _named(routes: Any, name: str) -> Step:
        step: Step = routes.counted[-1][1]
        step.name = name
        return step

    def forward(self, key: str, name: str, keep: Callable[[Step], None]) -> None:
        from cost import _event

        upload_id = key.split("/")[1]
        event = _event("forward_upload")
        message = json.loads(event["Records"][0]["body"])
        message["detail"]["uploadId"] = upload_id
        event["Records"] = [{**event["Records"][0], "body": json.dumps(message)}]
        step, result = self.invoke(name, "ForwardUploadFunction", event)
        assert result == {"batchItemFailures": []}, result
        keep(step)


def _small_file() -> bytes:
    """A real MP4 (tests/fixtures/content/clip.mp4): the landing checks accept it."""
    return (ROOT / "tests" / "fixtures" / "content" / "clip.mp4").read_bytes()
