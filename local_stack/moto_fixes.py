"""Where moto's costs grow with use enough to break the local stack, mended in place.

moto keeps every model object it ever creates (`BaseModel.instances_tracked`, for its dashboard):
every DynamoDB item version, every S3 object with its bytes (deleted ones included), every SQS
message. In a long-running server that is a leak proportional to everything ever written;
`stop_tracking_instances` stops it (the dashboard is not used here).

moto 5.2's TransactWriteItems deep-copies every table a transaction names, once per item of the
transaction, to roll back on failure. Each transaction then costs time and memory in proportion to
everything stored: a few thousand uploads in, every start, accept and reject copies the whole table
three times, the stack slows until requests time out and its memory balloons (the review saw 16.9 GB
after about 1,000 start-then-reject cycles). DynamoDB's own cost is per item written.

moto's GetObject reads the whole object for any Range (then slices it, and runs a regex over all of
it): a 1 MiB range of a 256 MiB object costs a 256 MiB read, so forwarding a large file in chunks
read from the emulator grew with size x chunks. `serve_ranges_from_the_buffer` reads only the range,
as S3 does, and sends it as it reads it (moto read all of it before the first byte went out).

moto answers a browser's POST upload (a presigned POST) with no `ETag`, no `Location` and none of the
bucket's CORS headers, where S3 sends all three: the browser cannot read what S3 would let it read,
and Uppy 5 waits for the ETag forever. `post_object_answers_like_s3` adds them.

moto answers a part, a part copy or a completion for a multipart upload it no longer holds (aborted,
completed, never started) with a 500 and a `KeyError` traceback, and a part that races its upload's
abort with a 500 too (its ETag read from a buffer the abort closed); S3 answers 404 `NoSuchUpload`,
as moto already does for ListParts and AbortMultipartUpload. `unknown_uploads_are_no_such_upload`
answers as S3 does (a client racing a revocation that aborted its upload sees S3's refusal).

`snapshot_only_touched_items` keeps moto's semantics (all or nothing) with a snapshot of only the
items the transaction writes: the table's deep copy becomes the table itself, and a failed
transaction puts back exactly those items. The emulator serialises DynamoDB requests, so nothing
else runs in between.

Each mend is held (`with mend.held():`), by the emulator while it runs or by a test while it needs
it, and undone when its last holder lets go (local_stack/patching.py); `held_all` holds them all.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import quote

from moto.core.common_models import BaseModel
from moto.core.model_instances import model_data
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML, NoSuchUpload
from moto.s3.models import FakeKey, FakeMultipart, S3Backend
from moto.s3.responses import S3Response
from moto.s3.utils import compute_checksum
from moto.settings import S3_UPLOAD_PART_MIN_SIZE
from moto.utilities.utils import md5_hash

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
_ONE_RANGE = re.compile(r"bytes=(?:(?P<first>\d+)-(?P<last>\d*)|-\d+)")
_ranged = threading.local()


class _StoredBytes:
    """An object's bytes as moto's range handling uses them (`len`, one slice): the slice is a
    `_RangeBody`, read from the object's buffer only as the server sends it."""

    def __init__(self, key: FakeKey) -> None:
        self.key = key

    def __len__(self) -> int:
        return int(self.key.size)

    def __getitem__(self, part: slice) -> _RangeBody:
        start, stop, _ = part.indices(len(self))
        return _RangeBody(self.key, start, max(start, stop))


class _RangeBody:
    """Bytes `start..stop` of an object, read from its buffer a block at a time while the server
    writes them (werkzeug sends an iterable body as it goes), as S3 starts answering at once."""

    BLOCK = 1024 * 1024

    def __init__(self, key: FakeKey, start: int, stop: int) -> None:
        self.key = key
        self.start = start
        self.stop = stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[bytes]:
        position = self.start
        while position < self.stop:
            with self.key.lock:
                self.key._value_buffer.seek(position)
                block = bytes(self.key._value_buffer.read(min(self.BLOCK, self.stop - position)))
            if not block:
                return
            position += len(block)
            yield block


@mend
def serve_ranges_from_the_buffer(undo: ExitStack) -> None:
    """GetObject with one Range reads that range only."""
    whole_object: Any = FakeKey.value
    original = S3Response.get_object

    def value(key: FakeKey) -> Any:
        return _StoredBytes(key) if getattr(_ranged, "active", False) else whole_object.fget(key)

    @functools.wraps(original)
    def get_object(self: S3Response) -> Any:
        one_range = _ONE_RANGE.fullmatch(self.headers.get("range") or "")
        backwards = one_range and one_range["last"] and int(one_range["first"]) > int(one_range["last"])
        if one_range is None or backwards or "partNumber" in self.querystring:
            return original(self)  # moto's own answer (S3 ignores a backwards range)
        _ranged.active = True
        try:
            return original(self)
        finally:
            _ranged.active = False

    replace(undo, FakeKey, "value", property(value, whole_object.fset))
    replace(undo, S3Response, "get_object", get_object)


@mend
def complete_multipart_in_one_copy(undo: ExitStack) -> None:
    """CompleteMultipartUpload joins the parts once.

    moto copies the whole object three times before it answers (into a bytearray, again into its
    checksum builder, then both to bytes): 256 MiB cost about a second in process and 2.5-3 s in the
    server. With no checksum algorithm asked for (S3 then reports a full-object CRC64NVME, as moto
    does), this joins the parts once and checksums that; otherwise moto's own code runs.
    """
    original = FakeMultipart.complete

    @functools.wraps(original)
    def complete(self: FakeMultipart, body: Any) -> Any:
        if self.metadata.get("x-amz-checksum-algorithm") or self.metadata.get("x-amz-checksum-type"):
            return original(self, body)
        parts: list[FakeKey] = []
        for number, etag in body:
            part = self.parts.get(number)
            if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                raise InvalidPart()
            if parts and parts[-1].contentsize < S3_UPLOAD_PART_MIN_SIZE:
                raise EntityTooSmall()
            parts.append(part)
        if not parts:
            raise MalformedXML()
        whole = b"".join(part.value for part in parts)
        md5s = b"".join(bytes.fromhex(part.etag.replace('"', "")) for part in parts)
        etag = f"{md5_hash(md5s).hexdigest()}-{len(parts)}"
        return whole, etag, ("FULL_OBJECT", compute_checksum(whole, "CRC64NVME").decode(), 1)

    replace(undo, FakeMultipart, "complete", complete)


@mend
def post_object_answers_like_s3(undo: ExitStack) -> None:
    """A POST upload is answered with the object's `ETag`, its `Location`, its version and the
    bucket's CORS headers for the request's `Origin`, as S3 answers it."""
    original = S3Response._bucket_response_post

    @functools.wraps(original)
    def post(self: S3Response, request: Any, bucket_name: str) -> Any:
        status, headers, body = original(self, request, bucket_name)
        if self.data.get("Action") != "PutObject" or not 200 <= int(status) < 400:
            return status, headers, body
        key_name = self.querystring["key"][0]
        stored = self.backend.get_object(bucket_name, key_name)
        if stored is None:
            return status, headers, body
        answered = {**self._get_cors_headers_other(), **headers, "ETag": stored.etag}
        answered.setdefault("Location", f"{request.url.split('?')[0].rstrip('/')}/{quote(key_name)}")
        if stored.version_id and stored.version_id != "null":
            answered["x-amz-version-id"] = stored.version_id
        return status, answered, body

    replace(undo, S3Response, "_bucket_response_post", post)


@mend
def unknown_uploads_are_no_such_upload(undo: ExitStack) -> None:
    """UploadPart, UploadPartCopy and CompleteMultipartUpload of an upload moto does not hold: 404
    NoSuchUpload, as S3 answers (moto: a KeyError, a 500). And one upload's operations one at a time,
    a part's ETag taken before an abort may close its buffer (moto read a closed file: a 500)."""
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock_of(multipart_id: str) -> threading.Lock:
        with guard:
            return locks.setdefault(multipart_id, threading.Lock())

    def checked(original: Any) -> Any:
        @functools.wraps(original)
        def operation(self: S3Backend, bucket_name: str, multipart_id: str, *args: Any, **kwargs: Any) -> Any:
            with lock_of(multipart_id):
                if multipart_id not in self.get_bucket(bucket_name).multiparts:
                    raise NoSuchUpload(upload_id=multipart_id)
                result = original(self, bucket_name, multipart_id, *args, **kwargs)
                if isinstance(result, FakeKey):
                    _ = result.etag  # read (and kept) while the part's buffer is surely open
                if multipart_id not in self.get_bucket(bucket_name).multiparts:  # completed, aborted
                    with guard:
                        locks.pop(multipart_id, None)
                return result

        return operation

    for name in ("upload_part", "upload_part_copy", "complete_multipart_upload", "abort_multipart_upload"):
        replace(undo, S3Backend, name, checked(getattr(S3Backend, name)))


ALL = (
    unknown_uploads_are_no_such_upload,
    snapshot_only_touched_items,
    stop_tracking_instances,
    serve_ranges_from_the_buffer,
    complete_multipart_in_one_copy,
    post_object_answers_like_s3,
)


@contextmanager
def held_all() -> Iterator[None]:
    """Every mend of moto, for as long as the context lasts (the emulator holds them while it runs)."""
    with ExitStack() as held:
        for each in ALL:
            held.enter_context(each.held())
        yield
