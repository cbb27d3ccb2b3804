"""S3's event notifications as S3 sends them.

moto's records name an object's key, size and ETag only, where S3's also carry its `versionId` (in a
versioned bucket) and a `sequencer` that orders the events of one key. The processor tells object
versions apart by them (its idempotency key: bucket, key, version, sequencer, ETag), so without
them the same bytes sent again to a decided upload's target looked like a repeat of the first
notification and stayed in uploads/ (locally only). `notifications_name_version_and_sequence`
adds both.
"""

from __future__ import annotations

import functools
import itertools
import threading
from contextlib import ExitStack
from typing import Any

from moto.s3 import notifications

from local_stack.patching import mend, replace

_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


def next_sequencer() -> str:
    """A hexadecimal string that sorts after every one before it (S3's are 16 or more digits)."""
    with _sequence_lock:
        return f"{next(_sequence):018X}"


@mend
def notifications_name_version_and_sequence(undo: ExitStack) -> None:
    """Every ObjectCreated record carries the object's `versionId` (where the bucket versions it)
    and a `sequencer`."""
    original = notifications._get_s3_event

    @functools.wraps(original)
    def event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        built: dict[str, Any] = original(event_name, bucket, key, notification_id)
        stored = built["Records"][0]["s3"]["object"]
        version = getattr(key, "version_id", None)
        if version and version != "null":
            stored["versionId"] = version
        stored["sequencer"] = next_sequencer()
        return built

    replace(undo, notifications, "_get_s3_event", event)
