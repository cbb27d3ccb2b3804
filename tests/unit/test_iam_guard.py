"""The strict emulator judges a function's calls by its role (local_stack/iam/guard.py): through a real
emulator over HTTP, with botocore's own requests and presigned targets, and roles shaped like the
template's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.credentials import FUNCTIONS, TOOLS, Credentials, for_function
from local_stack.emulator import Emulator
from local_stack.iam.deployed import Role
from local_stack.iam.model import ACCOUNT_ID, NamedPolicy

BUCKET = "guarded"
TABLE = "guarded-table"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/{TABLE}"


def role(function: str, *statements: dict[str, Any]) -> Role:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return Role(function, f"stack-{function}Role", (NamedPolicy(f"{function}RolePolicy0", document),))


def allow(actions: list[str], resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


ROLES = {
    "WriterFunction": role(
        "WriterFunction", allow(["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::{BUCKET}/in/*")
    ),
    "ListerFunction": role(
        "ListerFunction",
        allow(["s3:GetObject"], f"arn:aws:s3:::{BUCKET}/in/*"),
        allow(["s3:ListBucket"], f"arn:aws:s3:::{BUCKET}"),
    ),
    "ReaderFunction": role("ReaderFunction", allow(["dynamodb:GetItem", "dynamodb:Query"], TABLE_ARN)),
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    served = Emulator("127.0.0.1", 0, strict=True)
    served.start()
    client(served, TOOLS).create_bucket(Bucket=BUCKET)
    client(served, TOOLS, "dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    served.guard.adopt(ROLES, {}, "us-east-1")
    yield served
    served.stop()


def client(emulator: Emulator, credentials: Credentials, service: str = "s3") -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        config=Config(signature_version="s3v4") if service == "s3" else None,
        **credentials.client_arguments(),
    )


def code(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"].get("Message", ""),
    )


def test_a_call_its_role_allows_goes_through_and_one_it_does_not_is_access_denied(emulator: Emulator) -> None:
    writer = client(emulator, for_function("WriterFunction"))
    key = f"in/{uuid.uuid4().hex}"
    writer.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    status, error, message = code(
        lambda: writer.put_object(Bucket=BUCKET, Key=f"out/{uuid.uuid4().hex}", Body=b"x")
    )

    assert (status, error) == (403, "AccessDenied")
    assert message.startswith(
        f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/stack-WriterFunctionRole/WriterFunction is not "
        f'authorized to perform: s3:PutObject on resource: "arn:aws:s3:::{BUCKET}/out/'
    )
    assert client(emulator, TOOLS).get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"x"


def test_a_missing_key_is_404_to_a_role_that_may_list_and_403_to_one_that_may_not(emulator: Emulator) -> None:
    missing = f"in/{uuid.uuid4().hex}"
    lister = client(emulator, for_function("ListerFunction"))
    writer = client(emulator, for_function("WriterFunction"))

    assert code(lambda: lister.head_object(Bucket=BUCKET, Key=missing))[:2] == (404, "404")
    assert code(lambda: writer.head_object(Bucket=BUCKET, Key=missing))[:2] == (403, "403")
    assert code(lambda: writer.get_object(Bucket=BUCKET, Key=missing))[:2] == (403, "AccessDenied")


def test_a_presigned_target_stores_only_what_its_signers_role_may_put(emulator: Emulator) -> None:
    writer = client(emulator, for_function("WriterFunction"))
    reader = client(emulator, for_function("ReaderFunction"))
    for signer, expected in ((writer, 204), (reader, 403)):
        post = signer.generate_presigned_post(BUCKET, f"in/{uuid.uuid4().hex}", ExpiresIn=60)
        answer = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"bytes")}, timeout=10)
        assert answer.status_code == expected, answer.text


def test_dynamodb_refusals_are_access_denied_exceptions_naming_the_index(emulator: Emulator) -> None:
    reader = client(emulator, for_function("ReaderFunction"), "dynamodb")
    reader.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})

    status, error, message = code(
        lambda: reader.query(
            TableName=TABLE,
            IndexName="ByOwner",
            KeyConditionExpression="pk = :v",
            ExpressionAttributeValues={":v": {"S": "a"}},
        )
    )
    assert (status, error) == (400, "AccessDeniedException")
    assert (
        f"dynamodb:Query on resource: {TABLE_ARN}/index/ByOwner because no identity-based policy" in message
    )
    status, error, _ = code(lambda: reader.put_item(TableName=TABLE, Item={"pk": {"S": "b"}}))
    assert (status, error) == (400, "AccessDeniedException")


def test_only_the_tools_and_the_roles_functions_are_let_through(emulator: Emulator) -> None:
    """The generic function credentials (a call outside any invocation) have no role in a stack."""
    client(emulator, TOOLS).head_bucket(Bucket=BUCKET)
    status, error, message = code(lambda: client(emulator, FUNCTIONS).head_bucket(Bucket=BUCKET))
    assert (status, error) == (403, "403")
    status, error, message = code(
        lambda: client(emulator, FUNCTIONS, "dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    )
    assert error == "AccessDeniedException" and "outside any function's invocation" in message


def test_grants_used_and_refusals_are_counted(emulator: Emulator) -> None:
    reader = client(emulator, for_function("ReaderFunction"), "dynamodb")
    reader.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    code(lambda: reader.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}}))

    report = emulator.guard.usage.report()
    used = {tuple(grant["grant"][::3]) for grant in report["grants"] if grant["used"]}
    assert ("ReaderFunction", "dynamodb:GetItem") in used
    assert any(call.startswith("ReaderFunction dynamodb:DeleteItem") for call in report["denied"])
