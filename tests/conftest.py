"""Shared fixtures: one local stack (moto server + HTTP API) per test process, users, sign-in."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config

from local_stack.credentials import TOOLS, Credentials
from local_stack.functions import FunctionSpec, LambdaFunction
from local_stack.iam.acting import calls_sign_as_their_function
from local_stack.iam.guard import STANDS_FOR_TAG
from local_stack.iam.usage import merged
from local_stack.powertools_fixes import logger_keys_per_thread, route_state_per_thread
from local_stack.template import load_template
from tests.isolation import ProcessState, clear_process_caches
from tests.waiting import PATIENCE

ROOT = Path(__file__).resolve().parent.parent
# What template.yaml's Globals give every function, set before any test imports the layer
# (Powertools reads these when the shared Logger/Metrics are created, as at a Lambda cold start).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "upload-tokens")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "UploadTokens")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
#: Where each local stack of the run writes which grants of the roles its calls used (local_stack/iam/
#: usage.py); the run's summary adds them up (`pytest_terminal_summary`).
IAM_USAGE_DIR = ROOT / ".local" / "iam-usage"
os.environ.setdefault("IAM_USAGE_DIR", str(IAM_USAGE_DIR))
#: Small limits so tests can reach them; every test signs in as users of its own.
TEST_PARAMETERS = (
    "MaxActiveTokensPerUser=5 RateLimitPerMinute=40 TokenTtlDefaultSeconds=3600 TokenTtlMaxSeconds=86400 "
    "MaxUploadBytes=1048576 UploadsPerToken=3 UploadRateLimitPerMinute=20 UploadTargetTtlSeconds=60 "
    "CleanupGraceSeconds=0 CleanupSchedule='rate(1 day)' CleanupBatchSize=50 ForwardChunkBytes=5242880"
)
PASSWORD = "Test-password-123"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the run's own process: last run's records go
        shutil.rmtree(IAM_USAGE_DIR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Least privilege: the template's grants no call of this run used, and the calls refused."""
    records = sorted(IAM_USAGE_DIR.glob("iam-usage-*.json")) if not hasattr(config, "workerinput") else []
    if not records:
        return
    usage = merged(records)
    write = terminalreporter.write_line
    write(f"IAM (local_stack/iam): {usage['used']} grants used by {len(records)} stacks' calls")
    for grant in usage["unused"]:
        write(f"  granted, never used: {grant}")
    for call, count in sorted(usage["denied"].items()):
        write(f"  refused {count}x: {call}")


@dataclass
class Stack:
    info: dict[str, Any]
    log: Path
    pid: int = 0

    @property
    def api(self) -> str:
        return str(self.info["apiUrl"])

    def client(self, service: str, config: Config | None = None) -> Any:
        """A client of the stack's emulator, with the credentials stack.json names for tools; S3's signs
        and presigns with SigV4, as the layer's (botocore would presign with SigV2 in us-east-1, which
        S3 and the strict emulator refuse)."""
        if config is None and service == "s3":
            config = Config(signature_version="s3v4")
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.info["awsEndpoint"],
            region_name=self.info["region"],
            config=config,
            **Credentials.from_json(self.info["awsCredentials"]).client_arguments(),
        )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`python -m local_stack` exactly as `make dev` runs it, on free ports."""
    with running_stack(tmp_path_factory.mktemp("stack"), TEST_PARAMETERS) as started:
        yield started


@contextmanager
def running_stack(workdir: Path, parameters: str, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A local stack with these parameter overrides (and environment, e.g. the emulator's
    TRANSACTION_CONFLICT_RATE); stopped with Ctrl-C's signal, its log checked for secrets."""
    stack_file = workdir / "stack.json"
    log = (workdir / "stack.log").open("w")
    env = {
        **os.environ,
        "API_PORT": "0",
        "AWS_PORT": "0",
        "VIDEO_PORT": "0",
        "STACK_FILE": str(stack_file),
        "PARAMETER_OVERRIDES": parameters,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + PATIENCE
    while not stack_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("local stack did not start:\n" + (workdir / "stack.log").read_text())
        time.sleep(0.1)
    info = json.loads(stack_file.read_text())
    try:
        yield Stack(info, workdir / "stack.log", process.pid)
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends: everything must stop, cleanly
        try:
            exit_code = process.wait(timeout=PATIENCE)  # in-flight invocations finish first
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # every thread's stack into the log, then stop it
            time.sleep(2)
            process.kill()
            log.close()
            raise AssertionError(
                f"the local stack did not stop within {PATIENCE:g} s; its log ends:\n"
                + (workdir / "stack.log").read_text()[-6000:]
            ) from None
        finally:
            log.close()
        assert exit_code == 0, (workdir / "stack.log").read_text()[-2000:]
        logged = (workdir / "stack.log").read_text()
        leaks = secrets_in(logged)
        assert not leaks, f"full tokens or JWTs in the local stack's log: {leaks[:5]}"
        api_key = info.get("videoPlatform", {}).get("apiKey")
        assert not api_key or api_key not in logged, "the api.video API key is in the local stack's log"


#: A whole upload token, or anything shaped like a JWT (three base64url parts, the first `eyJ`).
SECRET_PATTERNS = [
    re.compile(r"(?<![0-9A-Za-z])to[0-9A-Za-z]{22}(?![0-9A-Za-z])"),
    re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]*"),
]


def secrets_in(text: str) -> list[str]:
    """Log hygiene, checked over everything the suite made the stack log."""
    return [match for pattern in SECRET_PATTERNS for match in pattern.findall(text)]


@dataclass
class User:
    username: str
    sub: str
    id_token: str
    access_token: str

    def headers(self, token: str = "id") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token if token == 'id' else self.access_token}"}


def sign_in(stack: Stack, username: str, password: str, client_id: str | None = None) -> dict[str, str]:
    """USER_PASSWORD_AUTH against the emulator's Cognito, as a frontend does: unsigned."""
    result = stack.client("cognito-idp", config=Config(signature_version=UNSIGNED)).initiate_auth(
        ClientId=client_id or stack.info["userPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return dict(result["AuthenticationResult"])


def new_user(stack: Stack, admin: bool = False) -> User:
    """A fresh Cognito user (so per-user limits and listings start empty), signed in."""
    cognito = stack.client("cognito-idp")
    pool = stack.info["userPoolId"]
    username = f"{'admin' if admin else 'user'}-{uuid.uuid4().hex[:12]}"
    created = cognito.admin_create_user(
        UserPoolId=pool, Username=username, TemporaryPassword=PASSWORD, MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
    if admin:
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="admins")
    sub = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
    tokens = sign_in(stack, username, PASSWORD)
    return User(username, sub, tokens["IdToken"], tokens["AccessToken"])


@pytest.fixture(scope="session")
def make_user(stack: Stack) -> Callable[..., User]:
    """A fresh Cognito user, signed in (see `new_user`)."""
    return lambda admin=False: new_user(stack, admin)


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def other_user(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(admin=True)


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


EVENTS = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def template_functions() -> dict[str, Path]:
    """Function logical id -> code directory, from template.yaml."""
    resources = load_template()["Resources"]
    return {
        name: ROOT / spec["Properties"]["CodeUri"]
        for name, spec in resources.items()
        if spec["Type"] == "AWS::Serverless::Function"
    }


@pytest.fixture(autouse=True)
def nothing_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test leaves the process as it found it: environment, mends, caches, threads
    (tests/isolation.py). Within `lambda_env`'s session environment, caches may fill, as on a warm
    Lambda; that fixture empties them when it ends."""
    before = ProcessState.now()
    yield
    left = before.left_behind(caches_may_grow="lambda_env" in request.fixturenames)
    assert not left, "left behind by this test: " + "; ".join(left)


@pytest.fixture
def fresh_process_caches() -> Iterator[None]:
    """The layer's process caches empty before the test and again after it (as a cold start)."""
    clear_process_caches()
    yield
    clear_process_caches()


@pytest.fixture(scope="session")
def lambda_env(stack: Stack) -> Iterator[dict[str, str]]:
    """This process's environment as a function's: the template's variables, pointed at the emulator."""
    saved = dict(os.environ)
    # A bucket of our own, without notifications: the stack's queue consumer must not race the
    # deliveries these tests make themselves.
    bucket = f"integration-{uuid.uuid4().hex[:12]}"
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})  # as template.yaml
    # Judged as the template's bucket: the functions' roles allow it what they allow that one.
    s3.put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": STANDS_FOR_TAG, "Value": stack.info["bucketName"]}]}
    )
    os.environ.update(
        stack.info["functionEnvironment"],
        BUCKET_NAME=bucket,
        AWS_ENDPOINT_URL=stack.info["awsEndpoint"],
        AWS_DEFAULT_REGION=stack.info["region"],
        # Calls made inside an invocation are signed as that function's role and judged by it
        # (local_stack/iam); the tests' own calls of the layer outside one (setting records up, reading
        # them back) are the tools', as the tests' other checks are.
        **TOOLS.environment(),
        POWERTOOLS_TRACE_DISABLED="true",
    )
    with calls_sign_as_their_function.held():  # each invocation's calls signed with its function's role
        clear_process_caches()
        yield dict(os.environ)
        os.environ.clear()
        os.environ.update(saved)
        clear_process_caches()


@pytest.fixture(scope="session")
def invoke(lambda_env: dict[str, str]) -> Iterator[Callable[[str, dict[str, Any]], dict[str, Any]]]:
    """Invoke a template function's handler with an event, in this process (several at once, as the
    reliability tests do: Powertools' request state per thread meanwhile, as in the local stack)."""
    functions: dict[str, LambdaFunction] = {}
    code_dirs = template_functions()

    def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
        if function not in functions:
            spec = FunctionSpec(function, code_dirs[function], "app.lambda_handler", 10, 512, {})
            functions[function] = LambdaFunction(spec)
        result: dict[str, Any] = functions[function].invoke(event)
        return result

    with route_state_per_thread.held(), logger_keys_per_thread.held():
        yield call


class Published:
    """PutEvents entries EventBridge took, per upload id: read off the request sent (`before-send`)
    and kept once the call succeeded (`after-call`), so throttled attempts and crashes don't count."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._sending: list[dict[str, Any]] = []

    def sending(self, request: Any, **_: Any) -> None:
        body = json.loads(request.body)
        self._sending = [{**entry, "Detail": json.loads(entry["Detail"])} for entry in body["Entries"]]

    def sent(self, http_response: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            self.entries += self._sending

    def about(self, upload_id: str) -> list[str]:
        return [entry["DetailType"] for entry in self.entries if entry["Detail"].get("uploadId") == upload_id]

    def watch(self, client: Any) -> None:
        client.meta.events.register("before-send.events.PutEvents", self.sending)
        client.meta.events.register("after-call.events.PutEvents", self.sent)

    def unwatch(self, client: Any) -> None:
        client.meta.events.unregister("before-send.events.PutEvents", self.sending)
        client.meta.events.unregister("after-call.events.PutEvents", self.sent)


@pytest.fixture
def published(lambda_env: dict[str, str]) -> Iterator[Published]:
    from upload_service.core import aws

    client = aws.client("events")
    hook = Published()
    hook.watch(client)
    yield hook
    hook.unwatch(client)


class _Payload:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.payload


def aws_response(status: int, payload: bytes, content_type: str = "application/x-amz-json-1.0") -> Any:
    """A raw HTTP answer in a service's own wire format, for `before-send` hooks: botocore parses it
    (and its retry machinery judges it) exactly as if AWS had sent it."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    headers = HTTPHeaders()
    headers["Content-Type"] = content_type
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse("https://injected.invalid", status, headers, _Payload(payload))
