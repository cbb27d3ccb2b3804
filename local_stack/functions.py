"""template.yaml's functions, run in this process the way Lambda runs them.

Each concurrent invocation gets its own execution environment (a fresh import of the handler
module, with its module-level init), reused afterwards, as Lambda does. Whoever invokes them
concurrently holds `route_state_per_thread` (local_stack/powertools_fixes.py) meanwhile.
"""

from __future__ import annotations

import importlib.util
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local_stack.iam.acting import running_as
from local_stack.template import ROOT, Resolver

LAYER_PATHS = [ROOT / "layers" / "shared"]


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    authorized: bool


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    routes: list[HttpRoute] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


def function_specs(template: dict[str, Any], resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function with its Globals applied and its values resolved."""
    defaults = template.get("Globals", {}).get("Function", {})
    specs = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue  # not in this deployment (e.g. the forwarder with VideoPlatform=none)
        props = resource["Properties"]
        environment = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        events = resolver.resolve(props.get("Events", {}))
        specs[name] = FunctionSpec(
            name=name,
            code_dir=ROOT / props["CodeUri"],
            handler=props["Handler"],
            timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
            memory=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            environment={key: str(value) for key, value in resolver.resolve(environment).items()},
            routes=[
                HttpRoute(
                    method=event["Properties"]["Method"].upper(),
                    path=event["Properties"]["Path"],
                    authorized=event["Properties"].get("Auth", {}).get("Authorizer") != "NONE",
                )
                for event in events.values()
                if event["Type"] == "HttpApi"
            ],
            events=events,
        )
    return specs


@dataclass
class LambdaContext:
    """The context object the Lambda runtime passes to a handler."""

    function_name: str
    memory_limit_in_mb: int
    timeout: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout - (time.monotonic() - self.started)) * 1000))


class LambdaFunction:
    """Invokes one function's handler; environments are created on demand and reused."""

    _counter = itertools.count()

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._idle: list[ModuleType] = []
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's answer; its AWS calls signed as this function's role (local_stack/iam/acting.py)."""
        environment = self._acquire()
        try:
            handler = getattr(environment, self.spec.handler.rsplit(".", 1)[1])
            context = LambdaContext(self.spec.name, self.spec.memory, self.spec.timeout)
            with running_as(self.spec.name):
                return handler(event, context)
        finally:
            with self._lock:
                self._idle.append(environment)

    def _acquire(self) -> ModuleType:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._cold_start()

    def _cold_start(self) -> ModuleType:
        """The handler module imported afresh, its init code run as this function (clients it makes)."""
        module_name, _ = self.spec.handler.rsplit(".", 1)
        path = self.spec.code_dir / f"{module_name.replace('.', '/')}.py"
        unique = f"lambda_{self.spec.name}_{next(self._counter)}"
        module_spec = importlib.util.spec_from_file_location(unique, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"no handler module at {path}")
        module = importlib.util.module_from_spec(module_spec)
        with running_as(self.spec.name):
            module_spec.loader.exec_module(module)
        return module
