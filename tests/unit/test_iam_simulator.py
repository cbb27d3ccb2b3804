"""The IAM policy evaluator (local_stack/iam/simulator.py): iam-simulate's decisions on policies shaped like
template.yaml's, in AWS's words, from many threads at once, each question asked of node only once."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local_stack.iam import simulator as simulator_module
from local_stack.iam.model import ACCOUNT_ID, Authorization, NamedPolicy
from local_stack.iam.simulator import SCRIPT, PolicySimulator

ROLE = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/StartUploadRole/StartUploadFunction"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/Tokens"
BUCKET = "arn:aws:s3:::uploads-bucket"
SIGNED = (("aws:SecureTransport", "true"), ("s3:signatureversion", "AWS4-HMAC-SHA256"))


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# The functions' Policies (template.yaml), their ARNs resolved as CloudFormation would.
START_UPLOAD = NamedPolicy(
    "StartUploadFunctionRolePolicy0",
    _policy(
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:UpdateItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:ConditionCheckItem",
            ],
            "Resource": TABLE,
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:PutObjectTagging"],
            "Resource": f"{BUCKET}/uploads/*",
        },
    ),
)
CREATE_TOKEN = NamedPolicy(
    "CreateTokenFunctionRolePolicy0",
    _policy(
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:UpdateItem",
                "dynamodb:PutItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:Query",
            ],
            "Resource": TABLE,
        },
        {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": f"{TABLE}/index/ByOwnerExpiry"},
    ),
)
GET_TOKEN = NamedPolicy(
    "GetTokenFunctionRolePolicy0",
    _policy(
        {
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"],
            "Resource": TABLE,
        }
    ),
)
# UploadsBucketPolicy (template.yaml).
BUCKET_POLICY = _policy(
    {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
    {
        "Sid": "DenyOtherThanSigV4",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}},
    },
)


@pytest.fixture(scope="module")
def simulator() -> Iterator[PolicySimulator]:
    with PolicySimulator() as simulator:
        yield simulator


def test_put_object_under_uploads_is_allowed(simulator: PolicySimulator) -> None:
    put = Authorization("s3:PutObject", f"{BUCKET}/uploads/0123/clip.mp4", SIGNED)

    decision = simulator.decide(ROLE, put, [START_UPLOAD], BUCKET_POLICY)

    assert (decision.allowed, decision.result, decision.message) == (True, "Allowed", "")


def test_put_object_under_media_is_implicitly_denied_in_s3s_words(simulator: PolicySimulator) -> None:
    key = f"{BUCKET}/media/u/0123/clip.mp4"

    decision = simulator.decide(
        ROLE, Authorization("s3:PutObject", key, SIGNED), [START_UPLOAD], BUCKET_POLICY
    )

    assert (decision.allowed, decision.result) == (False, "ImplicitlyDenied")
    assert decision.message == (
        f'User: {ROLE} is not authorized to perform: s3:PutObject on resource: "{key}"'
        " because no identity-based policy allows the s3:PutObject action"
    )


def test_query_on_an_index_needs_the_index_arn_granted(simulator: PolicySimulator) -> None:
    query = Authorization("dynamodb:Query", f"{TABLE}/index/ByOwnerExpiry")

    granted = simulator.decide(ROLE, query, [CREATE_TOKEN])
    table_only = simulator.decide(ROLE, query, [GET_TOKEN])

    assert granted.allowed
    assert (table_only.allowed, table_only.result) == (False, "ImplicitlyDenied")
    assert table_only.message == (
        f"User: {ROLE} is not authorized to perform: dynamodb:Query on resource: {TABLE}/index/ByOwnerExpiry"
        " because no identity-based policy allows the dynamodb:Query action"
    )


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        pytest.param(SIGNED, True, id="sigv4"),
        pytest.param((("aws:SecureTransport", "true"), ("s3:signatureversion", "AWS")), False, id="sigv2"),
        pytest.param((("aws:SecureTransport", "true"),), False, id="unsigned"),
        pytest.param((("aws:SecureTransport", "false"), SIGNED[1]), False, id="plain-http"),
    ],
)
def test_the_bucket_policy_denies_all_but_sigv4_over_tls(
    simulator: PolicySimulator, context: tuple[tuple[str, str], ...], allowed: bool
) -> None:
    key = f"{BUCKET}/uploads/0123/clip.mp4"

    decision = simulator.decide(
        ROLE, Authorization("s3:PutObject", key, context), [START_UPLOAD], BUCKET_POLICY
    )

    assert decision.allowed is allowed
    if not allowed:
        assert decision.result == "ExplicitlyDenied"
        assert decision.message == (
            f'User: {ROLE} is not authorized to perform: s3:PutObject on resource: "{key}"'
            " with an explicit deny in a resource-based policy"
        )


def test_an_explicit_deny_in_the_role_wins_over_its_allow(simulator: PolicySimulator) -> None:
    deny_tagging = NamedPolicy(
        "DenyTagging", _policy({"Effect": "Deny", "Action": "s3:PutObjectTagging", "Resource": "*"})
    )
    tag = Authorization("s3:PutObjectTagging", f"{BUCKET}/uploads/0123/clip.mp4", SIGNED)

    decision = simulator.decide(ROLE, tag, [START_UPLOAD, deny_tagging], BUCKET_POLICY)

    assert decision.result == "ExplicitlyDenied"
    assert decision.message.endswith("with an explicit deny in an identity-based policy")


def test_a_bucket_policy_alone_allows_a_principal_of_its_account(simulator: PolicySimulator) -> None:
    allow_role = _policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    )
    get = Authorization("s3:GetObject", f"{BUCKET}/uploads/0123/clip.mp4", SIGNED)

    assert simulator.decide(ROLE, get, [], allow_role).allowed


@pytest.mark.parametrize(
    ("principal", "authorization", "complaint"),
    [
        pytest.param(
            ROLE, Authorization("s3:PutObjekt", f"{BUCKET}/uploads/k"), "invalid.action", id="unknown-action"
        ),
        pytest.param(
            ROLE, Authorization("dynamodb:Query", f"{BUCKET}/uploads/k"), "no.resource.types", id="wrong-arn"
        ),
        pytest.param(
            ROLE,
            Authorization("dynamodb:GetItem", TABLE, (("s3:signatureversion", "AWS4-HMAC-SHA256"),)),
            "s3:signatureversion",
            id="context-key-of-another-service",
        ),
        pytest.param(
            ROLE, Authorization("s3:PutObject", f"{BUCKET}/uploads/*"), "wildcard", id="wildcard-resource"
        ),
        pytest.param(
            "arn:aws:iam::999999999999:role/Elsewhere",
            Authorization("s3:PutObject", f"{BUCKET}/uploads/k"),
            ACCOUNT_ID,
            id="principal-of-another-account",
        ),
    ],
)
def test_a_wrong_question_is_a_value_error_not_a_denial(
    simulator: PolicySimulator, principal: str, authorization: Authorization, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        simulator.decide(principal, authorization, [START_UPLOAD])


def test_an_invalid_policy_is_a_value_error(simulator: PolicySimulator) -> None:
    without_resource = NamedPolicy("Broken", _policy({"Effect": "Allow", "Action": "s3:PutObject"}))

    with pytest.raises(ValueError, match="One of Resource or NotResource is required"):
        simulator.decide(ROLE, Authorization("s3:PutObject", f"{BUCKET}/uploads/k"), [without_resource])


def test_node_answers_the_next_request_after_one_it_cannot_read() -> None:
    good = {
        "id": 7,
        "principal": ROLE,
        "action": "s3:PutObject",
        "resource": f"{BUCKET}/uploads/k",
        "context": {},
        "identityPolicies": [{"name": START_UPLOAD.name, "policy": START_UPLOAD.document}],
        "resourcePolicy": None,
    }
    stdin = 'not json\n{"id": 6}\n' + json.dumps(good) + "\n"

    node = subprocess.run(
        ["node", str(SCRIPT)],
        cwd=SCRIPT.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    answers = {answer["id"]: answer for answer in map(json.loads, node.stdout.splitlines())}
    assert set(answers) == {None, 6, 7}
    assert "SyntaxError" in answers[None]["error"] and "TypeError" in answers[6]["error"]
    assert answers[7]["result"] == "Allowed"


def test_a_request_that_crashes_iam_simulate_is_a_runtime_error_and_the_next_is_answered(
    simulator: PolicySimulator,
) -> None:
    put = Authorization("s3:PutObject", f"{BUCKET}/uploads/k", SIGNED)

    with pytest.raises(RuntimeError, match=r"simulate\.mjs failed"):
        simulator.decide(ROLE, put, [NamedPolicy("Null", None)])  # type: ignore[arg-type]
    assert simulator.decide(ROLE, put, [START_UPLOAD]).allowed


def test_many_threads_each_get_the_answer_to_their_own_question(simulator: PolicySimulator) -> None:
    def ask(thread: int) -> list[tuple[bool, bool, str]]:
        answers = []
        for number in range(200):
            prefix = "uploads" if number % 2 == 0 else "media"
            resource = f"{BUCKET}/{prefix}/{thread}/{number}"  # each question new: none comes from the cache
            decision = simulator.decide(ROLE, Authorization("s3:PutObject", resource, SIGNED), [START_UPLOAD])
            answers.append((decision.allowed, prefix == "uploads", resource))
            assert decision.allowed or resource in decision.message
        return answers

    sent_before = simulator.requests_sent
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [answer for thread_answers in pool.map(ask, range(8)) for answer in thread_answers]

    assert len(answers) == 1600
    assert [resource for allowed, expected, resource in answers if allowed != expected] == []
    assert simulator.requests_sent - sent_before == 1600


def test_an_identical_question_is_answered_from_the_cache(simulator: PolicySimulator) -> None:
    tag = Authorization("s3:PutObjectTagging", f"{BUCKET}/uploads/cached/clip.mp4", SIGNED)
    sent_before = simulator.requests_sent

    first = simulator.decide(ROLE, tag, [START_UPLOAD], BUCKET_POLICY)
    again = simulator.decide(ROLE, tag, [START_UPLOAD], BUCKET_POLICY)
    assert (again, simulator.requests_sent - sent_before) == (first, 1)

    changed = NamedPolicy(
        START_UPLOAD.name, _policy({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    )
    assert not simulator.decide(ROLE, tag, [changed], BUCKET_POLICY).allowed  # same name, other document
    assert simulator.requests_sent - sent_before == 2


def test_a_closed_simulator_refuses_to_decide() -> None:
    simulator = PolicySimulator()
    simulator.start()
    simulator.close()

    with pytest.raises(RuntimeError, match="closed"):
        simulator.decide(ROLE, Authorization("s3:PutObject", f"{BUCKET}/uploads/k"), [START_UPLOAD])


def test_without_node_or_the_package_it_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    put = Authorization("s3:PutObject", f"{BUCKET}/uploads/k")
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"node is not on PATH.*make dev"):
        PolicySimulator().decide(ROLE, put, [START_UPLOAD])

    monkeypatch.undo()
    monkeypatch.setattr(simulator_module, "PACKAGE", tmp_path / "missing")
    with pytest.raises(RuntimeError, match=r"iam-simulate is not installed.*npm ci"):
        PolicySimulator().decide(ROLE, put, [START_UPLOAD])
