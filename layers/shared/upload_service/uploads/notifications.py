"""S3 event notifications as the uploads queue delivers them: parsed strictly, one record at a time.

A record that cannot be parsed is reported with its reason (the names of what is wrong, never the
values: a key could hold anything) so the caller can log it, count it and let it go; retrying would
not make it any better.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str = Field(min_length=1)
    version_id: str | None = Field(None, alias="versionId")
    e_tag: str | None = Field(None, alias="eTag")
    sequencer: str = ""


class _Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)


class _S3(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bucket: _Bucket
    object: _Object


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_name: str = Field(alias="eventName")
    event_time: AwareDatetime = Field(alias="eventTime")
    s3: _S3


@dataclass(frozen=True)
class Arrival:
    """One object S3 says was created: where, which version, when."""

    bucket: str
    key: str
    time: datetime
    sequencer: str = ""
    version_id: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Unreadable:
    """A record (or a whole message) that is not an S3 ObjectCreated notification, and why."""

    reason: str


def read_message(body: str) -> list[Arrival | Unreadable]:
    """The ObjectCreated records of an SQS message body; [] for s3:TestEvent and other event kinds."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return [Unreadable("body is not JSON")]
    if not isinstance(message, dict):
        return [Unreadable("body is not a JSON object")]
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        return [Unreadable("no Records list")]
    return [read_record(record) for record in records if _is_created(record)]


def _is_created(record: Any) -> bool:
    """Only ObjectCreated records are ours; anything that is not even a record is reported."""
    return not isinstance(record, dict) or str(record.get("eventName", "")).startswith("ObjectCreated")


def read_record(record: Any) -> Arrival | Unreadable:
    try:
        parsed = _Record.model_validate(record)
    except ValidationError as exc:
        problems = sorted({f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['type']}" for e in exc.errors()})
        return Unreadable("malformed S3 record (" + ", ".join(problems[:5]) + ")")
    s3 = parsed.s3
    return Arrival(
        bucket=s3.bucket.name,
        key=unquote_plus(s3.object.key),  # S3 encodes spaces as "+", moto also "/" as %2F
        time=parsed.event_time,
        sequencer=s3.object.sequencer,
        version_id=s3.object.version_id,
        etag=s3.object.e_tag,
    )
