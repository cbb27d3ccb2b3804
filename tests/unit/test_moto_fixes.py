"""The local stack's mends of moto (local_stack/moto_fixes.py): each does what S3 or DynamoDB does,
and each is undone when its last holder lets go (no test leaves moto mended for the tests after it)."""

from __future__ import annotations

import base64
import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.cognitoidp.models import CognitoIdpUserPool
from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.responses import DynamoHandler
from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeKey, FakeMultipart, S3Backend
from moto.s3.responses import S3Response

from local_stack import moto_fixes
from local_stack.credentials import TOOLS
from local_stack.emulator import Emulator
from local_stack.moto_fixes.memory import snapshot_only_touched_items, stop_tracking_instances
from local_stack.patching import Mend, replace
from local_stack.powertools_fixes import logger_keys_per_thread, route_state_per_thread
from tests.waiting import eventually


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in process, not a running stack's server
    with snapshot_only_touched_items.held(), mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def key(pk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "x"}}


def test_a_refused_transaction_leaves_every_item_as_it_was(table: Any) -> None:
    table.put_item(TableName="t", Item={**key("a"), "n": {"N": "1"}})
    table.put_item(TableName="t", Item={**key("b"), "n": {"N": "5"}})

    with pytest.raises(ClientError, match="TransactionCanceled"):
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {**key("new"), "n": {"N": "0"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": key("a"),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Update": {
                        "TableName": "t",
                        "Key": key("b"),
                        "UpdateExpression": "ADD n :one",
                        "ConditionExpression": "n < :cap",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": "5"}},
                    }
                },
            ]
        )

    assert "Item" not in table.get_item(TableName="t", Key=key("new"))
    assert table.get_item(TableName="t", Key=key("a"))["Item"]["n"] == {"N": "1"}
    assert table.get_item(TableName="t", Key=key("b"))["Item"]["n"] == {"N": "5"}


def test_an_accepted_transaction_writes_every_item(table: Any) -> None:
    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {**key("c"), "n": {"N": "2"}}}},
            {"Put": {"TableName": "t", "Item": {**key("d"), "n": {"N": "3"}}}},
        ]
    )
    assert table.get_item(TableName="t", Key=key("d"))["Item"]["n"] == {"N": "3"}


def test_a_transaction_copies_only_the_items_it_writes(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(500):
        table.put_item(TableName="t", Item={**key(f"filler-{i}"), "body": {"S": "x" * 100}})
    copied = {"items": 0}
    original = Item.__deepcopy__

    def counting(self: Item, memo: dict[int, Any]) -> Item:
        copied["items"] += 1
        return original(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)

    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": key("e")}},
            {"Update": {"TableName": "t", "Key": key("filler-1"), "UpdateExpression": "REMOVE body"}},
        ]
    )

    assert copied["items"] <= 2  # moto alone copies the whole table per item: 1,000 here


def test_models_are_no_longer_kept_after_they_are_gone(table: Any) -> None:
    """moto appends every model object to its class's `instances_tracked` for its dashboard, so a
    long-running emulator keeps every item version, S3 object and message it ever held."""
    with stop_tracking_instances.held():
        for i in range(50):
            table.put_item(TableName="t", Item={**key(f"k-{i}"), "n": {"N": str(i)}})
            table.delete_item(TableName="t", Key=key(f"k-{i}"))

        assert Item.instances_tracked == []  # type: ignore[attr-defined]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The local stack's emulator (moto's server with the fixes installed), on a free port."""
    served = Emulator("127.0.0.1", 0)
    served.start()
    yield served
    served.stop()


@pytest.fixture
def s3(emulator: Emulator) -> Any:
    """An S3 client of that emulator, over HTTP, signing (and presigning) with SigV4 as the layer's does:
    the strict emulator refuses SigV2, which botocore would presign POSTs with in us-east-1."""
    return boto3.client(
        "s3",
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        config=Config(signature_version="s3v4"),
        **TOOLS.client_arguments(),
    )


def test_a_ranged_get_reads_only_its_range_and_answers_as_before(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the emulator over HTTP: every range answers what moto answered, read from the buffer."""
    s3.create_bucket(Bucket="ranged-reads")
    content = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(Bucket="ranged-reads", Key="k", Body=content)
    whole_reads: list[int] = []
    read = tempfile.SpooledTemporaryFile.read

    def spied(buffer: Any, size: int = -1) -> bytes:
        if size is None or size < 0:
            whole_reads.append(buffer.tell())
        return bytes(read(buffer, size))

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "read", spied)
    for asked, expected in [
        ("bytes=0-9", content[:10]),
        ("bytes=1000-1048575", content[1000:]),
        ("bytes=524288-", content[524288:]),
        ("bytes=-7", content[-7:]),
        ("bytes=1048000-2000000", content[1048000:]),
    ]:
        answer = s3.get_object(Bucket="ranged-reads", Key="k", Range=asked)
        assert answer["Body"].read() == expected, asked
        assert answer["ContentRange"].endswith(f"/{len(content)}")
    assert whole_reads == []  # no range read the whole object
    assert s3.get_object(Bucket="ranged-reads", Key="k")["Body"].read() == content  # a plain GET still does
    with pytest.raises(ClientError, match="InvalidRange"):
        s3.get_object(Bucket="ranged-reads", Key="k", Range="bytes=2000000-")


def test_a_multipart_upload_completes_as_before_in_one_copy(s3: Any) -> None:
    """Through the emulator over HTTP: the same object, ETag and refusals as moto's own completion."""
    import hashlib

    s3.create_bucket(Bucket="completed")
    parts = [bytes([n]) * (5 * 1024**2) for n in (1, 2)] + [b"tail"]

    def upload(key: str, bodies: list[bytes]) -> tuple[str, list[dict[str, Any]]]:
        started = s3.create_multipart_upload(Bucket="completed", Key=key)["UploadId"]
        sent = [
            {
                "PartNumber": n,
                "ETag": s3.upload_part(
                    Bucket="completed", Key=key, UploadId=started, PartNumber=n, Body=body
                )["ETag"],
            }
            for n, body in enumerate(bodies, start=1)
        ]
        return started, sent

    upload_id, sent = upload("k", parts)
    done = s3.complete_multipart_upload(
        Bucket="completed", Key="k", UploadId=upload_id, MultipartUpload={"Parts": sent}
    )
    md5s = b"".join(hashlib.md5(part).digest() for part in parts)
    assert done["ETag"].strip('"') == f"{hashlib.md5(md5s).hexdigest()}-3"
    assert s3.get_object(Bucket="completed", Key="k")["Body"].read() == b"".join(parts)

    upload_id, sent = upload("wrong", parts)
    with pytest.raises(ClientError, match="InvalidPart"):
        s3.complete_multipart_upload(
            Bucket="completed",
            Key="wrong",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{**sent[0], "ETag": '"0"'}, *sent[1:]]},
        )
    upload_id, sent = upload("small", [b"a", b"b"])
    with pytest.raises(ClientError, match="EntityTooSmall"):
        s3.complete_multipart_upload(
            Bucket="completed", Key="small", UploadId=upload_id, MultipartUpload={"Parts": sent}
        )


def test_a_post_upload_is_answered_with_its_etag_location_version_and_cors_headers(
    s3: Any, emulator: Emulator
) -> None:
    """Through the emulator over HTTP, as a browser posts a presigned POST: what S3 answers."""
    import requests

    s3.create_bucket(Bucket="posted")
    s3.put_bucket_versioning(Bucket="posted", VersioningConfiguration={"Status": "Enabled"})
    origin = "http://page.example"
    emulator.browser_origins.add(origin)  # as the stack allows its demo page's origin
    s3.put_bucket_cors(
        Bucket="posted",
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [origin],
                    "AllowedMethods": ["POST"],
                    "ExposeHeaders": ["ETag", "Location"],
                }
            ]
        },
    )
    target = s3.generate_presigned_post(Bucket="posted", Key="uploads/a b.mp4")

    answer = requests.post(
        target["url"],
        data=target["fields"],
        files={"file": ("a b.mp4", b"some bytes")},
        headers={"Origin": origin},
        timeout=10,
    )

    assert answer.status_code == 204, answer.text
    stored = s3.head_object(Bucket="posted", Key="uploads/a b.mp4")
    assert answer.headers["ETag"] == stored["ETag"]
    assert answer.headers["x-amz-version-id"] == stored["VersionId"]
    assert answer.headers["Location"] == f"{emulator.endpoint}/posted/uploads/a%20b.mp4"
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert answer.headers["Access-Control-Expose-Headers"] == "ETag, Location"


def test_a_large_range_is_sent_as_it_is_read(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the emulator over HTTP: the first MiB of a 64 MiB range arrives before the emulator
    has read the rest (as S3 answers), and the whole range arrives intact."""
    s3.create_bucket(Bucket="streamed")
    content = bytes(range(256)) * (4096 * 64)  # 64 MiB
    s3.put_object(Bucket="streamed", Key="k", Body=content)
    blocks: list[int] = []
    read = tempfile.SpooledTemporaryFile.read

    def spied(buffer: Any, size: int = -1) -> bytes:
        blocks.append(size)
        return bytes(read(buffer, size))

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "read", spied)

    answer = s3.get_object(Bucket="streamed", Key="k", Range=f"bytes=0-{len(content) - 1}")
    first = answer["Body"].read(1024**2)
    read_when_it_arrived = len(blocks)
    rest = answer["Body"].read()

    assert read_when_it_arrived < 32, blocks  # of 64 blocks: a socket buffer's worth ahead at most
    assert first + rest == content
    assert len(blocks) == 64 and set(blocks) == {1024**2}


def test_parts_and_completions_of_an_upload_s3_does_not_hold_are_no_such_upload(s3: Any) -> None:
    """Through the emulator over HTTP, as after a revocation aborted the upload: S3's 404, not a 500."""
    s3.create_bucket(Bucket="aborted")
    s3.put_object(Bucket="aborted", Key="source", Body=b"x" * 10)
    upload_id = s3.create_multipart_upload(Bucket="aborted", Key="k")["UploadId"]
    s3.abort_multipart_upload(Bucket="aborted", Key="k", UploadId=upload_id)
    calls: dict[str, Callable[[], Any]] = {
        "UploadPart": lambda: s3.upload_part(
            Bucket="aborted", Key="k", UploadId=upload_id, PartNumber=1, Body=b"part"
        ),
        "UploadPartCopy": lambda: s3.upload_part_copy(
            Bucket="aborted", Key="k", UploadId=upload_id, PartNumber=1, CopySource="aborted/source"
        ),
        "CompleteMultipartUpload": lambda: s3.complete_multipart_upload(
            Bucket="aborted",
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0"'}]},
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as refused:
            call()
        error = refused.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
            "NoSuchUpload",
            404,
        ), name


#: Every class a mend of the local stack changes.
MENDED_CLASSES = (  # and modules
    s3_notifications,
    BaseModel,
    DynamoDBBackend,
    DynamoHandler,
    FakeKey,
    FakeMultipart,
    S3Backend,
    S3Response,
    BaseRouter,
    Logger,
    CognitoIdpUserPool,
)


def class_attributes() -> dict[tuple[str, str], Any]:
    return {(owner.__name__, name): value for owner in MENDED_CLASSES for name, value in vars(owner).items()}


@pytest.mark.parametrize(
    "each", [*moto_fixes.ALL, route_state_per_thread, logger_keys_per_thread], ids=lambda each: each.name
)
def test_a_mend_puts_the_library_back_as_it_found_it(each: Mend) -> None:
    # given the libraries as they are now (another holder in this process may hold the same mend:
    # the tests' in-process invocations hold Powertools' for the session), and the mend's own change
    mend = Mend(each.install, register=False)
    before = class_attributes()
    metaclass = type(BaseRouter)

    # when it is held, then let go
    with mend.held():
        changed = class_attributes() != before or type(BaseRouter) is not metaclass

    # then it changed something, and put everything back
    assert changed
    assert class_attributes() == before
    assert type(BaseRouter) is metaclass


class Toy:
    value = "original"


def test_a_mend_stays_while_anyone_holds_it_and_goes_with_its_last_holder() -> None:
    """As two emulators in one process: the first to stop must not undo the second's mends."""
    installs: list[str] = []

    def toy_mend(undo: ExitStack) -> None:
        installs.append("installed")
        replace(undo, Toy, "value", "mended")

    mend = Mend(toy_mend, register=False)
    first, second = mend.held(), mend.held()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)

    assert (Toy.value, mend.installed, installs) == ("mended", True, ["installed"])
    second.__exit__(None, None, None)
    assert (Toy.value, mend.installed) == ("original", False)


def test_a_part_racing_its_uploads_abort_is_stored_or_refused_never_a_500(
    s3: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the emulator over HTTP: the abort arrives while the part is being stored (as when a
    revocation aborts an upload whose parts are in flight). moto read the part's ETag from a buffer
    the abort had closed (a 500); S3 keeps one upload's operations apart."""
    s3.create_bucket(Bucket="raced")
    upload_id = s3.create_multipart_upload(Bucket="raced", Key="k")["UploadId"]
    aborts: list[int] = []
    store = FakeMultipart.set_part

    def store_then_abort(self: FakeMultipart, part_id: int, value: bytes) -> FakeKey:
        key = store(self, part_id, value)
        other = boto3.client(
            "s3",
            endpoint_url=emulator.endpoint,
            region_name="us-east-1",
            **TOOLS.client_arguments(),
        )
        abort = threading.Thread(
            target=lambda: aborts.append(
                other.abort_multipart_upload(Bucket="raced", Key="k", UploadId=upload_id)["ResponseMetadata"][
                    "HTTPStatusCode"
                ]
            )
        )
        abort.start()
        abort.join(timeout=2)  # with the part's operation in progress, the abort waits for it
        return key

    monkeypatch.setattr(FakeMultipart, "set_part", store_then_abort)

    answer = s3.upload_part(Bucket="raced", Key="k", UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200 and answer["ETag"]
    eventually(lambda: aborts, what="the abort answered", timeout=30)
    assert aborts == [204]


def _sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_part_checksums_are_of_their_uploads_algorithm_listed_and_required_at_completion(s3: Any) -> None:
    """As S3: a part of an upload created with SHA256 carries its SHA-256; ListParts answers each
    part's; the completion must name each part's."""
    s3.create_bucket(Bucket="sums")
    part = b"p" * 100
    summed = s3.create_multipart_upload(Bucket="sums", Key="summed", ChecksumAlgorithm="SHA256")["UploadId"]
    code, message = _refusal(  # botocore sends a CRC32 of its own
        lambda: s3.upload_part(Bucket="sums", Key="summed", UploadId=summed, PartNumber=1, Body=part)
    )
    assert (code, message.endswith("expected checksum Type: sha256, actual checksum Type: crc32")) == (
        "InvalidRequest",
        True,
    )
    etag = s3.upload_part(
        Bucket="sums", Key="summed", UploadId=summed, PartNumber=1, Body=part, ChecksumSHA256=_sha256(part)
    )["ETag"]
    listed = s3.list_parts(Bucket="sums", Key="summed", UploadId=summed)["Parts"]
    assert [(p["PartNumber"], p.get("ChecksumSHA256")) for p in listed] == [(1, _sha256(part))]

    def complete(**named: str) -> Any:
        return s3.complete_multipart_upload(
            Bucket="sums",
            Key="summed",
            UploadId=summed,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag, **named}]},
        )

    code, message = _refusal(complete)
    assert (code, "It was missing for part 1" in message) == ("InvalidRequest", True)
    assert _refusal(lambda: complete(ChecksumSHA256=_sha256(b"other")))[0] == "InvalidPart"
    complete(ChecksumSHA256=_sha256(part))

    # and a copy of the object has a full-object checksum of its own, as S3 computes it
    s3.copy_object(Bucket="sums", Key="copy", CopySource={"Bucket": "sums", "Key": "summed"})
    copied = s3.get_object(Bucket="sums", Key="copy", ChecksumMode="ENABLED")
    assert copied["Body"].read() == part
    assert copied.get("ChecksumSHA256") == _sha256(part)
