"""All DynamoDB access: one table, keys designed so that no request Scans.

Items
  token          PK=TOKEN#<token>    SK=TOKEN           the token, its owner, status and expiry
  user counter   PK=USER#<userId>    SK=COUNTERS        liveTokens: the per-user cap, kept atomically
  global counter PK=COUNTERS#ALL     SK=SHARD#<n>       liveTokens split over shards (sum = all live tokens)
  rate window    PK=RATE#<key>       SK=WINDOW#<n>      hits in one fixed window, purged by TTL

Sparse indexes (a token is in them only while live: PENDING or PARTIAL_UPLOAD)
  ByOwnerCreated / ByOwnerExpiry   activeOwner=<userId>, createdSort / expirySort
  AllByCreated   / AllByExpiry     activeAll="ALL",      createdSort / expirySort
`expirySort` puts tokens that never expire last; tokens past expiry are one range of it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from upload_service import aws
from upload_service.config import get_settings
from upload_service.errors import ActiveTokenLimitReached, RateLimited, ServiceUnavailable
from upload_service.models import (
    LIVE_STATUSES,
    SortBy,
    SortOrder,
    TokenRecord,
    TokenStatus,
    isoformat,
    parse_isoformat,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ALL = "ALL"
NEVER = "9999-12-31T23:59:59.999Z"
GLOBAL_COUNTER_SHARDS = 10
CONFLICT_ATTEMPTS = 5

_INDEXES = {
    (False, SortBy.CREATED_AT): "ByOwnerCreated",
    (False, SortBy.TTL): "ByOwnerExpiry",
    (True, SortBy.CREATED_AT): "AllByCreated",
    (True, SortBy.TTL): "AllByExpiry",
}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def token_key(token: str) -> dict[str, Any]:
    return _to_item({"PK": f"TOKEN#{token}", "SK": "TOKEN"})


def _user_counter_key(user_id: str) -> dict[str, Any]:
    return _to_item({"PK": f"USER#{user_id}", "SK": "COUNTERS"})


def _global_counter_key(shard: int) -> dict[str, Any]:
    return _to_item({"PK": "COUNTERS#ALL", "SK": f"SHARD#{shard}"})


def _expiry_bound(now: datetime) -> str:
    """Sorts after every `expirySort` of a token expired at `now` and before any still live."""
    return isoformat(now) + "$"  # "$" follows the "#" that separates expiry and token


def token_item(record: TokenRecord) -> dict[str, Any]:
    live = record.status in LIVE_STATUSES
    expires = isoformat(record.expires_at) if record.expires_at else None
    return _to_item(
        {
            "PK": f"TOKEN#{record.token}",
            "SK": "TOKEN",
            "token": record.token,
            "userId": record.user_id,
            "ttl": record.ttl,
            "createdAt": isoformat(record.created_at),
            "expiresAt": expires,
            "status": record.status.value,
            "createdSort": f"{isoformat(record.created_at)}#{record.token}",
            "expirySort": f"{expires or NEVER}#{record.token}",
            "activeOwner": record.user_id if live else None,
            "activeAll": ALL if live else None,
        }
    )


def record_from_item(item: Mapping[str, Any]) -> TokenRecord:
    values = _from_item(item)
    return TokenRecord(
        token=values["token"],
        user_id=values["userId"],
        ttl=int(values["ttl"]),
        created_at=parse_isoformat(values["createdAt"]),
        expires_at=parse_isoformat(values["expiresAt"]) if values.get("expiresAt") else None,
        status=TokenStatus(values["status"]),
    )


class TokenIdTaken(Exception):
    """The generated id exists already (a CSPRNG makes this practically impossible)."""


class _TransactionRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class RateWindow:
    hits: int
    reset_after: int


class Repository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self.client = client or aws.dynamodb()

    # -- tokens -------------------------------------------------------------------------------

    def get_token(self, token: str) -> TokenRecord | None:
        with aws.unavailable_when_throttled():
            response = self.client.get_item(
                TableName=self.table_name, Key=token_key(token), ConsistentRead=True
            )
        item = response.get("Item")
        return record_from_item(item) if item else None

    def create_token(self, record: TokenRecord, max_live: int) -> None:
        """Store a new token and count it against its owner's cap, atomically.

        Raises ActiveTokenLimitReached when the owner already has `max_live` live tokens (after
        timing out any of theirs that expired but were not cleaned up yet), TokenIdTaken on an id clash.
        """
        try:
            self._put_counted(record, max_live)
        except ActiveTokenLimitReached:
            if not self.time_out_expired(record.user_id, record.created_at):
                raise
            self._put_counted(record, max_live)

    def _put_counted(self, record: TokenRecord, max_live: int) -> None:
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _user_counter_key(record.user_id),
                    "UpdateExpression": "ADD liveTokens :one",
                    "ConditionExpression": "attribute_not_exists(liveTokens) OR liveTokens < :cap",
                    "ExpressionAttributeValues": _to_item({":one": 1, ":cap": max_live}),
                }
            },
            self._global_count(+1),
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": token_item(record),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        try:
            self._transact(items)
        except _TransactionRefused as refused:
            if refused.reasons[0] == "ConditionalCheckFailed":
                raise ActiveTokenLimitReached(detail=f"At most {max_live} live tokens per user.") from None
            raise TokenIdTaken(record.token) from None

    def end_token(
        self, record: TokenRecord, status: TokenStatus, now: datetime, retention: timedelta
    ) -> bool:
        """Move a token out of the live set (DELETED or TIMED_OUT) and give back its slot.

        Conditional on the status we read, so concurrent revokes/cleanups end it exactly once.
        Returns False when someone else changed it first.
        """
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": token_key(record.token),
            "UpdateExpression": "SET #status = :new, purgeAt = :purge REMOVE activeOwner, activeAll",
            "ConditionExpression": "#status = :seen",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": _to_item(
                {
                    ":new": status.value,
                    ":seen": record.status.value,
                    ":purge": int((now + retention).timestamp()),
                }
            ),
        }
        items: list[Any] = [{"Update": update}]
        if record.status in LIVE_STATUSES:
            items += [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _user_counter_key(record.user_id),
                        "UpdateExpression": "ADD liveTokens :minus",
                        "ExpressionAttributeValues": _to_item({":minus": -1}),
                    }
                },
                self._global_count(-1),
            ]
        try:
            self._transact(items)
        except _TransactionRefused:
            return False
        return True

    def time_out_expired(self, user_id: str, now: datetime) -> int:
        """TIME_OUT the user's tokens that expired but are still counted live; how many were."""
        retention = timedelta(days=get_settings().record_retention_days)
        ended = 0
        for record in self.expired_live(user_id, now):
            ended += self.end_token(record, TokenStatus.TIMED_OUT, now, retention)
        return ended

    def expired_live(
        self, user_id: str | None, now: datetime, limit: int | None = None
    ) -> Iterator[TokenRecord]:
        """Live tokens past their expiry (cleanup has not reached them yet), soonest expired first."""
        params = self._index_query(user_id, SortBy.TTL)
        params["KeyConditionExpression"] += " AND expirySort < :bound"
        params["ExpressionAttributeValues"][":bound"] = {"S": _expiry_bound(now)}
        for item in self._query_items(params, take=limit):
            yield record_from_item(item)

    # -- listing ------------------------------------------------------------------------------

    def count_live(self, user_id: str | None, now: datetime) -> int:
        """Live, unexpired tokens of one user (or all): counters minus those expired but not cleaned."""
        with aws.unavailable_when_throttled():
            if user_id is not None:
                response = self.client.get_item(
                    TableName=self.table_name, Key=_user_counter_key(user_id), ConsistentRead=True
                )
                counted = int(response.get("Item", {}).get("liveTokens", {}).get("N", "0"))
            else:
                shards = self.client.query(
                    TableName=self.table_name,
                    KeyConditionExpression="PK = :pk",
                    ExpressionAttributeValues={":pk": {"S": "COUNTERS#ALL"}},
                    ConsistentRead=True,
                )
                counted = sum(int(item.get("liveTokens", {}).get("N", "0")) for item in shards["Items"])
        expired = sum(1 for _ in self.expired_live(user_id, now))
        return max(0, counted - expired)

    def list_live(
        self,
        user_id: str | None,
        sort_by: SortBy,
        order: SortOrder,
        skip: int,
        take: int,
        now: datetime,
    ) -> list[TokenRecord]:
        """Live tokens in `sort_by` order, `take` of them after the first `skip`."""
        params = self._index_query(user_id, sort_by)
        params["ScanIndexForward"] = order is SortOrder.ASC
        params["ExpressionAttributeValues"][":bound"] = {"S": _expiry_bound(now)}
        if sort_by is SortBy.TTL:
            params["KeyConditionExpression"] += " AND expirySort > :bound"
        else:
            params["FilterExpression"] = "expirySort > :bound"
        items = list(self._query_items(params, take=skip + take))
        return [record_from_item(item) for item in items[skip:]]

    def _index_query(self, user_id: str | None, sort_by: SortBy) -> dict[str, Any]:
        everyone = user_id is None
        return {
            "TableName": self.table_name,
            "IndexName": _INDEXES[(everyone, sort_by)],
            "KeyConditionExpression": ("activeAll" if everyone else "activeOwner") + " = :p",
            "ExpressionAttributeValues": {":p": {"S": ALL if everyone else user_id}},
        }

    def _query_items(self, params: dict[str, Any], take: int | None) -> Iterator[dict[str, Any]]:
        """Items of a Query, page by page, reading no more than `take` (plus what a filter drops)."""
        page_size = min(take, 1000) if take else 1000
        paginator = self.client.get_paginator("query")
        produced = 0
        with aws.unavailable_when_throttled():
            for page in paginator.paginate(**params, PaginationConfig={"PageSize": page_size}):
                for item in page["Items"]:
                    yield item
                    produced += 1
                    if take is not None and produced >= take:
                        return

    # -- rate limiting ------------------------------------------------------------------------

    def count_request(self, key: str, limit: int, window_seconds: int, now: float) -> RateWindow:
        """Count one request in the caller's current fixed window; RateLimited past `limit`.

        One conditional UpdateItem: atomic, so concurrent requests can't slip past the limit.
        """
        window = int(now // window_seconds)
        reset_after = max(1, int((window + 1) * window_seconds - now + 0.999))
        try:
            with aws.unavailable_when_throttled():
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=_to_item({"PK": f"RATE#{key}", "SK": f"WINDOW#{window}"}),
                    UpdateExpression="ADD hits :one SET purgeAt = if_not_exists(purgeAt, :purge)",
                    ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                    ExpressionAttributeValues=_to_item(
                        {":one": 1, ":limit": limit, ":purge": (window + 2) * window_seconds}
                    ),
                    ReturnValues="UPDATED_NEW",
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise RateLimited() from exc
            raise
        return RateWindow(hits=int(response["Attributes"]["hits"]["N"]), reset_after=reset_after)

    # -- helpers ------------------------------------------------------------------------------

    def _global_count(self, delta: int) -> dict[str, Any]:
        """One shard of the global live counter; shards spread contention between writers."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _global_counter_key(random.randrange(GLOBAL_COUNTER_SHARDS)),  # noqa: S311
                "UpdateExpression": "ADD liveTokens :delta",
                "ExpressionAttributeValues": _to_item({":delta": delta}),
            }
        }

    def _transact(self, items: list[Any]) -> None:
        """TransactWriteItems; conditions refused -> _TransactionRefused (reasons by item).

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
                    raise _TransactionRefused(reasons) from exc
                if "TransactionConflict" not in reasons or attempt == CONFLICT_ATTEMPTS - 1:
                    raise ServiceUnavailable(retry_after=aws.RETRY_AFTER_SECONDS) from exc
                time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311


@cache
def default_repository() -> Repository:
    """The process's repository over the configured table."""
    return Repository(get_settings().table_name)
