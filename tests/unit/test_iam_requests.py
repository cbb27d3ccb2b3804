"""The IAM authorizations of requests as botocore really sends them (local_stack/iam/requests.py): each
request is made by a real boto3 client (or its presigners), caught before it is sent, and received as
the emulator receives it. Every AWS call the functions, Powertools and the local stack's SQS poller make
is here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from urllib3 import encode_multipart_formdata
from werkzeug.test import EnvironBuilder

from local_stack.iam.model import ACCOUNT_ID, Authorization, Unjudged
from local_stack.iam.requests import authorizations, operation
from local_stack.received import Received
from local_stack.s3_post import _form

REGION = "eu-west-1"
BUCKET = "uploads-bucket"
TABLE = "tokens"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{TABLE}"
QUEUE_URL = f"http://127.0.0.1:5000/{ACCOUNT_ID}/forward-queue"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:forward-queue"
LANDING = "<Tagging><TagSet><Tag><Key>stage</Key><Value>landing</Value></Tag></TagSet></Tagging>"


def obj(key: str, bucket: str = BUCKET) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


class Caught(Exception):
    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__(request.url)
        self.request = request


def _catch(request: AWSPreparedRequest, **_: Any) -> None:
    raise Caught(request)  # `before-send`: nothing leaves the test


@cache
def client(service: str) -> Any:
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"}) if service == "s3" else None
    made = boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url="http://127.0.0.1:5000",
        region_name=REGION,
        aws_access_key_id="AKIAIAMREQUESTSTEST",
        aws_secret_access_key="not-a-secret",
        config=config,
    )
    made.meta.events.register("before-send", _catch)
    return made


def received(method: str, url: str, headers: Mapping[str, Any] | None = None, body: Any = b"") -> Received:
    """The request as the emulator's WSGI server hands it on (RAW_URI as sent, the path unquoted)."""
    parts = urlsplit(url)
    text = {
        name: value.decode() if isinstance(value, bytes) else str(value)
        for name, value in (headers or {}).items()
    }
    text.pop("Content-Length", None)
    data = body.read() if hasattr(body, "read") else body or b""
    environ = EnvironBuilder(
        method=method,
        path=unquote(parts.path),
        query_string=parts.query,
        headers=list(text.items()),
        data=data,
    ).get_environ()
    environ["RAW_URI"] = parts.path + (f"?{parts.query}" if parts.query else "")
    return Received(environ)


def as_received(request: AWSPreparedRequest) -> Received:
    return received(request.method, request.url, dict(request.headers.items()), request.body)


def sent(service: str, name: str, **params: Any) -> Received:
    with pytest.raises(Caught) as caught:
        getattr(client(service), name)(**params)
    return as_received(caught.value.request)


def needed(request: Received, **options: Any) -> list[tuple[str, str]]:
    return [(each.action, each.resource) for each in authorizations(request, REGION, **options)]


def presigned_post(key: str, **fields: str) -> tuple[Received, dict[str, str]]:
    """The project's presigned POST (core/storage.py presigned_post) as a browser sends it."""
    post = client("s3").generate_presigned_post(
        Bucket=BUCKET,
        Key=key,
        Fields={"Content-Type": "video/mp4", **fields},
        Conditions=[{"Content-Type": "video/mp4"}, *({name: value} for name, value in fields.items())],
        ExpiresIn=600,
    )
    body, content_type = encode_multipart_formdata([*post["fields"].items(), ("file", ("a.mp4", b"x" * 10))])
    request = received("POST", post["url"], {"Content-Type": content_type}, body)
    return request, _form(request)[0]


# --- S3, as the functions call it (core/storage.py, uploads/delivery.py, forwarding/video_platform.py)


def test_a_presigned_post_puts_its_key_and_its_tags() -> None:
    request, fields = presigned_post("uploads/u1/a.mp4", tagging=LANDING)
    assert operation(request) == "PostObject"
    assert needed(request, form_fields=fields) == [
        ("s3:PutObject", obj("uploads/u1/a.mp4")),
        ("s3:PutObjectTagging", obj("uploads/u1/a.mp4")),
    ]
    (put, _) = authorizations(request, REGION, form_fields=fields)
    assert put.context == (
        ("aws:SecureTransport", "true"),
        ("s3:authType", "POST"),
        ("s3:signatureversion", "AWS4-HMAC-SHA256"),
    )
    untagged, untagged_fields = presigned_post("uploads/u1/b.mp4")
    assert needed(untagged, form_fields=untagged_fields) == [("s3:PutObject", obj("uploads/u1/b.mp4"))]


def test_a_post_upload_without_its_fields_or_key_is_unjudged() -> None:
    request, fields = presigned_post("uploads/u1/a.mp4")
    with pytest.raises(Unjudged, match="form's fields"):
        authorizations(request, REGION)
    with pytest.raises(Unjudged, match="names no object"):
        authorizations(request, REGION, form_fields={**fields, "key": "uploads/${filename}"})


def test_multipart_uploads_as_the_functions_make_them() -> None:
    landing = sent(
        "s3",
        "create_multipart_upload",
        Bucket=BUCKET,
        Key="uploads/k",
        ContentType="video/mp4",
        Tagging="stage=landing",
    )
    assert operation(landing) == "CreateMultipartUpload"
    assert needed(landing) == [("s3:PutObject", obj("uploads/k")), ("s3:PutObjectTagging", obj("uploads/k"))]
    copy = sent("s3", "create_multipart_upload", Bucket=BUCKET, Key="media/k", ContentType="video/mp4")
    assert needed(copy) == [("s3:PutObject", obj("media/k"))]
    listed = sent("s3", "list_parts", Bucket=BUCKET, Key="uploads/k", UploadId="up1")
    assert (operation(listed), needed(listed)) == (
        "ListParts",
        [("s3:ListMultipartUploadParts", obj("uploads/k"))],
    )
    done = sent(
        "s3",
        "complete_multipart_upload",
        Bucket=BUCKET,
        Key="uploads/k",
        UploadId="up1",
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"e"'}]},
    )
    assert (operation(done), needed(done)) == (
        "CompleteMultipartUpload",
        [("s3:PutObject", obj("uploads/k"))],
    )
    aborted = sent("s3", "abort_multipart_upload", Bucket=BUCKET, Key="uploads/k", UploadId="up1")
    assert (operation(aborted), needed(aborted)) == (
        "AbortMultipartUpload",
        [("s3:AbortMultipartUpload", obj("uploads/k"))],
    )
    part = sent("s3", "upload_part", Bucket=BUCKET, Key="uploads/k", UploadId="up1", PartNumber=2, Body=b"x")
    assert (operation(part), needed(part)) == ("UploadPart", [("s3:PutObject", obj("uploads/k"))])


@pytest.mark.parametrize("size", [None, 5])
def test_a_presigned_part_url_puts_the_object(size: int | None) -> None:
    params: dict[str, Any] = {
        "Bucket": BUCKET,
        "Key": "uploads/u 1/é.mp4",
        "UploadId": "up1",
        "PartNumber": 3,
    }
    if size is not None:
        params["ContentLength"] = size
    url = client("s3").generate_presigned_url("upload_part", Params=params, ExpiresIn=600)
    request = received("PUT", url, {"Content-Length": "5"}, b"x" * 5)
    assert operation(request) == "UploadPart"
    (put,) = authorizations(request, REGION)
    assert (put.action, put.resource) == ("s3:PutObject", obj("uploads/u 1/é.mp4"))
    assert put.context == (
        ("aws:SecureTransport", "true"),
        ("s3:authType", "REST-QUERY-STRING"),
        ("s3:signatureversion", "AWS4-HMAC-SHA256"),
    )


def test_objects_read_tagged_and_deleted_by_version() -> None:
    head = sent("s3", "head_object", Bucket=BUCKET, Key="uploads/k")
    assert (operation(head), needed(head)) == ("HeadObject", [("s3:GetObject", obj("uploads/k"))])
    (read,) = authorizations(head, REGION)
    assert read.context == (
        ("aws:SecureTransport", "true"),
        ("s3:authType", "REST-HEADER"),
        ("s3:signatureversion", "AWS4-HMAC-SHA256"),
    )
    head_version = sent("s3", "head_object", Bucket=BUCKET, Key="uploads/k", VersionId="v1")
    assert needed(head_version) == [("s3:GetObjectVersion", obj("uploads/k"))]
    ranged = sent(
        "s3", "get_object", Bucket=BUCKET, Key="uploads/k", Range="bytes=0-99", IfMatch='"e"', VersionId="v1"
    )
    assert (operation(ranged), needed(ranged)) == ("GetObject", [("s3:GetObjectVersion", obj("uploads/k"))])
    forwarded = sent("s3", "get_object", Bucket=BUCKET, Key="media/k", Range="bytes=0-99")
    assert needed(forwarded) == [("s3:GetObject", obj("media/k"))]
    tag = {"TagSet": [{"Key": "stage", "Value": "accepted"}]}
    tagged = sent("s3", "put_object_tagging", Bucket=BUCKET, Key="uploads/k", Tagging=tag, VersionId="v1")
    assert (operation(tagged), needed(tagged)) == (
        "PutObjectTagging",
        [("s3:PutObjectVersionTagging", obj("uploads/k"))],
    )
    assert needed(sent("s3", "put_object_tagging", Bucket=BUCKET, Key="uploads/k", Tagging=tag)) == [
        ("s3:PutObjectTagging", obj("uploads/k"))
    ]
    deleted = sent("s3", "delete_object", Bucket=BUCKET, Key="uploads/k", VersionId="v1")
    assert (operation(deleted), needed(deleted)) == (
        "DeleteObject",
        [("s3:DeleteObjectVersion", obj("uploads/k"))],
    )
    assert needed(sent("s3", "delete_object", Bucket=BUCKET, Key="uploads/k")) == [
        ("s3:DeleteObject", obj("uploads/k"))
    ]


def test_a_copy_of_one_version_reads_that_version_and_copies_its_tags() -> None:
    source = {"Bucket": BUCKET, "Key": "uploads/a b/ü.mp4", "VersionId": "v1"}
    request = sent(
        "s3", "copy_object", CopySource=source, CopySourceIfMatch='"e"', Bucket=BUCKET, Key="media/k"
    )
    assert operation(request) == "CopyObject"
    assert needed(request, source_tagged=lambda *_: False) == [
        ("s3:PutObject", obj("media/k")),
        ("s3:GetObjectVersion", obj("uploads/a b/ü.mp4")),
    ]
    # The default tagging directive (COPY) copies the source's tags: reading them and writing them.
    asked: list[tuple[str, str, str | None]] = []

    def tagged(bucket: str, key: str, version: str | None) -> bool:
        asked.append((bucket, key, version))
        return True

    assert needed(request, source_tagged=tagged) == [
        ("s3:PutObject", obj("media/k")),
        ("s3:GetObjectVersion", obj("uploads/a b/ü.mp4")),
        ("s3:GetObjectVersionTagging", obj("uploads/a b/ü.mp4")),
        ("s3:PutObjectTagging", obj("media/k")),
    ]
    assert asked == [(BUCKET, "uploads/a b/ü.mp4", "v1")]
    assert len(needed(request)) == 4  # a source not asked about is taken to have tags


def test_a_copy_that_replaces_the_tags_writes_only_its_own() -> None:
    source = {"Bucket": "other", "Key": "k"}
    replaced = sent(
        "s3",
        "copy_object",
        CopySource=source,
        Bucket=BUCKET,
        Key="media/k",
        TaggingDirective="REPLACE",
        Tagging="a=b",
    )
    assert needed(replaced) == [
        ("s3:PutObject", obj("media/k")),
        ("s3:GetObject", obj("k", "other")),
        ("s3:PutObjectTagging", obj("media/k")),
    ]
    untagged = sent(
        "s3", "copy_object", CopySource=source, Bucket=BUCKET, Key="media/k", TaggingDirective="REPLACE"
    )
    assert needed(untagged) == [("s3:PutObject", obj("media/k")), ("s3:GetObject", obj("k", "other"))]


def test_a_part_copy_reads_its_source_and_copies_no_tags() -> None:
    request = sent(
        "s3",
        "upload_part_copy",
        Bucket=BUCKET,
        Key="media/k",
        UploadId="up1",
        PartNumber=1,
        CopySource={"Bucket": BUCKET, "Key": "uploads/k", "VersionId": "v1"},
        CopySourceIfMatch='"e"',
        CopySourceRange="bytes=0-99",
    )
    assert operation(request) == "UploadPartCopy"
    assert needed(request) == [("s3:PutObject", obj("media/k")), ("s3:GetObjectVersion", obj("uploads/k"))]


# --- S3, other operations


def test_objects_put_with_tags_and_their_tagging_subresource() -> None:
    assert needed(sent("s3", "put_object", Bucket=BUCKET, Key="a/b", Body=b"x")) == [
        ("s3:PutObject", obj("a/b"))
    ]
    tagged = sent("s3", "put_object", Bucket=BUCKET, Key="a/b", Body=b"x", Tagging="a=b", ACL="private")
    assert needed(tagged) == [
        ("s3:PutObject", obj("a/b")),
        ("s3:PutObjectTagging", obj("a/b")),
        ("s3:PutObjectAcl", obj("a/b")),
    ]
    assert needed(sent("s3", "get_object_tagging", Bucket=BUCKET, Key="a", VersionId="v")) == [
        ("s3:GetObjectVersionTagging", obj("a"))
    ]
    assert needed(sent("s3", "get_object_tagging", Bucket=BUCKET, Key="a")) == [
        ("s3:GetObjectTagging", obj("a"))
    ]
    assert needed(sent("s3", "delete_object_tagging", Bucket=BUCKET, Key="a")) == [
        ("s3:DeleteObjectTagging", obj("a"))
    ]


def test_delete_objects_deletes_each_key() -> None:
    objects = [{"Key": "uploads/a"}, {"Key": "uploads/b&c", "VersionId": "v2"}]
    request = sent("s3", "delete_objects", Bucket=BUCKET, Delete={"Objects": objects})
    assert operation(request) == "DeleteObjects"
    assert needed(request) == [
        ("s3:DeleteObject", obj("uploads/a")),
        ("s3:DeleteObjectVersion", obj("uploads/b&c")),
    ]


BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("list_objects", {}, ("ListObjects", "s3:ListBucket")),
        ("list_objects_v2", {"Prefix": "uploads/"}, ("ListObjectsV2", "s3:ListBucket")),
        ("head_bucket", {}, ("HeadBucket", "s3:ListBucket")),
        ("list_object_versions", {}, ("ListObjectVersions", "s3:ListBucketVersions")),
        ("list_multipart_uploads", {}, ("ListMultipartUploads", "s3:ListBucketMultipartUploads")),
        ("get_bucket_versioning", {}, ("GetBucketVersioning", "s3:GetBucketVersioning")),
        (
            "put_bucket_versioning",
            {"VersioningConfiguration": {"Status": "Enabled"}},
            ("PutBucketVersioning", "s3:PutBucketVersioning"),
        ),
        (
            "get_bucket_notification_configuration",
            {},
            ("GetBucketNotificationConfiguration", "s3:GetBucketNotification"),
        ),
        (
            "put_bucket_notification_configuration",
            {"NotificationConfiguration": {}},
            ("PutBucketNotificationConfiguration", "s3:PutBucketNotification"),
        ),
        (
            "get_bucket_lifecycle_configuration",
            {},
            ("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
        ),
        ("delete_bucket_lifecycle", {}, ("DeleteBucketLifecycle", "s3:PutLifecycleConfiguration")),
        ("get_bucket_policy", {}, ("GetBucketPolicy", "s3:GetBucketPolicy")),
        ("put_bucket_policy", {"Policy": "{}"}, ("PutBucketPolicy", "s3:PutBucketPolicy")),
        ("delete_bucket_policy", {}, ("DeleteBucketPolicy", "s3:DeleteBucketPolicy")),
        ("get_bucket_cors", {}, ("GetBucketCors", "s3:GetBucketCORS")),
        ("delete_bucket_cors", {}, ("DeleteBucketCors", "s3:PutBucketCORS")),
        ("get_bucket_tagging", {}, ("GetBucketTagging", "s3:GetBucketTagging")),
        ("put_bucket_tagging", {"Tagging": {"TagSet": []}}, ("PutBucketTagging", "s3:PutBucketTagging")),
        ("delete_bucket_tagging", {}, ("DeleteBucketTagging", "s3:PutBucketTagging")),
        ("get_bucket_location", {}, ("GetBucketLocation", "s3:GetBucketLocation")),
        ("get_bucket_encryption", {}, ("GetBucketEncryption", "s3:GetEncryptionConfiguration")),
        ("get_public_access_block", {}, ("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock")),
        ("delete_bucket", {}, ("DeleteBucket", "s3:DeleteBucket")),
        ("create_bucket", {}, ("CreateBucket", "s3:CreateBucket")),
    ],
)
def test_bucket_operations(name: str, params: dict[str, Any], expected: tuple[str, str]) -> None:
    request = sent("s3", name, Bucket=BUCKET, **params)
    assert (operation(request), needed(request)) == (expected[0], [(expected[1], BUCKET_ARN)])


def test_listing_the_buckets_is_on_every_resource() -> None:
    request = sent("s3", "list_buckets")
    assert (operation(request), needed(request)) == ("ListBuckets", [("s3:ListAllMyBuckets", "*")])


def test_s3_requests_it_cannot_map_are_unjudged() -> None:
    url = client("s3").generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"})
    with pytest.raises(Unjudged, match="no S3 operation"):
        authorizations(received("GET", url + "&unheard-of=1"), REGION)
    with pytest.raises(Unjudged, match="no S3 object operation"):
        authorizations(received("POST", f"http://127.0.0.1:5000/{BUCKET}/k"), REGION)
    with pytest.raises(Unjudged, match="copy source"):
        authorizations(
            received("PUT", f"http://127.0.0.1:5000/{BUCKET}/k", {"x-amz-copy-source": "nokey"}), REGION
        )
    with pytest.raises(Unjudged, match="lists no keys"):
        authorizations(received("POST", f"http://127.0.0.1:5000/{BUCKET}?delete", {}, b"<Delete/>"), REGION)
    unmapped = received("PATCH", f"http://127.0.0.1:5000/{BUCKET}/k")
    with pytest.raises(Unjudged, match="PATCH"):
        authorizations(unmapped, REGION)
    assert operation(unmapped) == f"PATCH /{BUCKET}/k"


def test_a_request_signed_for_another_service_without_a_target_is_unjudged() -> None:
    """Query-protocol and REST services (SNS, Lambda) would otherwise be taken for S3."""
    for request in (
        sent("sns", "publish", TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:t", Message="m"),
        sent("lambda", "invoke", FunctionName="f"),
    ):
        with pytest.raises(Unjudged, match="signed for"):
            authorizations(request, REGION)


def test_a_cors_preflight_needs_no_authorization() -> None:
    preflight = received(
        "OPTIONS",
        f"http://127.0.0.1:5000/{BUCKET}/k",
        {"Origin": "http://page", "Access-Control-Request-Method": "PUT"},
    )
    assert authorizations(preflight, REGION) == []


def test_secure_transport_is_the_callers_word() -> None:
    request = sent("s3", "head_object", Bucket=BUCKET, Key="k")
    (read,) = authorizations(request, REGION, secure_transport=False)
    assert ("aws:SecureTransport", "false") in read.context


# --- DynamoDB, as the functions (data/*.py) and Powertools' idempotency call it


def test_dynamodb_single_table_operations_are_on_the_table() -> None:
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    operations: list[tuple[str, dict[str, Any]]] = [
        ("get_item", {"Key": key, "ConsistentRead": True}),
        ("put_item", {"Item": key}),
        (
            "update_item",
            {"Key": key, "UpdateExpression": "SET x = :x", "ExpressionAttributeValues": {":x": {"N": "1"}}},
        ),
        ("delete_item", {"Key": key}),
        ("query", {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": {"S": "a"}}}),
        ("scan", {}),
        ("describe_table", {}),
    ]
    for name, params in operations:
        request = sent("dynamodb", name, TableName=TABLE, **params)
        action = operation(request)
        (authorization,) = authorizations(request, REGION)
        assert authorization == Authorization(
            f"dynamodb:{action}", TABLE_ARN, (("aws:SecureTransport", "true"),)
        )


def test_a_query_of_an_index_is_on_the_index() -> None:
    request = sent(
        "dynamodb",
        "query",
        TableName=TABLE,
        IndexName="OpenByTargetExpiry",
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "a"}},
    )
    assert needed(request) == [("dynamodb:Query", f"{TABLE_ARN}/index/OpenByTargetExpiry")]
    scan = sent("dynamodb", "scan", TableName=TABLE_ARN, IndexName="AllByExpiry")  # a table named by its ARN
    assert needed(scan) == [("dynamodb:Scan", f"{TABLE_ARN}/index/AllByExpiry")]


def test_a_paginated_query_is_a_query() -> None:
    pages = (
        client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "a"}}
        )
    )
    with pytest.raises(Caught) as caught:
        next(iter(pages))
    assert needed(as_received(caught.value.request)) == [("dynamodb:Query", TABLE_ARN)]


def test_a_write_transaction_needs_each_items_action_on_its_table() -> None:
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    request = sent(
        "dynamodb",
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": key, "ConditionExpression": "attribute_not_exists(PK)"}},
            {
                "Update": {
                    "TableName": "counters",
                    "Key": key,
                    "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "1"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": key,
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
        ],
    )
    assert operation(request) == "TransactWriteItems"
    assert needed(request) == [
        ("dynamodb:PutItem", TABLE_ARN),
        ("dynamodb:UpdateItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/counters"),
        ("dynamodb:ConditionCheckItem", TABLE_ARN),
    ]
    deleted = sent(
        "dynamodb", "transact_write_items", TransactItems=[{"Delete": {"TableName": TABLE, "Key": key}}]
    )
    assert needed(deleted) == [("dynamodb:DeleteItem", TABLE_ARN)]


def test_reads_and_writes_of_several_items() -> None:
    key = {"PK": {"S": "a"}}
    transaction = sent(
        "dynamodb", "transact_get_items", TransactItems=[{"Get": {"TableName": TABLE, "Key": key}}] * 2
    )
    assert needed(transaction) == [("dynamodb:GetItem", TABLE_ARN)] * 2
    batch_get = sent(
        "dynamodb", "batch_get_item", RequestItems={TABLE: {"Keys": [key]}, "other": {"Keys": [key]}}
    )
    assert needed(batch_get) == [
        ("dynamodb:BatchGetItem", TABLE_ARN),
        ("dynamodb:BatchGetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/other"),
    ]
    batch_write = sent(
        "dynamodb", "batch_write_item", RequestItems={TABLE: [{"DeleteRequest": {"Key": key}}]}
    )
    assert needed(batch_write) == [("dynamodb:BatchWriteItem", TABLE_ARN)]


@pytest.fixture
def persistence() -> Iterator[DynamoDBPersistenceLayer]:
    """process_upload's idempotency store, as its app.py builds it."""
    with mock.patch.dict(os.environ, {"AWS_LAMBDA_FUNCTION_NAME": "process-upload"}):
        yield DynamoDBPersistenceLayer(
            table_name=TABLE,
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value="IDEMPOTENCY#process-upload",
            expiry_attr="purgeAt",
            boto3_client=client("dynamodb"),
        )


def test_powertools_idempotency_reads_puts_updates_and_deletes_its_record(
    persistence: DynamoDBPersistenceLayer,
) -> None:
    record = DataRecord(idempotency_key="k", status="INPROGRESS", expiry_timestamp=2_000_000_000)
    calls: list[tuple[Callable[..., Any], Any]] = [
        (persistence._get_record, "k"),
        (persistence._put_record, record),
        (persistence._update_record, record),
        (persistence._delete_record, record),
    ]
    actions = []
    for call, argument in calls:
        with pytest.raises(Caught) as caught:
            call(argument)
        actions += needed(as_received(caught.value.request))
    assert actions == [
        ("dynamodb:GetItem", TABLE_ARN),
        ("dynamodb:PutItem", TABLE_ARN),
        ("dynamodb:UpdateItem", TABLE_ARN),
        ("dynamodb:DeleteItem", TABLE_ARN),
    ]


def test_dynamodb_actions_with_no_resource_type_are_on_every_resource() -> None:
    assert needed(sent("dynamodb", "list_tables")) == [("dynamodb:ListTables", "*")]


def test_dynamodb_operations_it_cannot_map_are_unjudged() -> None:
    with pytest.raises(Unjudged, match="ExecuteStatement"):
        authorizations(sent("dynamodb", "execute_statement", Statement="SELECT * FROM tokens"), REGION)


# --- SQS: forward_upload's visibility change, the local stack's poller (local_stack/workers.py)


def test_the_pollers_and_the_functions_sqs_calls_are_on_the_queue() -> None:
    received_messages = sent(
        "sqs",
        "receive_message",
        QueueUrl=QUEUE_URL,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    deleted = sent(
        "sqs", "delete_message_batch", QueueUrl=QUEUE_URL, Entries=[{"Id": "0", "ReceiptHandle": "r"}]
    )
    hidden = sent(
        "sqs", "change_message_visibility", QueueUrl=QUEUE_URL, ReceiptHandle="r", VisibilityTimeout=30
    )
    assert [operation(each) for each in (received_messages, deleted, hidden)] == [
        "ReceiveMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
    ]
    assert [needed(each) for each in (received_messages, deleted, hidden)] == [
        [("sqs:ReceiveMessage", QUEUE_ARN)],
        [("sqs:DeleteMessage", QUEUE_ARN)],  # a batch is authorized as its single-message action
        [("sqs:ChangeMessageVisibility", QUEUE_ARN)],
    ]


def test_other_sqs_operations() -> None:
    assert needed(sent("sqs", "delete_message", QueueUrl=QUEUE_URL, ReceiptHandle="r")) == [
        ("sqs:DeleteMessage", QUEUE_ARN)
    ]
    batch = sent(
        "sqs",
        "change_message_visibility_batch",
        QueueUrl=QUEUE_URL,
        Entries=[{"Id": "0", "ReceiptHandle": "r", "VisibilityTimeout": 1}],
    )
    assert needed(batch) == [("sqs:ChangeMessageVisibility", QUEUE_ARN)]
    sent_batch = sent(
        "sqs", "send_message_batch", QueueUrl=QUEUE_URL, Entries=[{"Id": "0", "MessageBody": "b"}]
    )
    assert needed(sent_batch) == [("sqs:SendMessage", QUEUE_ARN)]
    assert needed(sent("sqs", "get_queue_url", QueueName="forward-queue")) == [("sqs:GetQueueUrl", QUEUE_ARN)]
    assert needed(sent("sqs", "get_queue_attributes", QueueUrl=QUEUE_URL, AttributeNames=["All"])) == [
        ("sqs:GetQueueAttributes", QUEUE_ARN)
    ]
    assert needed(sent("sqs", "list_queues")) == [("sqs:ListQueues", "*")]


# --- EventBridge (core/publisher.py) and Secrets Manager (forwarding/apivideo/key.py)


def test_put_events_is_on_each_entrys_bus() -> None:
    other = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/other"
    request = sent(
        "events",
        "put_events",
        Entries=[
            {
                "Source": "upload-tokens",
                "DetailType": "Upload Accepted",
                "Detail": "{}",
                "EventBusName": "uploads",
            },
            {
                "Source": "upload-tokens",
                "DetailType": "Upload Rejected",
                "Detail": "{}",
                "EventBusName": other,
            },
            {"Source": "upload-tokens", "DetailType": "Upload Rejected", "Detail": "{}"},
        ],
    )
    assert operation(request) == "PutEvents"
    assert needed(request) == [
        ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/uploads"),
        ("events:PutEvents", other),
        ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"),
    ]


def test_eventbridge_operations_it_cannot_map_are_unjudged() -> None:
    with pytest.raises(Unjudged, match="PutRule"):
        authorizations(sent("events", "put_rule", Name="r", ScheduleExpression="rate(1 minute)"), REGION)
    assert needed(sent("events", "list_rules")) == [("events:ListRules", "*")]


def test_a_secret_is_named_as_the_function_names_it() -> None:
    """The caller resolves a name to the secret's full ARN (its six-character suffix); an ARN is kept."""
    by_name = sent("secretsmanager", "get_secret_value", SecretId="api-video-key")
    assert (operation(by_name), needed(by_name)) == (
        "GetSecretValue",
        [
            (
                "secretsmanager:GetSecretValue",
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:api-video-key",
            )
        ],
    )
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:api-video-key-AbCdEf"
    assert needed(sent("secretsmanager", "get_secret_value", SecretId=arn)) == [
        ("secretsmanager:GetSecretValue", arn)
    ]
    assert needed(sent("secretsmanager", "list_secrets")) == [("secretsmanager:ListSecrets", "*")]
    batch = sent("secretsmanager", "batch_get_secret_value", SecretIdList=[arn])
    assert needed(batch) == [
        ("secretsmanager:BatchGetSecretValue", "*"),
        ("secretsmanager:GetSecretValue", arn),
    ]


# --- Targets this cannot map


def test_unknown_targets_and_bodies_are_unjudged() -> None:
    cognito = sent("cognito-idp", "list_users", UserPoolId=f"{REGION}_abc")
    with pytest.raises(Unjudged, match=r"AWSCognitoIdentityProviderService\.ListUsers"):
        authorizations(cognito, REGION)
    assert operation(cognito) == "ListUsers"
    garbled = received(
        "POST", "http://127.0.0.1:5000/", {"X-Amz-Target": "DynamoDB_20120810.GetItem"}, b"not json"
    )
    with pytest.raises(Unjudged, match=r"DynamoDB_20120810\.GetItem"):
        authorizations(garbled, REGION)
    odd_item = received(
        "POST",
        "http://127.0.0.1:5000/",
        {"X-Amz-Target": "DynamoDB_20120810.TransactWriteItems"},
        b'{"TransactItems": [{"Upsert": {"TableName": "t"}}]}',
    )
    with pytest.raises(Unjudged):
        authorizations(odd_item, REGION)
