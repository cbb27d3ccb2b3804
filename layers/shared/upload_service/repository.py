"""All DynamoDB access: one table, keys designed so that no request Scans.

Items (<ref> is `ids.token_ref(token)`: the token string itself is stored in its own record only)
  token          PK=TOKEN#<ref>      SK=TOKEN           the token, its owner, status, expiry, upload counters
  upload         PK=TOKEN#<ref>      SK=UPLOAD#<id>     one upload of that token (token + uploads: one Query)
  upload pointer PK=UPLOAD#<id>      SK=UPLOAD          which token an upload id belongs to (its ref)
  user counter   PK=USER#<userId>    SK=COUNTERS        liveTokens: the per-user cap, kept atomically
  global counter PK=COUNTERS#ALL     SK=SHARD#<n>       liveTokens split over shards (sum = all live tokens)
  rate window    PK=RATE#<key>       SK=WINDOW#<n>      hits in one fixed window, purged by TTL

Sparse indexes (a token is in them only while live: PENDING or PARTIAL_UPLOAD; an upload while PENDING)
  ByOwnerCreated / ByOwnerExpiry   activeOwner=<userId>, createdSort / expirySort
  AllByCreated   / AllByExpiry     activeAll="ALL",      createdSort / expirySort
  OpenByTargetExpiry               openAll="ALL",        openUntil (the upload target's expiry)
`expirySort` puts tokens that never expire last; tokens past expiry are one range of it.
Every item of a token carries `purgeAt` once it is decided or ended, so DynamoDB's TTL removes it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from upload_service import aws
from upload_service.config import get_settings
from upload_service.errors import ActiveTokenLimitReached, RateLimited, ServiceUnavailable, UploadLimitReached
from upload_service.ids import token_ref
from upload_service.models import (
    LIVE_STATUSES,
    SortBy,
    SortOrder,
    TokenRecord,
    TokenStatus,
    UploadRecord,
    UploadStatus,
    isoformat,
    parse_isoformat,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from upload_service.storage import StoredObject

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


def token_key(ref: str) -> dict[str, Any]:
    return _to_item({"PK": f"TOKEN#{ref}", "SK": "TOKEN"})


def _pointer_key(upload_id: str) -> dict[str, Any]:
    return _to_item({"PK": f"UPLOAD#{upload_id}", "SK": "UPLOAD"})


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
            "PK": f"TOKEN#{record.ref}",
            "SK": "TOKEN",
            "token": record.token,
            "userId": record.user_id,
            "ttl": record.ttl,
            "createdAt": isoformat(record.created_at),
            "expiresAt": expires,
            "status": record.status.value,
            "createdSort": f"{isoformat(record.created_at)}#{record.ref}",
            "expirySort": f"{expires or NEVER}#{record.ref}",
            "activeOwner": record.user_id if live else None,
            "activeAll": ALL if live else None,
            "uploadsReserved": record.uploads_reserved,
            "uploadsOpen": record.uploads_open,
            "uploadsAccepted": record.uploads_accepted,
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
        uploads_reserved=int(values.get("uploadsReserved", 0)),
        uploads_open=int(values.get("uploadsOpen", 0)),
        uploads_accepted=int(values.get("uploadsAccepted", 0)),
    )


def upload_key(ref: str, upload_id: str) -> dict[str, Any]:
    return _to_item({"PK": f"TOKEN#{ref}", "SK": f"UPLOAD#{upload_id}"})


def upload_item(upload: UploadRecord, retention: timedelta) -> dict[str, Any]:
    """A PENDING upload: in the open-uploads index until decided, purged `retention` after its target
    expires at the latest (every decision sets an earlier `purgeAt` of its own)."""
    return _to_item(
        {
            **{name: value["S"] for name, value in upload_key(upload.token_ref, upload.upload_id).items()},
            "tokenRef": upload.token_ref,
            "uploadId": upload.upload_id,
            "userId": upload.user_id,
            "fileName": upload.file_name,
            "fileSize": upload.file_size,
            "contentType": upload.content_type,
            "createdAt": isoformat(upload.created_at),
            "targetExpiresAt": isoformat(upload.target_expires_at),
            "status": upload.status.value,
            "openAll": ALL,
            "openUntil": f"{isoformat(upload.target_expires_at)}#{upload.upload_id}",
            "purgeAt": int((upload.target_expires_at + retention).timestamp()),
        }
    )


def upload_from_item(item: Mapping[str, Any]) -> UploadRecord:
    values = _from_item(item)
    return UploadRecord(
        token_ref=values["tokenRef"],
        upload_id=values["uploadId"],
        user_id=values["userId"],
        file_name=values["fileName"],
        file_size=int(values["fileSize"]),
        content_type=values["contentType"],
        created_at=parse_isoformat(values["createdAt"]),
        target_expires_at=parse_isoformat(values["targetExpiresAt"]),
        status=UploadStatus(values["status"]),
        reason=values.get("reason"),
        object_size=int(values["objectSize"]) if "objectSize" in values else None,
        etag=values.get("etag"),
        version_id=values.get("versionId"),
        event_sent=bool(values.get("eventSent", False)),
    )


class TokenIdTaken(Exception):
    """The generated id exists already (a CSPRNG makes this practically impossible)."""


class TokenChanged(Exception):
    """The token left the live set between our read and our conditional write: read again."""


class _TransactionRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class RateWindow:
    hits: int
    reset_after: int


class UploadDecided(Exception):
    """The upload was decided by someone else (another delivery, the cleanup, a revoke): read again."""


class Repository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self.client = client or aws.dynamodb()

    # -- tokens -------------------------------------------------------------------------------

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

    def create_token(self, record: TokenRecord, max_live: int) -> None:
        """Store a new token and count it against its owner's cap, atomically.

        `max_live` is the most counted tokens the owner may then hold (the cap, plus what of it is
        expired and not cleaned up yet). Raises ActiveTokenLimitReached past it, TokenIdTaken on an
        id clash.
        """
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
        except _TransactionRefused:
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

    def count_expired_live(self, user_id: str, now: datetime) -> int:
        """How many of the user's counted tokens are past expiry: one Query (Select COUNT) on a range of
        their expiry index, at most their cap of items."""
        params = {**self._expired_query(user_id, now), "Select": "COUNT"}
        paginator = self.client.get_paginator("query")
        with aws.unavailable_when_throttled():
            return sum(int(page["Count"]) for page in paginator.paginate(**params))

    def _expired_query(self, user_id: str | None, now: datetime) -> dict[str, Any]:
        params = self._index_query(user_id, SortBy.TTL)
        params["KeyConditionExpression"] += " AND expirySort < :bound"
        params["ExpressionAttributeValues"][":bound"] = {"S": _expiry_bound(now)}
        return params

    # -- uploads ------------------------------------------------------------------------------

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        """An upload by its id alone (as the object key names it): its pointer, then its record."""
        pointer = self._get(_pointer_key(upload_id))
        if pointer is None:
            return None
        return self.get_token_upload(pointer["tokenRef"]["S"], upload_id)

    def get_token_upload(self, ref: str, upload_id: str) -> UploadRecord | None:
        item = self._get(upload_key(ref, upload_id))
        return upload_from_item(item) if item else None

    def start_upload(
        self, upload: UploadRecord, allowance: int, attempts: int, now: datetime, retention: timedelta
    ) -> None:
        """Record a PENDING upload (and its pointer) and reserve one of the token's uploads, atomically.

        Refused (UploadLimitReached) when the token is no longer live, its allowance is reserved or
        it has used up its `attempts` (every upload started, whatever became of it).
        """
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": token_key(upload.token_ref),
                    "UpdateExpression": "ADD uploadsReserved :one, uploadsOpen :one, uploadsStarted :one",
                    "ConditionExpression": "#status IN (:pending, :partial)"
                    " AND (attribute_not_exists(uploadsReserved) OR uploadsReserved < :allowance)"
                    " AND (attribute_not_exists(uploadsStarted) OR uploadsStarted < :attempts)"
                    " AND (attribute_not_exists(expiresAt) OR expiresAt > :now)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _to_item(
                        {
                            ":one": 1,
                            ":allowance": allowance,
                            ":attempts": attempts,
                            ":pending": TokenStatus.PENDING.value,
                            ":partial": TokenStatus.PARTIAL_UPLOAD.value,
                            ":now": isoformat(now),
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": upload_item(upload, retention),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        **_pointer_key(upload.upload_id),
                        **_to_item(
                            {
                                "tokenRef": upload.token_ref,
                                "purgeAt": int((upload.target_expires_at + retention).timestamp()),
                            }
                        ),
                    },
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        try:
            self._transact(items)
        except _TransactionRefused:
            raise UploadLimitReached(
                detail=f"A token allows {allowance} uploads, and {attempts} started in all."
            ) from None

    def accept_upload(self, upload: UploadRecord, stored: StoredObject, now: datetime) -> UploadRecord:
        """Mark the upload ACCEPTED (pinned to the object checked) and count it on its live token.

        The token's counters move by atomic ADDs whose condition is only that the token is live, so
        any number of uploads of one token are accepted side by side. Raises UploadDecided when the
        upload was decided meanwhile, TokenChanged when the token left the live set.
        """
        items = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": token_key(upload.token_ref),
                    "UpdateExpression": "SET #status = :partial ADD uploadsAccepted :one, uploadsOpen :minus",
                    "ConditionExpression": "#status IN (:pending, :partial)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _to_item(
                        {
                            ":one": 1,
                            ":minus": -1,
                            ":pending": TokenStatus.PENDING.value,
                            ":partial": TokenStatus.PARTIAL_UPLOAD.value,
                        }
                    ),
                }
            },
            self._decide_upload(upload, UploadStatus.ACCEPTED, now, None, stored),
        ]
        self._decide(items, upload_index=1)
        return replace(
            upload,
            status=UploadStatus.ACCEPTED,
            object_size=stored.size,
            etag=stored.etag,
            version_id=stored.version_id,
        )

    def reject_upload(
        self,
        upload: UploadRecord,
        status: UploadStatus,
        reason: str,
        now: datetime,
        stored: StoredObject | None = None,
        *,
        token_exists: bool = True,
    ) -> UploadRecord:
        """REJECTED (or EXPIRED) with a reason; gives its reservation back to the token.

        Raises UploadDecided when the upload was decided meanwhile.
        """
        items: list[Any] = [self._decide_upload(upload, status, now, reason, stored)]
        if token_exists:
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": token_key(upload.token_ref),
                        "UpdateExpression": "ADD uploadsReserved :minus, uploadsOpen :minus",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": _to_item({":minus": -1}),
                    }
                }
            )
        self._decide(items, upload_index=0)
        return replace(
            upload,
            status=status,
            reason=reason,
            object_size=stored.size if stored else None,
            etag=stored.etag if stored else None,
            version_id=stored.version_id if stored else None,
        )

    def _decide(self, items: list[Any], upload_index: int) -> None:
        """Run a decision's transaction; which item's condition failed tells who changed what."""
        try:
            self._transact(items)
        except _TransactionRefused as refused:
            if refused.reasons[upload_index] == "ConditionalCheckFailed":
                raise UploadDecided() from None
            raise TokenChanged() from None

    def close_if_full(self, ref: str, allowance: int, now: datetime, retention: timedelta) -> bool:
        """FULL_UPLOAD (out of the live set) once the token's accepted uploads reach its allowance.

        Separate from the accept so that accepts never wait for each other; repeatable, and exactly
        one caller closes it (conditional on the status read)."""
        token = self.get_token_by_ref(ref)
        if (
            token is None
            or token.status is not TokenStatus.PARTIAL_UPLOAD
            or token.uploads_accepted < allowance
        ):
            return False
        return self.end_token(token, TokenStatus.FULL_UPLOAD, now, retention)

    def claim_event(self, upload: UploadRecord) -> bool:
        """Claim the right to publish this upload's event; True for exactly one caller."""
        try:
            with aws.unavailable_when_throttled():
                self.client.update_item(
                    TableName=self.table_name,
                    Key=upload_key(upload.token_ref, upload.upload_id),
                    UpdateExpression="SET eventSent = :yes",
                    ConditionExpression="attribute_exists(PK) AND attribute_not_exists(eventSent)",
                    ExpressionAttributeValues={":yes": {"BOOL": True}},
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_event(self, upload: UploadRecord) -> None:
        """Give the claim back when publishing failed, so a retry publishes."""
        with aws.unavailable_when_throttled():
            self.client.update_item(
                TableName=self.table_name,
                Key=upload_key(upload.token_ref, upload.upload_id),
                UpdateExpression="REMOVE eventSent",
            )

    def pending_uploads(self, ref: str) -> list[UploadRecord]:
        """A token's undecided uploads (at most its allowance)."""
        params = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :upload)",
            "FilterExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": _to_item(
                {":pk": f"TOKEN#{ref}", ":upload": "UPLOAD#", ":pending": UploadStatus.PENDING.value}
            ),
            "ConsistentRead": True,
        }
        return [upload_from_item(item) for item in self._query_items(params, take=None)]

    def stale_uploads(self, before: datetime, limit: int) -> list[UploadRecord]:
        """PENDING uploads whose target expired before `before`, oldest first: a range of the sparse
        open-uploads index, so the cost is what expired, not what is stored."""
        params = {
            "TableName": self.table_name,
            "IndexName": "OpenByTargetExpiry",
            "KeyConditionExpression": "openAll = :all AND openUntil < :bound",
            "ExpressionAttributeValues": _to_item({":all": ALL, ":bound": _expiry_bound(before)}),
        }
        return [upload_from_item(item) for item in self._query_items(params, take=limit)]

    def _decide_upload(
        self,
        upload: UploadRecord,
        status: UploadStatus,
        now: datetime,
        reason: str | None,
        stored: StoredObject | None,
    ) -> Any:
        """The upload's decision, conditional on it being PENDING: out of the open-uploads index, with
        what was checked (size, ETag, version) and its purge date."""
        retention = timedelta(days=get_settings().record_retention_days)
        values: dict[str, Any] = {"reason": reason, "purgeAt": int((now + retention).timestamp())}
        if stored is not None:
            values |= {"objectSize": stored.size, "etag": stored.etag, "versionId": stored.version_id}
        values = {name: value for name, value in values.items() if value is not None}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": upload_key(upload.token_ref, upload.upload_id),
                "UpdateExpression": "SET #status = :new, decidedAt = :now"
                + "".join(f", #{name} = :{name}" for name in values)
                + " REMOVE openAll, openUntil",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status", **{f"#{name}": name for name in values}},
                "ExpressionAttributeValues": _to_item(
                    {
                        ":new": status.value,
                        ":now": isoformat(now),
                        ":pending": UploadStatus.PENDING.value,
                        **{f":{name}": value for name, value in values.items()},
                    }
                ),
            }
        }

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

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """One item, read consistently (decisions are made on it)."""
        with aws.unavailable_when_throttled():
            response = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)
        return response.get("Item")

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
