"""One table, its client and the ways we touch it: a consistent read, a lazy Query, an update, a
transaction (with DynamoDB's refusals told apart, and its conflicts retried)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from upload_service.core import aws
from upload_service.core.config import get_settings
from upload_service.core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


CONFLICT_ATTEMPTS = 5

Store = TypeVar("Store", bound="Table")


class TransactionRefused(Exception):
    """DynamoDB cancelled a transaction on a condition; `reasons` has one code per item."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


class Table:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self.client = client or aws.dynamodb()

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """One item, read consistently (decisions are made on it)."""
        with aws.unavailable_when_throttled():
            response = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)
        return response.get("Item")

    def _update_if(self, **params: Any) -> dict[str, Any] | None:
        """One conditional UpdateItem: the answer's `Attributes` (empty without ReturnValues), or None
        when DynamoDB refused its condition."""
        try:
            response = self._update_item(**params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        attributes: dict[str, Any] = response.get("Attributes", {})
        return attributes

    def _update_item(self, **params: Any) -> dict[str, Any]:
        """UpdateItem. DynamoDB refuses a write of an item a transaction is writing at that moment
        (TransactionConflictException, which botocore does not retry): retried here with jittered
        backoff, as a transaction's conflicts are, then a 503."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                with aws.unavailable_when_throttled():
                    return dict(self.client.update_item(TableName=self.table_name, **params))
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionConflictException":
                    raise
                if attempt == CONFLICT_ATTEMPTS - 1:
                    raise ServiceUnavailable(retry_after=aws.RETRY_AFTER_SECONDS) from exc
                _back_off(attempt)
        raise AssertionError("unreachable")

    def _query_items(
        self, params: dict[str, Any], take: int | None, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Items of a Query, page by page (lazily, `page_size` a page), reading no more than `take`
        (plus what a filter drops)."""
        page_size = min(take, page_size) if take else page_size
        paginator = self.client.get_paginator("query")
        produced = 0
        with aws.unavailable_when_throttled():
            for page in paginator.paginate(**params, PaginationConfig={"PageSize": page_size}):
                for item in page["Items"]:
                    yield item
                    produced += 1
                    if take is not None and produced >= take:
                        return

    def _transact(self, items: list[Any]) -> None:
        """TransactWriteItems; conditions refused -> TransactionRefused (reasons by item).

        botocore retries throttling but not TransactionConflict (another transaction touched one
        of our items at the same moment); those are retried here with jittered backoff.
        """
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                with aws.unavailable_when_throttled():
                    self.client.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [
                    reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])
                ]
                if "ConditionalCheckFailed" in reasons:
                    raise TransactionRefused(reasons) from exc
                if "TransactionConflict" not in reasons or attempt == CONFLICT_ATTEMPTS - 1:
                    raise ServiceUnavailable(retry_after=aws.RETRY_AFTER_SECONDS) from exc
                _back_off(attempt)


def _back_off(attempt: int) -> None:
    """Full jitter, 50 ms doubling: a conflict lasts as long as the other transaction, milliseconds."""
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311


@cache
def default_store(kind: type[Store]) -> Store:
    """The process's store of this kind over the configured table (one per kind, created on first
    use), so a function loads and builds only the stores it uses."""
    return kind(get_settings().table_name)
