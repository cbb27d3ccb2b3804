"""TransactWriteItems repeated with its ClientRequestToken is applied once, as DynamoDB does
(local_stack/moto_fixes/dynamodb_requests.py): botocore resends the token when it retries a call
whose answer timed out, and the first call may have been applied."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack.credentials import TOOLS
from local_stack.emulator import Emulator

TABLE = f"transactions-{uuid.uuid4().hex[:8]}"  # moto's backends outlive an emulator in one process


@contextmanager
def table_served() -> Iterator[Any]:
    """A client of a fresh emulator (as the environment sets it up) holding the test's table."""
    served = Emulator("127.0.0.1", 0)
    served.start()
    try:
        client = boto3.client(
            "dynamodb", endpoint_url=served.endpoint, region_name="us-east-1", **TOOLS.client_arguments()
        )
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
        client.delete_table(TableName=TABLE)
    finally:
        served.stop()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with table_served() as client:
        yield client


def add_one(cap: int) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"PK": {"S": "counter"}},
                "UpdateExpression": "ADD n :one",
                "ConditionExpression": "attribute_not_exists(n) OR n < :cap",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": str(cap)}},
            }
        }
    ]


def count(client: Any) -> int:
    item = client.get_item(TableName=TABLE, Key={"PK": {"S": "counter"}}, ConsistentRead=True)["Item"]
    return int(item["n"]["N"])


def test_a_repeated_token_is_applied_once_and_answered_again(dynamodb: Any) -> None:
    for _ in range(3):  # as botocore's retries of one call
        dynamodb.transact_write_items(TransactItems=add_one(cap=1), ClientRequestToken="call-1")

    assert count(dynamodb) == 1  # the retries did not write, nor fail on the cap the first reached
    dynamodb.transact_write_items(TransactItems=add_one(cap=5), ClientRequestToken="call-2")
    assert count(dynamodb) == 2


def test_a_token_with_other_parameters_is_refused(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=add_one(cap=5), ClientRequestToken="call-1")

    with pytest.raises(ClientError, match="IdempotentParameterMismatch"):
        dynamodb.transact_write_items(TransactItems=add_one(cap=6), ClientRequestToken="call-1")
    assert count(dynamodb) == 1


def test_a_cancelled_transaction_does_not_keep_its_token(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=add_one(cap=5), ClientRequestToken="call-0")
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(TransactItems=add_one(cap=1), ClientRequestToken="call-1")

    # nothing was done under that token: it may be used again, with other parameters
    dynamodb.transact_write_items(TransactItems=add_one(cap=5), ClientRequestToken="call-1")
    assert count(dynamodb) == 2


@pytest.fixture
def conflicting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The emulator with every transaction cancelled as conflicting (TRANSACTION_CONFLICT_RATE=1)."""
    monkeypatch.setenv("TRANSACTION_CONFLICT_RATE", "1")
    with table_served() as client:
        yield client


def test_a_conflicting_transaction_is_cancelled_as_dynamodb_cancels_it(conflicting: Any) -> None:
    with pytest.raises(ClientError) as cancelled:
        conflicting.transact_write_items(TransactItems=add_one(cap=5))

    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["TransactionConflict"]
    assert "Item" not in conflicting.get_item(TableName=TABLE, Key={"PK": {"S": "counter"}})  # not written


def test_the_layer_retries_conflicts_then_answers_503(
    conflicting: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Table._transact retries a TransactionConflict with backoff (CONFLICT_ATTEMPTS), then gives up
    with a 503 the client may retry, never a 500."""
    from upload_service.core.errors import ServiceUnavailable
    from upload_service.data.table import CONFLICT_ATTEMPTS, Table

    calls: list[str] = []
    conflicting.meta.events.register("before-call.dynamodb.TransactWriteItems", lambda **_: calls.append("x"))

    with pytest.raises(ServiceUnavailable):
        Table(TABLE, conflicting)._transact(add_one(cap=5))
    assert len(calls) == CONFLICT_ATTEMPTS


class _Scripted:
    """`random.Random` for the conflict mend: the draws a test scripts, then never a conflict."""

    def __init__(self, draws: list[float]) -> None:
        self.draws = draws

    def random(self) -> float:
        return self.draws.pop(0) if self.draws else 1.0


@contextmanager
def scripted_conflicts(monkeypatch: pytest.MonkeyPatch, draws: list[float]) -> Iterator[Any]:
    """An emulator at a conflict rate of 0.5 whose draws are `draws` (below 0.5: a conflict)."""
    from local_stack.moto_fixes import dynamodb_requests

    monkeypatch.setenv("TRANSACTION_CONFLICT_RATE", "0.5")
    monkeypatch.setattr(dynamodb_requests, "new_chance", lambda: _Scripted(draws))
    with table_served() as client:
        yield client


def test_a_single_write_of_an_item_a_transaction_writes_may_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB refuses a PutItem/UpdateItem/DeleteItem of an item a transaction holds
    (TransactionConflictException); an item no transaction writes never meets one."""
    # draws: the transaction goes through, then the two single writes of its item conflict
    with scripted_conflicts(monkeypatch, [0.9, 0.1, 0.1]) as client:
        client.transact_write_items(TransactItems=add_one(cap=5))
        writes: list[Callable[[], Any]] = [
            lambda: client.update_item(
                TableName=TABLE,
                Key={"PK": {"S": "counter"}},
                UpdateExpression="SET m = :m",
                ExpressionAttributeValues={":m": {"N": "1"}},
            ),
            lambda: client.delete_item(TableName=TABLE, Key={"PK": {"S": "counter"}}),
        ]
        for write in writes:
            with pytest.raises(ClientError) as refused:
                write()
            assert refused.value.response["Error"]["Code"] == "TransactionConflictException"
        assert count(client) == 1  # neither wrote
        client.put_item(TableName=TABLE, Item={"PK": {"S": "elsewhere"}})  # never in a transaction


def test_the_layer_retries_a_single_writes_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Table._update_item retries TransactionConflictException (botocore does not), then writes."""
    from upload_service.data.table import Table

    with scripted_conflicts(monkeypatch, [0.9, 0.1, 0.1]) as client:
        client.transact_write_items(TransactItems=add_one(cap=5))
        calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.UpdateItem", lambda **_: calls.append("x"))

        Table(TABLE, client)._update_item(
            Key={"PK": {"S": "counter"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

        assert len(calls) == 3 and count(client) == 2
