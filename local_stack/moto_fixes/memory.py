"""moto's memory and time, which grow with use enough to break a long-running local stack.

moto keeps every model object it ever creates (`BaseModel.instances_tracked`, for its dashboard):
every DynamoDB item version, every S3 object with its bytes (deleted ones included), every SQS
message. In a long-running server that is a leak proportional to everything ever written;
`stop_tracking_instances` stops it (the dashboard is not used here).

moto 5.2's TransactWriteItems deep-copies every table a transaction names, once per item of the
transaction, to roll back on failure. Each transaction then costs time and memory in proportion to
everything stored: a few thousand uploads in, every start, accept and reject copies the whole table
three times, the stack slows until requests time out and its memory balloons (the review saw 16.9 GB
after about 1,000 start-then-reject cycles). DynamoDB's own cost is per item written.
`snapshot_only_touched_items` keeps moto's semantics (all or nothing) with a snapshot of only the
items the transaction writes: the table's deep copy becomes the table itself, and a failed
transaction puts back exactly those items. The emulator serialises DynamoDB requests, so nothing
else runs in between.
"""

from __future__ import annotations

import copy
import functools
from contextlib import ExitStack
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.model_instances import model_data
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from local_stack.patching import mend, replace


@mend
def stop_tracking_instances(undo: ExitStack) -> None:
    """moto's models are created as before, but no longer appended to their class's list."""

    def untracked(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:
        return super(BaseModel, cls).__new__(cls)

    replace(undo, BaseModel, "__new__", staticmethod(untracked))
    for models in model_data.values():
        for model in models.values():
            model.instances_tracked = []  # type: ignore[attr-defined]


@mend
def snapshot_only_touched_items(undo: ExitStack) -> None:
    """A transaction snapshots the items it writes, not every table it names."""
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = [_saved_item(self, operation) for item in transact_items for operation in item.values()]
        Table.__deepcopy__ = _same_table  # type: ignore[attr-defined]
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in saved:
                _restore(table, hash_key, range_key, item)
            raise
        finally:
            del Table.__deepcopy__  # type: ignore[attr-defined]

    replace(undo, DynamoDBBackend, "transact_write_items", transact_write_items)


def _same_table(table: Table, memo: dict[int, Any]) -> Table:
    return table


def _saved_item(backend: DynamoDBBackend, operation: dict[str, Any]) -> tuple[Table, Any, Any, Any]:
    """The table, the key and a copy of the item as it is before the transaction (None: absent)."""
    table = backend.get_table(operation["TableName"])
    key = operation.get("Key") or {
        name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
    }
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))


def _restore(table: Table, hash_key: Any, range_key: Any, item: Any) -> None:
    if item is None:
        if table.get_item(hash_key, range_key) is not None:
            table.delete_item(hash_key, range_key)
    elif range_key is not None:
        table.items[hash_key][range_key] = item
    else:
        table.items[hash_key] = item


#: `bytes=first-last`, `bytes=first-` or `bytes=-suffix`: one range, as the forwarder asks.
