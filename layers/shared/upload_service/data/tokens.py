"""Token items, the live indexes and the live-token counters (per user, and sharded for all).

  token          PK=TOKEN#<ref>      SK=TOKEN           the token, its owner, status, expiry, upload counters
  user counter   PK=USER#<userId>    SK=COUNTERS        liveTokens: the per-user cap, kept atomically
  global counter PK=COUNTERS#ALL     SK=SHARD#<n>       liveTokens split over shards (sum = all live tokens)

Sparse indexes hold a token only while live (PENDING or PARTIAL_UPLOAD): ByOwnerCreated /
ByOwnerExpiry (activeOwner=<userId>) and AllByCreated / AllByExpiry (activeAll="ALL"), sorted by
createdSort or expirySort (tokens that never expire last; those past expiry are one range of it).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any

from upload_service.core import aws
from upload_service.core.errors import ActiveTokenLimitReached
from upload_service.core.ids import token_ref
from upload_service.core.models import SortBy, SortOrder
from upload_service.core.records import LIVE_STATUSES, TokenRecord, TokenStatus, UploadRecord, isoformat

if TYPE_CHECKING:
    pass

from upload_service.data.items import (
    ALL,
    _expiry_bound,
    _global_counter_key,
    _to_item,
    _user_counter_key,
    record_from_item,
    token_item,
    token_key,
    upload_from_item,
)
from upload_service.data.table import Table, TransactionRefused

GLOBAL_COUNTER_SHARDS = 10

_INDEXES = {
    (False, SortBy.CREATED_AT): "ByOwnerCreated",
    (False, SortBy.TTL): "ByOwnerExpiry",
    (True, SortBy.CREATED_AT): "AllByCreated",
    (True, SortBy.TTL): "AllByExpiry",
}


class TokenIdTaken(Exception):
    """The generated id exists already (a CSPRNG makes this practically impossible)."""


class CountedTokensChanged(Exception):
    """Expired tokens a create counted as free were ended meanwhile (by the cleanup): their slots
    are no longer in the counter, so count again (without them: the index may still show them)."""

    def __init__(self, ended: set[str]) -> None:
        super().__init__(f"{len(ended)} counted tokens ended meanwhile")
        self.ended = ended


#: Expired tokens one create may count as free: each is one ConditionCheck of its transaction, of
#: DynamoDB's 100 items, three of which are the create's own. An owner with more expired tokens
#: awaiting the cleanup than this may be refused a slot that is free until the cleanup reaches them
#: (it runs every minute): refused for a minute, never past the cap.
MAX_FREED = 97


class TokenChanged(Exception):
    """The token left the live set between our read and our conditional write: read again."""


class TokenStore(Table):
    def get_token(self, token: str) -> TokenRecord | None:
        """The token whose string this is (the caller checked its shape)."""
        return self.get_token_by_ref(token_ref(token))

    def get_token_by_ref(self, ref: str) -> TokenRecord | None:
        item = self._get(token_key(ref))
        return record_from_item(item) if item else None

    def get_token_with_uploads(self, ref: str) -> tuple[TokenRecord | None, list[UploadRecord]]:
        """The token and all its uploads: one Query on the token's partition (bounded: a token allows
        `UploadAttemptsPerToken` uploads in all)."""
        params = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"TOKEN#{ref}"}},
            "ConsistentRead": True,
        }
        record, uploads = None, []
        for item in self._query_items(params, take=None):
            if item["SK"]["S"] == "TOKEN":
                record = record_from_item(item)
            else:
                uploads.append(upload_from_item(item))
        return record, uploads

    def create_token(
        self, record: TokenRecord, max_live: int, expired: list[TokenRecord] | None = None
    ) -> None:
        """Store a new token and count it against its owner's cap, atomically.

        The owner's counter also counts tokens past expiry that the cleanup has not ended yet:
        `expired` are such tokens, counted as free. The transaction checks that each is still
        counted (live), so the counter may reach `max_live + len(expired)` and the owner's unexpired
        tokens never pass `max_live`, whatever the cleanup does meanwhile. Raises ActiveTokenLimitReached
        past it, CountedTokensChanged if one of `expired` was ended meanwhile, TokenIdTaken on an id
        clash.
        """
        expired = expired or []
        counted_at_most = max_live + len(expired)
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _user_counter_key(record.user_id),
                    "UpdateExpression": "ADD liveTokens :one",
                    "ConditionExpression": "attribute_not_exists(liveTokens) OR liveTokens < :cap",
                    "ExpressionAttributeValues": _to_item({":one": 1, ":cap": counted_at_most}),
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
            *(
                {
                    "ConditionCheck": {
                        "TableName": self.table_name,
                        "Key": _to_item({"PK": f"TOKEN#{token.ref}", "SK": "TOKEN"}),
                        "ConditionExpression": "attribute_exists(activeOwner)",  # still counted
                    }
                }
                for token in expired
            ),
        ]
        try:
            self._transact(items)
        except TransactionRefused as refused:
            ended = {t.ref for t, why in zip(expired, refused.reasons[3:], strict=False) if why != "None"}
            if ended:
                raise CountedTokensChanged(ended) from None
            if refused.reasons[0] == "ConditionalCheckFailed":
                raise ActiveTokenLimitReached() from None
            raise TokenIdTaken(record.ref) from None

    def end_token(
        self,
        record: TokenRecord,
        status: TokenStatus,
        now: datetime,
        retention: timedelta,
        *,
        unless_uploads_open: bool = False,
    ) -> bool:
        """Move a token out of the live set (DELETED, TIMED_OUT or FULL_UPLOAD) and give back its slot.

        Conditional on the status we read, so concurrent revokes/cleanups end it exactly once, and
        with `unless_uploads_open` on it having no unfinished upload. Returns False when the
        condition does not hold (someone else changed it first).
        """
        condition, values = "", None
        if unless_uploads_open:
            condition = " AND (attribute_not_exists(uploadsOpen) OR uploadsOpen = :zero)"
            values = {":zero": 0}
        try:
            self._transact(
                self._token_transition(
                    record, status, now, retention, extra_values=values, extra_condition=condition
                )
            )
        except TransactionRefused:
            return False
        return True

    def _token_transition(
        self,
        record: TokenRecord,
        status: TokenStatus,
        now: datetime,
        retention: timedelta,
        extra_values: dict[str, Any] | None = None,
        extra_condition: str = "",
    ) -> list[Any]:
        """Transaction items that set a token's status, conditional on the status read.

        Leaving the live set also removes it from the live indexes, decrements the counters and
        schedules its purge.
        """
        leaves = record.status in LIVE_STATUSES and status not in LIVE_STATUSES
        expression = "SET #status = :new"
        values: dict[str, Any] = {":new": status.value, ":seen": record.status.value, **(extra_values or {})}
        if leaves:
            expression += ", purgeAt = :purge, endedAt = :now REMOVE activeOwner, activeAll"
            values |= {":purge": int((now + retention).timestamp()), ":now": isoformat(now)}
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": token_key(record.ref),
                    "UpdateExpression": expression,
                    "ConditionExpression": "#status = :seen" + extra_condition,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _to_item(values),
                }
            }
        ]
        if leaves:
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
        return items

    def expired_live(
        self, user_id: str | None, now: datetime, page_size: int = 1000
    ) -> Iterator[TokenRecord]:
        """Live tokens past their expiry (cleanup has not reached them yet), soonest expired first,
        read lazily `page_size` at a time."""
        params = self._expired_query(user_id, now)
        for item in self._query_items(params, take=None, page_size=page_size):
            yield record_from_item(item)

    def some_expired_live(self, user_id: str, now: datetime, limit: int = MAX_FREED) -> list[TokenRecord]:
        """Up to `limit` of the user's counted tokens past expiry, soonest expired first: one Query of
        a range of their expiry index (which may lag: create_token checks each on the table)."""
        return list(islice(self.expired_live(user_id, now, page_size=limit), limit))

    def _expired_query(self, user_id: str | None, now: datetime) -> dict[str, Any]:
        params = self._index_query(user_id, SortBy.TTL)
        params["KeyConditionExpression"] += " AND expirySort < :bound"
        params["ExpressionAttributeValues"][":bound"] = {"S": _expiry_bound(now)}
        return params

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
