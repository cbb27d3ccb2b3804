"""Handlers invoked in-process, as Lambda would, against the local stack's moto server."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.functions import FunctionSpec, LambdaFunction
from local_stack.template import ROOT, load_template
from tests.conftest import Stack
from upload_service import aws, repository, storage
from upload_service.config import get_settings

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


def _reset_process_caches() -> None:
    get_settings.cache_clear()
    aws.client.cache_clear()
    repository.default_repository.cache_clear()
    storage.default_storage.cache_clear()


@pytest.fixture(scope="session")
def lambda_env(stack: Stack) -> Iterator[dict[str, str]]:
    """This process's environment as a function's: the template's variables, pointed at the emulator."""
    saved = dict(os.environ)
    # A bucket of our own, without notifications: the stack's queue consumer must not race the
    # deliveries these tests make themselves.
    bucket = f"integration-{uuid.uuid4().hex[:12]}"
    stack.client("s3").create_bucket(Bucket=bucket)
    os.environ.update(
        stack.info["functionEnvironment"],
        BUCKET_NAME=bucket,
        AWS_ENDPOINT_URL=stack.info["awsEndpoint"],
        AWS_DEFAULT_REGION=stack.info["region"],
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    _reset_process_caches()
    yield dict(os.environ)
    os.environ.clear()
    os.environ.update(saved)
    _reset_process_caches()


@pytest.fixture(scope="session")
def invoke(lambda_env: dict[str, str]) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """Invoke a template function's handler with an event, in this process."""
    functions: dict[str, LambdaFunction] = {}
    code_dirs = template_functions()

    def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
        if function not in functions:
            spec = FunctionSpec(function, code_dirs[function], "app.lambda_handler", 10, 512, {})
            functions[function] = LambdaFunction(spec)
        result: dict[str, Any] = functions[function].invoke(event)
        return result

    return call
