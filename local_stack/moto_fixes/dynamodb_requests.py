"""DynamoDB's idempotent TransactWriteItems, which moto ignores.

botocore fills in a `ClientRequestToken` for every TransactWriteItems call and sends the same one
when it retries the call (after a read timeout, say). DynamoDB then applies the transaction once:
an identical call with a token it completed in the last 10 minutes succeeds without writing again,
one with the same token and other parameters is refused (IdempotentParameterMismatch). moto applied
every retry as a new transaction: a create whose answer timed out on a busy machine was retried,
counted twice against the owner's cap, and answered as refused (locally only).
`transactions_honour_client_request_tokens` does as DynamoDB does.

DynamoDB cancels a transaction that meets another one on the same items (TransactionConflict),
and refuses a single write of an item a transaction is writing (TransactionConflictException); the
emulator runs DynamoDB requests one at a time, so neither happened locally and the code that
handles them ran only on AWS. `transactions_may_conflict` refuses a share of both so,
`TRANSACTION_CONFLICT_RATE` (0 to 1, read when the emulator starts; 0 by default): the reliability
suite runs the landing, the token cap and the forwarding leases through it. Each one refused is a
line in the log (`injected TransactionConflict`, with the operation for a single write).
"""

from __future__ import annotations

import functools
import json
import os
import random
import sys
import threading
import time
from collections import OrderedDict
from contextlib import ExitStack
from typing import Any

from moto.dynamodb.exceptions import DynamodbException, TransactionCanceledException
from moto.dynamodb.responses import DynamoHandler

from local_stack.patching import mend, replace

#: How long DynamoDB remembers a completed transaction's token.
TOKEN_SECONDS = 600
#: What may differ between two calls with one token (DynamoDB's own words on ReturnConsumedCapacity).
_NOT_COMPARED = frozenset({"ClientRequestToken", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics"})


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request.",
        )


@mend
def transactions_honour_client_request_tokens(undo: ExitStack) -> None:
    """A TransactWriteItems repeated with the token of one completed within 10 minutes succeeds again
    without writing; with other parameters it is refused."""
    original = DynamoHandler.transact_write_items
    completed: dict[str, tuple[float, str, Any]] = {}
    lock = threading.Lock()

    @functools.wraps(original)
    def transact_write_items(self: DynamoHandler) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        request = json.dumps({k: v for k, v in self.body.items() if k not in _NOT_COMPARED}, sort_keys=True)
        now = time.monotonic()
        with lock:
            for stale in [t for t, (at, _, _) in completed.items() if now - at > TOKEN_SECONDS]:
                del completed[stale]
            earlier = completed.get(token)
        if earlier is not None:
            if earlier[1] != request:
                raise IdempotentParameterMismatch()
            return earlier[2]
        result = original(self)  # a cancelled transaction raises: its token is not remembered
        with lock:
            completed[token] = (now, request, result)
        return result

    replace(undo, DynamoHandler, "transact_write_items", transact_write_items)


def conflict_rate() -> float:
    """`TRANSACTION_CONFLICT_RATE`: the share of transactions cancelled as if another met them."""
    rate = float(os.environ.get("TRANSACTION_CONFLICT_RATE", "0") or 0)
    if not 0 <= rate <= 1:
        raise ValueError(f"TRANSACTION_CONFLICT_RATE={rate} is not a share from 0 to 1")
    return rate


class TransactionConflictException(DynamodbException):
    """DynamoDB's answer to a single write of an item a transaction is writing."""

    def __init__(self) -> None:
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
            message="Transaction is ongoing for the item",
        )


#: Items transactions wrote, the latest this many: a single write of one of them may meet a transaction.
TRANSACTED_ITEMS = 100_000
#: Where the draws deciding which calls conflict come from (a test scripts them).
new_chance = random.Random


@mend
def transactions_may_conflict(undo: ExitStack) -> None:
    """A share (`conflict_rate()`) of TransactWriteItems calls are cancelled before they write, as
    DynamoDB cancels one that meets another transaction: TransactionConflict on its first item. So is
    that share of single writes (PutItem, UpdateItem, DeleteItem) of an item transactions also write
    (TransactionConflictException, which botocore does not retry), as DynamoDB refuses a write of an
    item while a transaction holds it. At a rate of 0 every call goes through as before."""
    rate = conflict_rate()
    original = DynamoHandler.transact_write_items
    chance = new_chance()  # which calls conflict, not a secret
    transacted: OrderedDict[str, None] = OrderedDict()
    lock = threading.Lock()

    def key_of(handler: DynamoHandler, table: str, item: dict[str, Any], key: dict[str, Any] | None) -> str:
        if key is None:  # a Put: the key attributes of its item
            found = handler.dynamodb_backend.get_table(table)
            names = [found.hash_key_attr, *([found.range_key_attr] if found.range_key_attr else [])]
            key = {name: item.get(name) for name in names}
        return json.dumps([table, key], sort_keys=True)

    @functools.wraps(original)
    def transact_write_items(self: DynamoHandler) -> Any:
        if not rate:
            return original(self)
        items = self.body.get("TransactItems", [])
        if chance.random() < rate:
            print("emulator: injected TransactionConflict", file=sys.stderr, flush=True)
            reasons = [("TransactionConflict", "Transaction is ongoing for the item", None)]
            raise TransactionCanceledException(reasons + [(None, None, None)] * (len(items) - 1))
        result = original(self)
        written = [next(iter(entry.values())) for entry in items]
        keys = [key_of(self, each["TableName"], each.get("Item", {}), each.get("Key")) for each in written]
        with lock:
            for key in keys:
                transacted[key] = None
                transacted.move_to_end(key)
            while len(transacted) > TRANSACTED_ITEMS:
                transacted.popitem(last=False)
        return result

    def single(name: str) -> Any:
        write = getattr(DynamoHandler, name)

        @functools.wraps(write)
        def conflicting(self: DynamoHandler) -> Any:
            if not rate:
                return write(self)
            key = key_of(self, self.body["TableName"], self.body.get("Item", {}), self.body.get("Key"))
            with lock:
                held = key in transacted
            if held and chance.random() < rate:
                print(f"emulator: injected TransactionConflict ({name})", file=sys.stderr, flush=True)
                raise TransactionConflictException()
            return write(self)

        return conflicting

    replace(undo, DynamoHandler, "transact_write_items", transact_write_items)
    for name in ("put_item", "update_item", "delete_item"):
        replace(undo, DynamoHandler, name, single(name))
