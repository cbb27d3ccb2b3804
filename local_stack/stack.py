"""Assemble the local stack: emulator, resources from template.yaml, demo users, the HTTP API."""

from __future__ import annotations

import errno
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local_stack.credentials import FUNCTIONS, TOOLS
from local_stack.emulator import Emulator
from local_stack.functions import LAYER_PATHS, FunctionSpec, LambdaFunction, function_specs
from local_stack.gateway import BoundRoute, Gateway, JwtAuthorizer
from local_stack.iam.acting import calls_sign_as_their_function
from local_stack.iam.deployed import bucket_policies, deployed_roles
from local_stack.powertools_fixes import logger_keys_per_thread, route_state_per_thread
from local_stack.provision import Provisioned, Provisioner
from local_stack.template import ROOT, TEMPLATE_PATH, Resolver, load_template
from local_stack.video_double import VideoDouble
from local_stack.workers import QueuePoller, Schedule, rate_seconds

#: How long a stop waits for the invocations in flight, all of them together.
STOP_GRACE_SECONDS = 15
#: Batches of one queue in flight at once, as Lambda's SQS pollers invoke several copies of a function.
SQS_POLLERS = 4
DEMO_USERS = [
    {"username": "alice", "password": "Alice-local-pass-1", "admin": False},
    {"username": "admin", "password": "Admin-local-pass-1", "admin": True},
]
#: What the Lambda runtime and the local stack add to every function's environment: among them the
#: credentials the strict emulator knows as the functions' (local_stack/credentials.py).
RUNTIME_ENVIRONMENT = {
    **FUNCTIONS.environment(),
    "POWERTOOLS_TRACE_DISABLED": "true",
}


class PortInUse(Exception):
    """A port the stack needs is taken: which one, and the variable that moves it."""

    def __init__(self, port: int, variable: str) -> None:
        super().__init__(
            f"port {port} is in use by another program, so the local stack cannot listen on it "
            f"({variable}, default {DEFAULT_PORTS[variable]}). Stop that program, or pick another port: "
            f"{variable}={port + 1} make dev"
            + (
                " (on macOS, AirPlay Receiver takes port 5000: System Settings can turn it off)"
                if port == 5000
                else ""
            )
        )
        self.port = port
        self.variable = variable


#: The ports `make dev` listens on, by the environment variable that moves each (0: any free port).
DEFAULT_PORTS = {"API_PORT": 3000, "AWS_PORT": 5000, "VIDEO_PORT": 5050}


@contextmanager
def listening_on(port: int, variable: str) -> Iterator[None]:
    """A server bound in the block; a taken port becomes `PortInUse`, naming `variable`."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(port, variable) from None
        raise


def parse_overrides(text: str) -> dict[str, str]:
    """`Name=value Other=value`, as `sam deploy --parameter-overrides` takes them."""
    pairs = [item.split("=", 1) for item in shlex.split(text)]
    return {name: value for name, value in pairs}


@dataclass
class LocalStack:
    host: str = "127.0.0.1"
    api_port: int = DEFAULT_PORTS["API_PORT"]
    aws_port: int = DEFAULT_PORTS["AWS_PORT"]
    video_port: int = DEFAULT_PORTS["VIDEO_PORT"]
    region: str = "us-east-1"
    stack_name: str = "upload-tokens-local"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    emulator: Emulator | None = None
    gateway: Gateway | None = None
    video: VideoDouble | None = None
    info: dict[str, Any] = field(default_factory=dict)
    workers: list[QueuePoller | Schedule] = field(default_factory=list)
    mends: ExitStack = field(default_factory=ExitStack)

    def start(self) -> dict[str, Any]:
        for each in (route_state_per_thread, logger_keys_per_thread, calls_sign_as_their_function):
            self.mends.enter_context(each.held())  # functions run as threads here, each with its own role
        self.emulator = Emulator(self.host, self.aws_port)
        with listening_on(self.aws_port, "AWS_PORT"):
            self.emulator.start()
        video_platform = self._start_video_double()
        os.environ.update(
            RUNTIME_ENVIRONMENT,
            AWS_ENDPOINT_URL=self.emulator.endpoint,
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
        )
        template = load_template(template_path())
        forwarding = self._forward_to_video_double(video_platform)
        cors = self._allow_demo_origin(template)
        parameters = Resolver.parameter_values(template, {**forwarding, **self.parameter_overrides, **cors})
        provisioner = Provisioner(template, parameters, self.region, self.stack_name)
        provisioner.resolver.check_rules()  # before anything is made, as CloudFormation does
        resources = provisioner.provision_all()
        functions = function_specs(template, provisioner.resolver)
        if self.emulator.strict:  # from now on each function's calls are judged by its own role
            roles = deployed_roles(template, provisioner.resolver, self.region, self.stack_name)
            self.emulator.guard.adopt(roles, bucket_policies(template, provisioner.resolver), self.region)
        environment = self._export_environment([spec.environment for spec in functions.values()])
        for path in LAYER_PATHS:  # what Lambda mounts at /opt/python
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))

        # What the local API emulates of the HTTP API: its authorizer and CORS (not its access logs).
        http_api = template["Resources"]["HttpApi"]["Properties"]
        api = provisioner.resolver.resolve(
            {key: value for key, value in http_api.items() if key in ("Auth", "CorsConfiguration")}
        )
        authorizer = self._authorizer(api)
        lambdas = {name: LambdaFunction(spec) for name, spec in functions.items()}
        routes = [
            BoundRoute.of(route, lambdas[name]) for name, spec in functions.items() for route in spec.routes
        ]
        from upload_service.openapi.document import build_document

        self.gateway = Gateway(routes, authorizer, api.get("CorsConfiguration", {}), build_document())
        with listening_on(self.api_port, "API_PORT"):
            self.api_port = self.gateway.start(self.host, self.api_port)
        self.workers = self._event_sources(lambdas, resources)
        for worker in self.workers:
            worker.start()

        outputs = provisioner.resolver.resolve(template.get("Outputs", {}))
        pool_id = outputs["UserPoolId"]["Value"]
        client_id = outputs["UserPoolClientId"]["Value"]
        for user in DEMO_USERS:
            create_user(pool_id, str(user["username"]), str(user["password"]), admin=bool(user["admin"]))
        self.info = {
            "apiUrl": f"http://{self.host}:{self.api_port}",
            "awsEndpoint": self.emulator.endpoint,
            "awsCredentials": TOOLS.as_json(),
            "strict": self.emulator.strict,
            "region": self.region,
            "userPoolId": pool_id,
            "userPoolClientId": client_id,
            "tableName": resources["TokensTable"].ref,
            "bucketName": resources["UploadsBucket"].ref if "UploadsBucket" in resources else None,
            "queueUrl": resources["UploadsQueue"].ref if "UploadsQueue" in resources else None,
            "deadLetterQueueUrl": resources["UploadsDeadLetterQueue"].ref
            if "UploadsDeadLetterQueue" in resources
            else None,
            "users": DEMO_USERS,
            "videoPlatform": video_platform,
            "forwardQueueUrl": resources["ForwardQueue"].ref if "ForwardQueue" in resources else None,
            "forwardDeadLetterQueueUrl": resources["ForwardDeadLetterQueue"].ref
            if "ForwardDeadLetterQueue" in resources
            else None,
            "parameters": parameters,
            "functionEnvironment": environment,
        }
        self.gateway.demo.config = {
            key: self.info[key] for key in ("apiUrl", "awsEndpoint", "region", "userPoolClientId", "users")
        }
        return self.info

    def stop(self) -> None:
        """Workers first, and waited for (all at once, `STOP_GRACE_SECONDS` in all), so an invocation
        in flight finishes against a live emulator rather than retrying against a closed port; one
        that takes longer is cut off with the process, as Lambda cuts off a function at its timeout.
        Then the HTTP API, then the emulator."""
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self.workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.gateway is not None:
            self.gateway.stop()
        if self.video is not None:
            self.video.stop()
        if self.emulator is not None:
            self.emulator.guard.usage.report_at_stop()
            self.emulator.stop()
        self.mends.close()

    # --- the api.video double (DESIGN.md §5) ---
    def _start_video_double(self) -> dict[str, str]:
        """api.video, locally: started before the template's parameters are resolved, so its URL can
        be a parameter. Its API key (new each run) goes to stack.json only, never to the log."""
        with listening_on(self.video_port, "VIDEO_PORT"):
            self.video = VideoDouble(host=self.host, port=self.video_port).start()
        self.video_port = self.video.port
        return {"url": self.video.url, "apiKey": self.video.api_key}

    # --- end of the api.video double ---

    def _forward_to_video_double(self, video_platform: dict[str, str]) -> dict[str, str]:
        """Accepted uploads go on to the double by default, as a deployment with VideoPlatform=apivideo
        does: its key in a Secrets Manager secret (in the emulator), the secret's name a parameter."""
        secret = f"{self.stack_name}/api-video-api-key"
        boto3.client("secretsmanager", **TOOLS.client_arguments()).create_secret(
            Name=secret, SecretString=video_platform["apiKey"]
        )
        return {
            "VideoPlatform": "apivideo",
            "ApiVideoBaseUrl": video_platform["url"],
            "ApiVideoApiKeySecret": secret,
        }

    def _allow_demo_origin(self, template: dict[str, Any]) -> dict[str, str]:
        """The demo page (<apiUrl>/demo/) sends files to the bucket from the API's own origin, so the
        bucket's CORS (CorsAllowedOrigins) allows it too, beside the origins configured. The API's port
        is taken now when it is 0: the parameter is resolved before the API starts."""
        if self.api_port == 0:
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.api_port = probe.getsockname()[1]
        default = template["Parameters"]["CorsAllowedOrigins"]["Default"]
        configured = self.parameter_overrides.get("CorsAllowedOrigins", default).split(",")
        origins = [*configured, *self._demo_origins()]
        if self.emulator is not None:  # the page signs in (Cognito) and uploads (S3) from there
            self.emulator.browser_origins.update(origins)
        return {"CorsAllowedOrigins": ",".join(origins)}

    def _demo_origins(self) -> list[str]:
        """Where the demo page is served from: the API's host and port (also as localhost)."""
        hosts = [self.host, "localhost"] if self.host == "127.0.0.1" else [self.host]
        return [f"http://{host}:{self.api_port}" for host in hosts]

    def _event_sources(
        self, lambdas: dict[str, LambdaFunction], resources: dict[str, Provisioned]
    ) -> list[QueuePoller | Schedule]:
        """An SQS poller per SQS event and a timer per Schedule event of template.yaml's functions."""
        queues = {
            res.attributes["Arn"]: res.ref for res in resources.values() if "QueueUrl" in res.attributes
        }
        workers: list[QueuePoller | Schedule] = []
        for function in lambdas.values():
            for event in function.spec.events.values():
                props = event.get("Properties", {})
                if event["Type"] == "SQS":
                    arn = props["Queue"]
                    batch = int(props.get("BatchSize", 10))
                    workers += [
                        QueuePoller(function, queues[arn], arn, batch, self.region, number)
                        for number in range(SQS_POLLERS)
                    ]
                elif event["Type"] == "Schedule":
                    workers.append(Schedule(function, rate_seconds(props["Schedule"]), self.region))
        return workers

    def _authorizer(self, api: dict[str, Any]) -> JwtAuthorizer | None:
        auth = api.get("Auth", {})
        name = auth.get("DefaultAuthorizer")
        if not name:
            return None
        config = auth["Authorizers"][name]["JwtConfiguration"]
        assert self.emulator is not None
        return JwtAuthorizer.for_issuer(config["issuer"], list(config["audience"]), self.emulator.endpoint)

    @staticmethod
    def _export_environment(environments: list[dict[str, str]]) -> dict[str, str]:
        """All functions share this process, so their variables must agree; set them once."""
        merged: dict[str, str] = {}
        for environment in environments:
            for key, value in environment.items():
                if merged.setdefault(key, value) != value:
                    raise ValueError(f"functions disagree on {key}; the local stack runs them in one process")
        os.environ.update(merged)
        return merged


def create_user(pool_id: str, username: str, password: str, admin: bool = False) -> str:
    """A confirmed user with a permanent password (optionally in `admins`); returns its `sub`."""
    client = boto3.client("cognito-idp", **TOOLS.client_arguments())
    created = client.admin_create_user(
        UserPoolId=pool_id, Username=username, TemporaryPassword=password, MessageAction="SUPPRESS"
    )
    client.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    if admin:
        client.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName="admins")
    return next(attr["Value"] for attr in created["User"]["Attributes"] if attr["Name"] == "sub")


def write_stack_file(info: dict[str, Any], path: Path) -> None:
    """Written whole or not at all (a rename): whoever waits for the file never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info, indent=2) + "\n")
    partial.replace(path)


STACK_FILE = ROOT / ".local" / "stack.json"


def invoke_once(stack_file: Path, function: str, event: dict[str, Any]) -> Any:
    """Run one function's handler in this process against a running local stack (see stack.json)."""
    if not stack_file.exists():
        raise SystemExit(f"{stack_file} not found: start the stack first (make dev)")
    info = json.loads(stack_file.read_text())
    os.environ.update(
        RUNTIME_ENVIRONMENT,
        **info["functionEnvironment"],
        AWS_ENDPOINT_URL=info["awsEndpoint"],
        AWS_DEFAULT_REGION=info["region"],
        AWS_REGION=info["region"],
    )
    for path in LAYER_PATHS:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    resource = load_template(template_path())["Resources"][function]["Properties"]
    spec = FunctionSpec(function, ROOT / resource["CodeUri"], resource["Handler"], 900, 512, {})
    with calls_sign_as_their_function.held():  # its calls signed with its role's credentials
        return LambdaFunction(spec).invoke(event)


def template_path() -> Path:
    """template.yaml, or the copy `TEMPLATE_FILE` names (a test's, e.g. one permission less)."""
    return Path(os.environ.get("TEMPLATE_FILE") or TEMPLATE_PATH)
