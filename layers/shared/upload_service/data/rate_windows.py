"""Rate windows: hits per caller in one fixed window.

rate window    PK=RATE#<key>       SK=WINDOW#<n>      hits, purged by TTL
"""

from __future__ import annotations

from dataclasses import dataclass

from upload_service.core.errors import RateLimited
from upload_service.data.items import _to_item
from upload_service.data.table import Table


@dataclass(frozen=True)
class RateWindow:
    hits: int
    reset_after: int


class RateWindows(Table):
    def count_request(self, key: str, limit: int, window_seconds: int, now: float) -> RateWindow:
        """Count one request in the caller's current fixed window; RateLimited past `limit`.

        One conditional UpdateItem: atomic, so concurrent requests can't slip past the limit.
        """
        window = int(now // window_seconds)
        reset_after = max(1, int((window + 1) * window_seconds - now + 0.999))
        counted = self._update_if(
            Key=_to_item({"PK": f"RATE#{key}", "SK": f"WINDOW#{window}"}),
            UpdateExpression="ADD hits :one SET purgeAt = if_not_exists(purgeAt, :purge)",
            ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
            ExpressionAttributeValues=_to_item(
                {":one": 1, ":limit": limit, ":purge": (window + 2) * window_seconds}
            ),
            ReturnValues="UPDATED_NEW",
        )
        if counted is None:
            raise RateLimited()
        return RateWindow(hits=int(counted["hits"]["N"]), reset_after=reset_after)
