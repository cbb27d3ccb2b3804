"""Each function's role is what the local stack judges its calls by (local_stack/iam): a copy of
template.yaml without one permission a function needs makes that function's flow fail locally, with
AWS's AccessDenied naming the function's role and the action, as it would on AWS.

One stack per function (its own copy of the template): a role without a permission must not stop the
flows that lead to the function under test (the processor needs the upload that StartUpload signs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack.template import ROOT, load_template
from tests.conftest import TEST_PARAMETERS, Stack, new_user, running_stack
from tests.e2e.test_uploads import post_file, s3_error, start
from tests.waiting import eventually


def without(action: str, function: str) -> dict[str, Any]:
    """template.yaml with `action` taken out of `function`'s own policies (a statement left with no
    action goes, as one would delete it)."""
    template = load_template()
    for policy in template["Resources"][function]["Properties"]["Policies"]:
        statements = policy["Statement"]
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [each for each in actions if each != action]
        policy["Statement"] = [statement for statement in statements if statement["Action"]]
    assert template != load_template(), f"{function} has no {action} to take away"
    return template


def token(stack: Stack) -> tuple[Any, str]:
    user = new_user(stack)
    response = requests.post(f"{stack.api}/upload-tokens", json={}, headers=user.headers(), timeout=30)
    assert response.status_code == 200, response.text
    return user, response.json()["token"]


def uploaded(stack: Stack) -> None:
    """A file sent with a target of POST /upload: what the processor (and then the forwarder) works on."""
    _, value = token(stack)
    target = start(stack, value, name=f"{uuid.uuid4().hex}.mp4").json()
    assert post_file(target).status_code in (200, 201, 204)


def answered_500(method: str, path: str) -> Callable[[Stack], None]:
    def call(stack: Stack) -> None:
        user, value = token(stack)
        url = f"{stack.api}{path.format(token=value)}"
        response = requests.request(method, url, json={}, headers=user.headers(), timeout=30)
        assert response.status_code == 500, response.text

    return call


def token_refused(stack: Stack) -> None:
    response = requests.post(
        f"{stack.api}/upload-tokens", json={}, headers=new_user(stack).headers(), timeout=30
    )
    assert response.status_code == 500, response.text


def multipart_started(stack: Stack) -> None:
    """Uppy's first call to the Companion routes: CreateMultipartUpload, as the function's role."""
    _, value = token(stack)
    body = {"filename": f"{uuid.uuid4().hex}.mp4", "type": "video/mp4", "metadata": {"size": "600000"}}
    response = requests.post(f"{stack.api}/uploads/{value}/s3/multipart", json=body, timeout=30)
    assert response.status_code == 500, response.text


def post_refused_by_s3(stack: Stack) -> None:
    """POST /upload signs a target (no AWS call), but S3 refuses it: its signer's role may not PutObject."""
    _, value = token(stack)
    target = start(stack, value).json()
    status, code, _ = s3_error(post_file(target))
    assert (status, code) == (403, "AccessDenied")


def cleanup_run(stack: Stack) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "local_stack", "invoke", "CleanupFunction", "events/cleanup.json"],
        cwd=ROOT,
        env={**os.environ, "STACK_FILE": str(stack.log.parent / "stack.json")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and "AccessDenied" in run.stderr, run.stderr[-3000:]


#: function: (a permission it needs, the flow that needs it).
MUTATIONS: dict[str, tuple[str, Callable[[Stack], None]]] = {
    "CreateTokenFunction": ("dynamodb:PutItem", token_refused),
    "ListTokensFunction": ("dynamodb:Query", answered_500("GET", "/upload-tokens")),
    "GetTokenFunction": ("dynamodb:Query", answered_500("GET", "/upload-tokens/{token}")),
    "RevokeTokenFunction": ("dynamodb:UpdateItem", answered_500("DELETE", "/upload-tokens/{token}")),
    "StartUploadFunction": ("s3:PutObject", post_refused_by_s3),
    "MultipartUploadFunction": ("s3:PutObject", multipart_started),
    "ProcessUploadFunction": ("events:PutEvents", uploaded),
    "ForwardUploadFunction": ("secretsmanager:GetSecretValue", uploaded),
    "CleanupFunction": ("dynamodb:Query", cleanup_run),
}


def test_every_function_has_a_mutation() -> None:
    functions = {
        n for n, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }
    assert set(MUTATIONS) == functions


@pytest.mark.parametrize("function", sorted(MUTATIONS))
def test_a_function_without_a_permission_it_needs_is_refused_locally(function: str, tmp_path: Path) -> None:
    action, flow = MUTATIONS[function]
    template = tmp_path / "template.json"
    template.write_text(json.dumps(without(action, function)))

    # its grants are not the template's: left out of the run's least-privilege record
    with running_stack(
        tmp_path, TEST_PARAMETERS, env={"TEMPLATE_FILE": str(template), "IAM_USAGE_DIR": ""}
    ) as stack:
        flow(stack)
        denial = f"/{function} is not authorized to perform: {action}"
        eventually(stack.log.read_text, lambda log: denial in log, what=f"AccessDenied for {function}")
